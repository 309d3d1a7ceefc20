"""The two wheels: the small `cloche` runtime wheel Pyodide loads from the dist, and the root
project's wheel, which carries the server and the built dist so that it serves with no build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import cloche
from cloche_server.build import Project, cloche_wheel, find_project_root

PROJECT = Project(find_project_root(Path(__file__).parent))
DIST = PROJECT.default_dist


def _pip_wheel(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def root_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail("dist/ is not built: run scripts/build (scripts/test does it first)")
    out = tmp_path_factory.mktemp("root-wheel")
    result = _pip_wheel(PROJECT.root, out)
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("cloche-*.whl")
    return wheel


def test_the_dist_holds_the_runtime_wheel_with_cloche_alone() -> None:
    (wheel,) = DIST.glob("cloche-*.whl")
    assert wheel.read_bytes() == cloche_wheel(PROJECT).read_bytes()
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"cloche", f"cloche-{cloche.__version__}.dist-info"}
    assert "cloche/__init__.py" in names
    metadata = zipfile.ZipFile(wheel).read(f"cloche-{cloche.__version__}.dist-info/METADATA")
    assert b"Requires-Dist" not in metadata  # nothing for Pyodide to resolve, not even extras
    assert wheel.stat().st_size < 200_000
    entry = json.loads((DIST / "pyodide-lock.json").read_text())["packages"]["cloche"]
    assert entry["imports"] == ["cloche"]


def test_the_root_wheel_carries_the_server_and_the_built_dist(root_wheel: Path) -> None:
    names = set(zipfile.ZipFile(root_wheel).namelist())
    assert {"cloche/__init__.py", "cloche_server/cli.py", "cloche_server/sphinx.py"} <= names
    assert {"cloche_server/dist/index.html", "cloche_server/dist/registry.json"} <= names
    assert "cloche_server/dist/embed/embed.js" in names
    assert f"cloche_server/dist/cloche-{cloche.__version__}-py3-none-any.whl" in names
    packaged = zipfile.ZipFile(root_wheel).read("cloche_server/dist/registry.json")
    assert packaged == (DIST / "registry.json").read_bytes()


def test_the_installed_wheel_serves_its_packaged_dist(root_wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    zipfile.ZipFile(root_wheel).extractall(site)
    # Not a checkout: the filesystem's root (the temporary folder may be inside this checkout,
    # as scripts/test puts it, and a cwd inside a checkout rightly means that checkout's dist).
    elsewhere = Path(os.sep)
    code = "from cloche_server.dist_location import default_dist; print(default_dist())"
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == site / "cloche_server" / "dist"


def test_the_root_wheel_needs_a_built_dist(tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    shutil.copytree(
        PROJECT.root / "py_runtime", source / "py_runtime", ignore=shutil.ignore_patterns("dist")
    )
    for name in ("pyproject.toml", "README.md", "hatch_build.py"):
        shutil.copy(PROJECT.root / name, source / name)
    result = _pip_wheel(source, tmp_path / "out")
    assert result.returncode != 0
    assert "run `cloche build` first" in result.stderr


def test_python_m_build_makes_an_sdist_and_from_it_a_wheel_that_carry_the_app(
    tmp_path: Path,
) -> None:
    """The sdist is not in git's tree alone: it carries the built dist, so the wheel that
    `python -m build` makes from it carries the app too."""
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    result = subprocess.run(
        command, cwd=PROJECT.root, capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    [sdist] = tmp_path.glob("cloche-*.tar.gz")
    [wheel] = tmp_path.glob("cloche-*.whl")
    with tarfile.open(sdist) as archive:
        assert any(name.endswith("/dist/index.html") for name in archive.getnames())
    with zipfile.ZipFile(wheel) as archive:
        assert "cloche_server/dist/registry.json" in archive.namelist()
