"""Fixtures shared by more than one test file of this folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def conformance_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dist with the test-only tools (tests/fixtures/conformance_tools) besides ours, built once
    for the `cloche mcp` tests and the MCP conformance suite."""
    dist = tmp_path_factory.mktemp("conformance") / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "cloche_server.cli", "build", "--dist", str(dist)),
            *("--no-test-dist", "--offline"),
            *("--tool-package", str(ROOT / "tests/fixtures/conformance_tools")),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return dist
