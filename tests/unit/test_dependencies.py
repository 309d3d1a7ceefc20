"""Resolving the dist's own wheels' dependencies for Pyodide (cloche_server.dependencies), against
a stand-in Pyodide release (pyodide_mirror.py) and the real npm lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyodide_mirror import NPM_LOCK, MirrorPackage, make_pyodide_mirror, write_wheel

from cloche_server.dependencies import DependencyError, marker_environment, resolve
from cloche_server.pyodide_lock_file import write_lock
from cloche_server.pyodide_packages import PackageSourceError, PyodidePackages

VERSION = json.loads((NPM_LOCK.parent / "package.json").read_text())["version"]


def _own_wheel(folder: Path, name: str, requires: tuple[str, ...], namespace: str = "") -> Path:
    modules = {f"{name.replace('-', '_')}/__init__.py": ""}
    wheel = write_wheel(folder, MirrorPackage(name, "1.0", modules, requires=requires))
    if namespace:  # an entry point in cloche.tools, as a tool package has
        import zipfile

        with zipfile.ZipFile(wheel, "a") as archive:
            info = f"{name.replace('-', '_')}-1.0.dist-info/entry_points.txt"
            archive.writestr(info, f"[cloche.tools]\n{namespace} = {name.replace('-', '_')}\n")
    return wheel


@pytest.fixture
def mirror_packages(tmp_path: Path) -> PyodidePackages:
    mirror = make_pyodide_mirror(tmp_path / "mirror")
    return PyodidePackages.open(
        VERSION, NPM_LOCK, tmp_path / "cache", source=str(mirror.packages), lock=mirror.lock
    )


def test_markers_are_those_of_pyodide() -> None:
    env = marker_environment(json.loads(NPM_LOCK.read_text())["info"])
    assert env["sys_platform"] == "emscripten"
    assert env["platform_system"] == "Emscripten"
    assert env["platform_machine"] == "wasm32"
    assert env["python_version"] == "3.14"
    assert env["platform_release"] == "5.0.3"


def test_requirements_resolve_transitively_with_markers_for_pyodide(
    tmp_path: Path, mirror_packages: PyodidePackages
) -> None:
    tool = _own_wheel(
        tmp_path / "own",
        "cloche-tools-x",
        (
            'cloche-demo-dep; platform_system == "Emscripten"',
            'pywin32; sys_platform == "win32"',
            'not-for-this-python; python_version < "3.10"',
        ),
    )
    # Offline with an empty wheel cache: anything that went to PyPI would fail the resolution.
    found = resolve(mirror_packages, [tool], tmp_path / "wheels", offline=True)
    assert [(d.name, d.origin, d.wanted_by) for d in found.dependencies] == [
        ("cloche-demo-dep", "pyodide", "cloche-tools-x"),
        ("cloche-demo-base", "pyodide", "cloche-tools-x (through cloche-demo-dep)"),
    ]
    assert found.extra_depends == {}


def test_an_extra_of_a_pyodide_package_joins_its_lock_entry(
    tmp_path: Path, mirror_packages: PyodidePackages
) -> None:
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("cloche-demo-dep[fancy]",))
    found = resolve(mirror_packages, [tool], tmp_path / "wheels", offline=True)
    assert {d.name for d in found.dependencies} == {
        "cloche-demo-dep",
        "cloche-demo-base",
        "cloche-demo-extra",
    }
    assert found.extra_depends == {"cloche-demo-dep": ["cloche-demo-extra"]}
    dist = tmp_path / "dist"
    dist.mkdir()
    for path in [tool, *found.files]:
        (dist / path.name).write_bytes(path.read_bytes())
    lock = json.loads(
        write_lock(NPM_LOCK, [tool], dist, found.pyodide_entries, found.extra_depends)
    )
    assert lock["packages"]["cloche-demo-dep"]["depends"] == [
        "cloche-demo-base",
        "cloche-demo-extra",
    ]
    assert lock["packages"]["cloche-tools-x"]["depends"] == ["cloche-demo-dep"]


def test_a_version_the_lock_does_not_have_is_refused(
    tmp_path: Path, mirror_packages: PyodidePackages
) -> None:
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("cloche-demo-dep>=2",))
    with pytest.raises(DependencyError) as raised:
        resolve(mirror_packages, [tool], tmp_path / "wheels", offline=True)
    assert str(raised.value).startswith(
        "cloche-tools-x wants cloche-demo-dep>=2, but cloche-demo-dep in "
        f"{mirror_packages.lock_path} is 1.0; "
    )


def test_a_tampered_file_in_the_source_folder_is_refused_with_both_digests(tmp_path: Path) -> None:
    mirror = make_pyodide_mirror(tmp_path / "mirror")
    expected = mirror.entry("cloche-demo-base")["sha256"]
    wheel = mirror.wheels["cloche-demo-base"]
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    packages = PyodidePackages.open(
        VERSION, NPM_LOCK, tmp_path / "cache", source=str(mirror.packages), lock=mirror.lock
    )
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("cloche-demo-dep",))
    with pytest.raises(DependencyError) as raised:
        resolve(packages, [tool], tmp_path / "wheels", offline=True)
    import hashlib

    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert str(raised.value) == (
        f"{wheel.name} from {mirror.packages} has sha256 {actual}, but {mirror.lock} says "
        f"{expected}: refused (it is cloche-demo-base 1.0, wanted by cloche-tools-x (through "
        "cloche-demo-dep))"
    )


def test_a_url_source_goes_through_the_cache_and_is_checked(tmp_path: Path) -> None:
    mirror = make_pyodide_mirror(tmp_path / "mirror")
    cache = tmp_path / "cache"
    url = mirror.packages.as_uri()
    packages = PyodidePackages.open(VERSION, NPM_LOCK, cache, source=url, lock=mirror.lock)
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("cloche-demo-dep",))
    found = resolve(packages, [tool], tmp_path / "wheels", offline=False)
    assert {d.wheel.parent for d in found.dependencies} == {cache}
    assert found.dependencies[0].source == f"{url}/{mirror.wheels['cloche-demo-dep'].name}"
    # Offline, the cache serves; a cached file that no longer matches is fetched again.
    offline = PyodidePackages.open(
        VERSION, NPM_LOCK, cache, source=url, lock=mirror.lock, offline=True
    )
    assert len(resolve(offline, [tool], tmp_path / "wheels", offline=True).dependencies) == 2
    cached = cache / mirror.wheels["cloche-demo-dep"].name
    cached.write_bytes(b"stale")
    resolve(packages, [tool], tmp_path / "wheels")
    assert cached.read_bytes() == mirror.wheels["cloche-demo-dep"].read_bytes()
    # A file that does not match at the source is refused and leaves nothing in the cache.
    cached.unlink()
    mirror.wheels["cloche-demo-dep"].write_bytes(b"tampered")
    with pytest.raises(DependencyError, match=r"has sha256 .* refused"):
        resolve(packages, [tool], tmp_path / "wheels")
    assert not cached.exists()
    assert not list(cache.glob("*.part"))


def test_an_unreachable_source_names_package_tool_url_and_the_way_out(tmp_path: Path) -> None:
    packages = PyodidePackages.open(
        VERSION, NPM_LOCK, tmp_path / "cache", source="http://127.0.0.1:9"
    )
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("numpy",))
    with pytest.raises(DependencyError) as raised:
        resolve(packages, [tool], tmp_path / "wheels")
    message = str(raised.value)
    entry = json.loads(NPM_LOCK.read_text())["packages"]["numpy"]
    assert message.startswith(
        f"numpy {entry['version']} ({entry['file_name']}), wanted by cloche-tools-x, could not be "
        f"fetched from http://127.0.0.1:9/{entry['file_name']} ("
    )
    assert message.endswith(
        f"to build offline or from a mirror, pass --pyodide-packages DIR|URL (a folder or URL "
        f"holding Pyodide {VERSION}'s packages; with --pyodide-lock FILE if its lock differs "
        "from npm's)"
    )
    assert "\n" not in message


def test_offline_the_official_release_is_only_read_from_the_cache(tmp_path: Path) -> None:
    packages = PyodidePackages.open(VERSION, NPM_LOCK, tmp_path / "cache", offline=True)
    assert packages.source == f"https://cdn.jsdelivr.net/pyodide/v{VERSION}/full/"
    tool = _own_wheel(tmp_path / "own", "cloche-tools-x", ("pandas",))
    with pytest.raises(
        DependencyError, match=r"^pandas .*, wanted by cloche-tools-x, is not in the "
    ):
        resolve(packages, [tool], tmp_path / "wheels", offline=True)


def test_a_substitute_lock_for_another_python_is_refused(tmp_path: Path) -> None:
    mirror = make_pyodide_mirror(tmp_path / "mirror")
    document = json.loads(mirror.lock.read_text())
    document["info"]["abi_version"] = "2099_0"
    mirror.lock.write_text(json.dumps(document))
    with pytest.raises(PackageSourceError, match=r"its info.abi_version is '2099_0', but"):
        PyodidePackages.open(
            VERSION, NPM_LOCK, tmp_path, source=str(mirror.packages), lock=mirror.lock
        )


def test_python_run_packages_become_depends_of_the_python_run_package(
    tmp_path: Path, mirror_packages: PyodidePackages
) -> None:
    runner = _own_wheel(tmp_path / "own", "cloche-tools-python", (), namespace="python")
    found = resolve(
        mirror_packages,
        [runner],
        tmp_path / "wheels",
        offline=True,
        python_run_packages=["cloche-demo-dep"],
    )
    assert found.extra_depends == {"cloche-tools-python": ["cloche-demo-dep"]}
    assert found.dependencies[0].wanted_by == "[tool.cloche.dist] python-run-packages"
    other = _own_wheel(tmp_path / "other", "cloche-tools-y", (), namespace="y")
    with pytest.raises(DependencyError, match=r"no tool package provides python\.run"):
        resolve(mirror_packages, [other], tmp_path / "wheels", python_run_packages=["numpy"])


def test_a_substitute_lock_entry_without_its_sha256_is_refused(tmp_path: Path) -> None:
    mirror = make_pyodide_mirror(tmp_path / "mirror")
    document = json.loads(mirror.lock.read_text())
    del document["packages"]["cloche-demo-base"]["sha256"]
    mirror.lock.write_text(json.dumps(document))
    with pytest.raises(PackageSourceError) as raised:
        PyodidePackages.open(
            VERSION, NPM_LOCK, tmp_path, source=str(mirror.packages), lock=mirror.lock
        )
    assert (
        str(raised.value)
        == f"--pyodide-lock {mirror.lock}: the entry cloche-demo-base lacks sha256"
    )


def test_requirements_that_disagree_are_named_together(
    tmp_path: Path, mirror_packages: PyodidePackages
) -> None:
    first = _own_wheel(tmp_path / "own", "cloche-tools-x", ("cloche-demo-base",))
    second = _own_wheel(tmp_path / "own", "cloche-tools-y", ("cloche-demo-base<1",))
    with pytest.raises(DependencyError) as raised:
        resolve(mirror_packages, [first, second], tmp_path / "wheels", offline=True)
    assert str(raised.value) == (
        "cloche-tools-y wants cloche-demo-base<1, but cloche-demo-base 1.0 was chosen for "
        "cloche-tools-x; make the two requirements agree"
    )
    third = _own_wheel(tmp_path / "own", "cloche-tools-z", ("cloche-tools-x>=2",))
    with pytest.raises(DependencyError) as raised:
        resolve(mirror_packages, [first, third], tmp_path / "wheels", offline=True)
    assert str(raised.value) == (
        "cloche-tools-z wants cloche-tools-x>=2, but the dist's own cloche-tools-x is 1.0; "
        "loosen the requirement"
    )
