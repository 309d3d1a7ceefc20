"""Every committed module is exactly what scripts/build-wasm makes from its sources (never skips:
scripts/build-wasm installs the Debian toolchain when it is missing)."""

import subprocess
from pathlib import Path

from wasm_helpers import ROOT, package_dirs


def test_rebuilding_every_module_gives_the_committed_bytes(tmp_path: Path) -> None:
    dirs = package_dirs()
    assert len(dirs) >= 6
    command = [str(ROOT / "scripts" / "build-wasm"), "--out", str(tmp_path), *map(str, dirs)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for folder in dirs:
        name = folder.name
        rebuilt = (tmp_path / f"{name}.wasm").read_bytes()
        committed = (folder / f"{name}.wasm").read_bytes()
        assert rebuilt == committed, f"{folder}/{name}.wasm differs from a fresh build"
