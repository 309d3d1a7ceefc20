"""Paths and loaders shared by the test_wasm_* modules."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL_PACKAGES = ROOT / "tool_packages" / "wasm"
FIXTURES = ROOT / "tests" / "wasm_fixtures"


def package_dirs() -> list[Path]:
    """Every WASM package folder: the first-party tools and the test fixtures."""
    dirs = [p.parent for p in TOOL_PACKAGES.glob("*/manifest.json")]
    dirs += [p.parent for p in FIXTURES.glob("*/manifest.json")]
    return sorted(dirs)
