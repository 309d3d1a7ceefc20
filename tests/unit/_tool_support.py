"""Test helpers: import a first-party tool package from its source, write a small wheel."""

from __future__ import annotations

import importlib
import sys
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
TOOL_PACKAGES = ROOT / "tool_packages" / "python"


def import_tool_package(name: str) -> ModuleType:
    """`cloche_tools_<name>` from tool_packages/python/<name>/, without installing it."""
    folder = str(TOOL_PACKAGES / name)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(f"cloche_tools_{name}")


def make_wheel(
    folder: Path, name: str, modules: dict[str, str], entry_points: dict[str, str]
) -> Path:
    """A pure wheel `<name>-1.0` holding `modules` (path -> source) and `cloche.tools` entries."""
    stem = name.replace("-", "_")
    wheel = folder / f"{stem}-1.0-py3-none-any.whl"
    info = f"{stem}-1.0.dist-info"
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, source in modules.items():
            archive.writestr(path, source)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        archive.writestr(f"{info}/entry_points.txt", f"[cloche.tools]\n{lines}")
        archive.writestr(f"{info}/RECORD", "")
    return wheel
