"""The built dist: complete, consistent with its lock, and stable under a rebuild.

These run against the checkout's real dist/ and test dist, which scripts/test builds first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import cloche
from cloche_server.build import (
    BuildError,
    BuildReport,
    Project,
    _Output,
    build,
    find_project_root,
    pinned_wheel,
)
from cloche_server.pyodide_lock_file import check_lock
from cloche_server.stdlib_repack import stored_zip

PROJECT = Project(find_project_root(Path(__file__).parent))
DIST = PROJECT.default_dist
TEST_DIST = PROJECT.default_test_dist


def _snapshot(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    if not (DIST / "pyodide-lock.json").is_file():
        pytest.fail("dist/ is not built: run scripts/build (scripts/test does it first)")


def test_rebuild_offline_changes_nothing() -> None:
    before = _snapshot(DIST), _snapshot(TEST_DIST)
    report = build(PROJECT.root, offline=True)
    assert report.written == []
    assert report.removed == []
    assert report.downloaded == []
    assert (_snapshot(DIST), _snapshot(TEST_DIST)) == before


def test_every_lock_entry_has_its_file_with_that_sha256() -> None:
    assert check_lock(DIST) == []
    assert check_lock(TEST_DIST) == []


def test_dist_lock_lists_micropip_and_cloche_and_no_test_wheels() -> None:
    packages = json.loads((DIST / "pyodide-lock.json").read_text())["packages"]
    assert {"micropip", "cloche"} <= set(packages)
    assert packages["cloche"]["version"] == cloche.__version__
    assert packages["cloche"]["depends"] == []
    assert not {"pytest", "tblib", "pluggy"} & set(packages)
    assert not list(DIST.glob("pytest-*.whl"))


def test_test_dist_adds_what_pytest_pyodide_loads() -> None:
    packages = json.loads((TEST_DIST / "pyodide-lock.json").read_text())["packages"]
    assert {"micropip", "cloche", "pytest", "tblib", "pluggy", "iniconfig"} <= set(packages)


def test_build_info_points_at_the_versioned_core() -> None:
    info = json.loads((DIST / "build-info.json").read_text())
    assert info["cloche"] == cloche.__version__
    core = DIST / info["pyodideIndexURL"]
    for name, size in info["coreFiles"].items():
        assert (core / name).stat().st_size == size
    assert (core / "pyodide.asm.wasm.br").is_file()


def test_check_lock_names_a_tampered_and_a_missing_wheel(tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    copy.mkdir()
    for path in DIST.glob("*.whl"):
        shutil.copy(path, copy)
    shutil.copy(DIST / "pyodide-lock.json", copy)
    (copy / "micropip-0.11.1-py3-none-any.whl").write_bytes(b"not a wheel")
    next(copy.glob("cloche-*.whl")).unlink()
    problems = {p.package: p.detail for p in check_lock(copy)}
    assert problems["micropip"].startswith("sha256 is ")
    assert problems["cloche"] == "file is missing from the dist"


def test_an_unpinned_requirement_is_refused() -> None:
    with pytest.raises(BuildError, match="must pin an exact version"):
        pinned_wheel(PROJECT, "micropip>=0.11", BuildReport(), offline=True)


def test_offline_build_names_the_wheel_it_would_download() -> None:
    with pytest.raises(BuildError, match=r"micropip==0\.0\.1 is not in .* downloads are off"):
        pinned_wheel(PROJECT, "micropip==0.0.1", BuildReport(), offline=True)


def test_dist_serves_the_vendored_browser_libraries_as_they_are_in_node_modules() -> None:
    from starlette.testclient import TestClient

    from cloche_server.app import create_app

    client = TestClient(create_app(DIST), base_url="http://127.0.0.1:8000")
    node_modules = PROJECT.web / "node_modules"
    for relative, source in [
        ("vendor/preact/preact.mjs", "preact/dist/preact.mjs"),
        ("vendor/htm/htm.mjs", "htm/dist/htm.mjs"),
        ("vendor/marked/marked.esm.js", "marked/lib/marked.esm.js"),
        ("vendor/dompurify/purify.es.mjs", "dompurify/dist/purify.es.mjs"),
    ]:
        code = (node_modules / source).read_bytes()
        assert (DIST / relative).read_bytes() == code
        assert (DIST / relative).with_name("LICENSE").is_file()
        response = client.get("/" + relative)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.content == code


def test_dist_caps_the_python_heap_in_its_pyodide_wasm() -> None:
    from cloche_server.wasm_memory_limit import PAGE, limit_memory, memory_limits

    info = json.loads((DIST / "build-info.json").read_text())
    built = (DIST / info["pyodideIndexURL"] / "pyodide.asm.wasm").read_bytes()
    stock = (PROJECT.pyodide_npm / "pyodide.asm.wasm").read_bytes()
    cap = PROJECT.python_memory_bytes()
    assert memory_limits(stock) == (480, 65536)  # as shipped: up to 4 GiB
    assert memory_limits(built) == (480, cap // PAGE)
    assert built == limit_memory(stock, cap)


def test_dist_serves_the_stdlib_stored_and_brotli_compressed() -> None:
    import gzip
    import zipfile

    import brotli
    from starlette.testclient import TestClient

    from cloche_server.app import create_app

    info = json.loads((DIST / "build-info.json").read_text())
    path = DIST / info["pyodideIndexURL"] / "python_stdlib.zip"
    data = path.read_bytes()
    assert data == stored_zip((PROJECT.pyodide_npm / "python_stdlib.zip").read_bytes())
    with zipfile.ZipFile(path) as z:
        assert {m.compress_type for m in z.infolist()} == {zipfile.ZIP_STORED}
    assert info["coreFiles"]["python_stdlib.zip"] == len(data)  # what the worker counts, decoded
    twin = path.with_name(path.name + ".br").read_bytes()
    assert brotli.decompress(twin) == data
    assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == data
    assert len(twin) < 0.7 * (PROJECT.pyodide_npm / "python_stdlib.zip").stat().st_size
    client = TestClient(create_app(DIST), base_url="http://127.0.0.1:8000")
    url = f"/{info['pyodideIndexURL']}python_stdlib.zip"
    response = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-length"] == str(len(twin))
    assert response.content == data
    # The test dist boots pytest-pyodide's Pyodide with the very same stdlib.
    assert (TEST_DIST / "python_stdlib.zip").read_bytes() == data


def test_only_files_marked_for_it_are_precompressed_besides_compressible_ones(
    tmp_path: Path,
) -> None:
    out = _Output(tmp_path, BuildReport())
    out.write("pyodide-lock.json", b'{"packages": {}}')
    body = b"PK stored members compress well " * 1000
    out.write("marked.zip", body, compress=True)
    out.write("plain.zip", body)
    out.finish(compress=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "marked.zip",
        "marked.zip.br",
        "marked.zip.gz",
        "plain.zip",
        "pyodide-lock.json",
    ]


@pytest.mark.parametrize("value", ["2048", 32, 8192, 1.5, True])
def test_a_bad_python_memory_cap_is_refused(tmp_path: Path, value: object) -> None:
    text = f"[tool.cloche.dist]\npython-memory-mib = {json.dumps(value)}\n"
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(BuildError, match="python-memory-mib must be a whole number of MiB"):
        Project(tmp_path).python_memory_bytes()
