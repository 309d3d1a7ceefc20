"""`cloche build` with tool packages that need other packages: from PyPI (reached for real), from a
stand-in Pyodide release (pyodide_mirror.py), or from nowhere (one line, dist untouched).

Every build goes into a temporary dist that starts as a copy of one built once for this module,
so each only writes what its test changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import suppress
from pathlib import Path

import pytest
from pyodide_mirror import DEMO_PACKAGES, Mirror, MirrorPackage, make_pyodide_mirror, write_wheel

from cloche_server import cli
from cloche_server.build import Project, build, find_project_root
from cloche_server.pyodide_lock_file import check_lock

PROJECT = Project(find_project_root(Path(__file__).parent))
DEPENDENT_TOOLS = PROJECT.root / "tests" / "fixtures" / "dependent_tools"
# tabulate 0.9.0's wheel as PyPI serves it.
TABULATE_WHEEL = "tabulate-0.9.0-py3-none-any.whl"
TABULATE_SHA256 = "024ca478df22e9340661486f85298cff5f6dcdba14f3813e8830015b9ed1948f"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(folder: Path) -> dict[str, tuple[str, int, int]]:
    return {
        str(p.relative_to(folder)): (_sha256(p), p.stat().st_mtime_ns, p.stat().st_ino)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _lock(dist: Path) -> dict[str, dict[str, object]]:
    packages: dict[str, dict[str, object]] = json.loads((dist / "pyodide-lock.json").read_text())[
        "packages"
    ]
    return packages


def write_tool_package(folder: Path, name: str, dependencies: list[str], source: str = "") -> Path:
    """A one-module tool package (namespace = its second word) needing `dependencies`."""
    module = name.replace("-", "_")
    (folder / module).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\nrequires-python = ">=3.12"\n'
        f"dependencies = {json.dumps(dependencies)}\n\n"
        f'[project.entry-points."cloche.tools"]\n{name.split("-")[1]} = "{module}"\n\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{module}"]\n'
    )
    default = (
        "from cloche import tool\n\n\n@tool\ndef ping() -> str:\n"
        '    """Answer pong."""\n    return "pong"\n'
    )
    (folder / module / "__init__.py").write_text(source or default)
    return folder


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's dist as it is, built once (from a copy of dist/ when there is one: a dist
    built from nothing spends ~30 s compressing Pyodide's wasm)."""
    seed = tmp_path_factory.mktemp("seed") / "dist"
    if (PROJECT.default_dist / "build-info.json").is_file():
        with suppress(OSError, shutil.Error):
            shutil.copytree(PROJECT.default_dist, seed)
    build(PROJECT.root, seed, with_test_dist=False, offline=True)
    return seed


@pytest.fixture
def dist(seed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dist"
    shutil.copytree(seed, copy)
    return copy


@pytest.fixture
def wheel_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PyPI wheel cache but for the pinned wheels (micropip, pytest-pyodide's), so that
    what a test's build downloads is seen, and nothing is taken from an earlier run."""
    cache = tmp_path / "wheels"
    cache.mkdir()
    for pin in PROJECT.pins("pyodide.txt") + PROJECT.pins("pyodide-test.txt"):
        name = pin.partition("==")[0].replace("-", "_")
        for wheel in PROJECT.wheel_cache.glob(f"{name}-*.whl"):
            shutil.copy2(wheel, cache)
    monkeypatch.setattr(Project, "wheel_cache", property(lambda self: cache))
    return cache


@pytest.fixture
def mirror(tmp_path: Path) -> Mirror:
    return make_pyodide_mirror(tmp_path / "mirror")


def _build_args(dist: Path, *more: str | Path) -> list[str]:
    return ["build", "--dist", str(dist), "--no-test-dist", *map(str, more)]


def test_a_tool_needing_a_pypi_wheel_gets_it_with_its_real_sha256(
    dist: Path, seed: Path, tmp_path: Path, wheel_cache: Path
) -> None:
    tool = write_tool_package(
        tmp_path / "tool",
        "cloche-tabulating-tools",
        ["cloche", "tabulate==0.9.0"],
        "from tabulate import tabulate\n\nfrom cloche import tool\n\n\n@tool\n"
        'def grid(rows: list[list[str]]) -> str:\n    """Lay out rows."""\n'
        "    return str(tabulate(rows))\n",
    )
    test_dist = tmp_path / "test-dist"
    # Hard links to every file of the dist as it was: the build stages the new dist as links to
    # these, and must never write through one (a failed build would leave a changed dist).
    witnesses = tmp_path / "witnesses"
    witnesses.mkdir()
    old = {}
    for number, path in enumerate(p for p in dist.rglob("*") if p.is_file()):
        os.link(path, witnesses / str(number))
        old[str(number)] = _sha256(path)
    report = build(PROJECT.root, dist, test_dist, extra_tool_packages=[tool])
    assert {p.name: _sha256(p) for p in witnesses.iterdir()} == old
    assert dist / "registry.json" in report.written
    assert report.downloaded == ["tabulate==0.9.0"]
    assert _sha256(wheel_cache / TABULATE_WHEEL) == TABULATE_SHA256
    for folder in (dist, test_dist):
        lock = _lock(folder)
        assert lock["tabulate"]["sha256"] == TABULATE_SHA256
        assert lock["tabulate"]["file_name"] == TABULATE_WHEEL
        assert lock["tabulate"]["imports"] == ["tabulate"]
        assert lock["cloche-tabulating-tools"]["depends"] == ["cloche", "tabulate"]
        assert _sha256(folder / TABULATE_WHEEL) == TABULATE_SHA256
        assert check_lock(folder) == []
    # Exactly what was needed was added: the tool's wheel and tabulate's.
    assert set(_lock(dist)) - set(_lock(seed)) == {"cloche-tabulating-tools", "tabulate"}
    added = {p.name for p in dist.glob("*.whl")} - {p.name for p in seed.glob("*.whl")}
    assert added == {TABULATE_WHEEL, "cloche_tabulating_tools-1.0-py3-none-any.whl"}
    registry = json.loads((dist / "registry.json").read_text())
    tools = {p["name"]: [t["name"] for t in p["tools"]] for p in registry["packages"]}
    assert tools["cloche-tabulating-tools"] == ["tabulating.grid"]
    info = json.loads((dist / "build-info.json").read_text())
    assert info["dependencies"] == [
        {
            "name": "tabulate",
            "version": "0.9.0",
            "sha256": TABULATE_SHA256,
            "from": "pypi",
            "file": TABULATE_WHEEL,
            "wantedBy": "cloche-tabulating-tools",
        }
    ]
    # The wheel is pinned by the cache: a rebuild offline finds it and changes nothing.
    before = _state(dist), _state(test_dist)
    again = build(PROJECT.root, dist, test_dist, offline=True, extra_tool_packages=[tool])
    assert (again.written, again.removed, again.downloaded) == ([], [], [])
    assert (_state(dist), _state(test_dist)) == before


def test_a_tool_needing_a_pyodide_package_gets_it_from_the_mirror_as_locked(
    dist: Path, seed: Path, mirror: Mirror
) -> None:
    build(
        PROJECT.root,
        dist,
        with_test_dist=False,
        pyodide_packages=str(mirror.packages),
        pyodide_lock=mirror.lock,
        extra_tool_packages=[DEPENDENT_TOOLS],
    )
    lock = _lock(dist)
    for name in ("cloche-demo-dep", "cloche-demo-base"):
        assert lock[name] == mirror.entry(name)  # the entry as the mirror's lock has it
        wheel = mirror.wheels[name]
        assert (dist / wheel.name).read_bytes() == wheel.read_bytes()
    assert lock["cloche-dependent-tools"]["depends"] == ["cloche", "cloche-demo-dep", "tabulate"]
    assert set(lock) - set(_lock(seed)) == {
        "cloche-dependent-tools",
        "cloche-demo-dep",
        "cloche-demo-base",
        "tabulate",
    }
    assert not (dist / mirror.wheels["cloche-demo-extra"].name).exists()  # an extra nobody asked
    assert check_lock(dist) == []
    registry = json.loads((dist / "registry.json").read_text())
    tools = {p["name"]: [t["name"] for t in p["tools"]] for p in registry["packages"]}
    assert tools["cloche-dependent-tools"] == ["dependent.greet", "dependent.table"]


def test_the_mirror_may_be_a_url_and_its_files_are_cached(
    dist: Path, mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "pyodide-cache"
    monkeypatch.setattr(Project, "pyodide_cache", property(lambda self: cache))
    build(
        PROJECT.root,
        dist,
        with_test_dist=False,
        pyodide_packages=mirror.packages.as_uri() + "/",
        pyodide_lock=mirror.lock,
        extra_tool_packages=[DEPENDENT_TOOLS],
    )
    version = PROJECT.pyodide_version()
    cached = {p.name for p in (cache / f"v{version}").iterdir()}
    assert cached == {mirror.wheels[n].name for n in ("cloche-demo-dep", "cloche-demo-base")}
    assert check_lock(dist) == []


def test_a_name_in_both_the_pyodide_lock_and_pypi_comes_from_the_lock(
    dist: Path, tmp_path: Path, wheel_cache: Path
) -> None:
    impostor = MirrorPackage(
        "tabulate",
        "0.9.0",
        {"tabulate/__init__.py": "def tabulate(rows, headers=()):\n    return 'mirror'\n"},
        imports=("tabulate",),
    )
    mirror = make_pyodide_mirror(tmp_path / "mirror", (*DEMO_PACKAGES, impostor))
    # Offline and with no tabulate in the wheel cache: PyPI could not have provided it.
    report = build(
        PROJECT.root,
        dist,
        with_test_dist=False,
        offline=True,
        pyodide_packages=str(mirror.packages),
        pyodide_lock=mirror.lock,
        extra_tool_packages=[DEPENDENT_TOOLS],
    )
    assert report.downloaded == []
    tabulate = _lock(dist)["tabulate"]
    assert tabulate == mirror.entry("tabulate")
    assert tabulate["sha256"] != TABULATE_SHA256
    assert _sha256(dist / TABULATE_WHEEL) == tabulate["sha256"]
    info = json.loads((dist / "build-info.json").read_text())
    assert {d["name"]: d["from"] for d in info["dependencies"]}["tabulate"] == "pyodide"


def test_a_wrong_sha256_in_the_mirror_is_refused_and_the_dist_kept(
    dist: Path, mirror: Mirror, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = mirror.wheels["cloche-demo-dep"]
    expected = mirror.entry("cloche-demo-dep")["sha256"]
    changed = {"cloche_demo_dep/__init__.py": "def greet(name):\n    return 'changed'\n"}
    assert write_wheel(wheel.parent, MirrorPackage("cloche-demo-dep", "1.0", changed)) == wheel
    assert _sha256(wheel) != expected
    before = _state(dist)
    args = _build_args(dist, "--tool-package", DEPENDENT_TOOLS)
    args += ["--pyodide-packages", str(mirror.packages), "--pyodide-lock", str(mirror.lock)]
    assert cli.main(args) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"build failed: {wheel.name} from {mirror.packages} has sha256 ")
    assert f"sha256 {_sha256(wheel)}, but {mirror.lock} says {expected}: refused" in error
    assert _state(dist) == before


def test_an_unresolvable_requirement_fails_in_one_line_and_leaves_the_dist(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = write_tool_package(
        tmp_path / "tool", "cloche-needy-tools", ["cloche", "cloche-surely-not-a-package-4e1f==1.0"]
    )
    before = _state(dist)
    assert cli.main(_build_args(dist, "--tool-package", tool)) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(
        "build failed: cloche-surely-not-a-package-4e1f==1.0, wanted by cloche-needy-tools, is not "
        f"in Pyodide's lock ({PROJECT.pyodide_npm / 'pyodide-lock.json'}), and PyPI has no "
        "pure-Python wheel of it for Python 3.14 (pip: "
    )
    assert error.endswith(
        "); give the build a mirror that has it: --pyodide-packages DIR|URL with "
        "--pyodide-lock FILE\n"
    )
    assert _state(dist) == before
    assert sorted(p.name for p in dist.parent.iterdir() if "dist" in p.name) == ["dist"]


def test_an_unreachable_pyodide_source_fails_in_one_line_and_leaves_the_dist(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = write_tool_package(tmp_path / "tool", "cloche-numeric-tools", ["cloche", "numpy"])
    before = _state(dist)
    args = _build_args(dist, "--tool-package", tool, "--pyodide-packages", "http://127.0.0.1:9/")
    assert cli.main(args) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert (
        ", wanted by cloche-numeric-tools, could not be fetched from http://127.0.0.1:9/numpy-"
        in error
    )
    assert "pass --pyodide-packages DIR|URL" in error
    assert _state(dist) == before


def test_python_run_packages_load_with_python_run(
    dist: Path, mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {**PROJECT.dist_settings(), "python-run-packages": ["cloche-demo-dep"]}
    monkeypatch.setattr(Project, "dist_settings", lambda self: settings)
    build(
        PROJECT.root,
        dist,
        with_test_dist=False,
        pyodide_packages=str(mirror.packages),
        pyodide_lock=mirror.lock,
    )
    lock = _lock(dist)
    assert lock["cloche-tools-python"]["depends"] == ["cloche", "cloche-demo-dep"]
    assert lock["cloche-demo-dep"] == mirror.entry("cloche-demo-dep")
    assert lock["cloche-demo-base"] == mirror.entry("cloche-demo-base")
    assert check_lock(dist) == []
