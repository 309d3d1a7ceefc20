"""The /packages routes of `cloche serve`: Pyodide's packages from a stand-in release
(pyodide_mirror.py, as a folder and as a URL), pure wheels from a fake PyPI on 127.0.0.1
(fake_pypi.py), every file checked against its sha256 before it is served."""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_pypi import FakePyPI
from pyodide_mirror import NPM_LOCK, Mirror, make_pyodide_mirror
from starlette.testclient import TestClient

from cloche_server import cli
from cloche_server.app import create_app
from cloche_server.package_routes import PYPI_REFUSED, open_package_sources
from cloche_server.pyodide_packages import PackageSourceError
from cloche_server.pypi_index import newest_pure_wheel

PYODIDE_VERSION = "314.0.7"
DEP_WHEEL = "cloche_demo_dep-1.0-py3-none-any.whl"
PYPI_WHEEL = "cloche_pypi_demo-2.0-py3-none-any.whl"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """The files of a dist that the package routes read: its lock's info and Pyodide's version."""
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>Cloche</title>")
    info = json.loads(NPM_LOCK.read_text())["info"]
    (folder / "pyodide-lock.json").write_text(json.dumps({"info": info, "packages": {}}))
    (folder / "build-info.json").write_text(json.dumps({"pyodide": PYODIDE_VERSION}))
    return folder


@pytest.fixture
def mirror(tmp_path: Path) -> Mirror:
    return make_pyodide_mirror(tmp_path / "mirror")


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[FakePyPI]:
    fake = FakePyPI(tmp_path / "pypi-files")
    fake.start()
    yield fake
    fake.stop()


def _client(dist: Path, cache: Path, **options: object) -> TestClient:
    sources = open_package_sources(dist, cache=cache, **options)  # type: ignore[arg-type]
    return TestClient(create_app(dist, package_sources=sources), base_url="http://127.0.0.1:8000")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_lock_lists_the_mirrors_packages_for_the_page(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    options = {"pyodide_packages": str(mirror.packages), "pyodide_lock": mirror.lock}
    with _client(dist, tmp_path / "cache", **options) as client:
        response = client.get("/packages/pyodide-lock.json")
    assert response.status_code == 200
    document = response.json()
    assert (document["pyodide"], document["pypi"]) == (PYODIDE_VERSION, False)
    assert document["packages"]["cloche-demo-dep"] == {
        "name": "cloche-demo-dep",
        "version": "1.0",
        "file_name": DEP_WHEEL,
        "sha256": _sha256(mirror.wheels["cloche-demo-dep"].read_bytes()),
        "depends": ["cloche-demo-base"],
        "imports": ["cloche_demo_dep"],
        "package_type": "package",
    }
    # Same origin as the page, with the page's policy: connect-src 'self' covers it.
    assert "connect-src 'self'" in response.headers["content-security-policy"]


def test_a_mirror_file_is_served_checked_and_one_the_lock_lacks_is_404(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    options = {"pyodide_packages": str(mirror.packages), "pyodide_lock": mirror.lock}
    with _client(dist, tmp_path / "cache", **options) as client:
        served = client.get(f"/packages/pyodide/{DEP_WHEEL}")
        absent = client.get("/packages/pyodide/numpy-2.4.6-cp314-cp314-any.whl")
    assert served.status_code == 200
    assert served.content == mirror.wheels["cloche-demo-dep"].read_bytes()
    assert served.headers["content-type"] == "application/zip"
    assert absent.status_code == 404
    assert absent.text == (
        f"numpy-2.4.6-cp314-cp314-any.whl is not in the Pyodide lock {mirror.lock}: "
        "only its files are served"
    )


def test_a_mirror_file_with_a_wrong_sha256_is_refused_naming_it(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    wheel = mirror.wheels["cloche-demo-dep"]
    expected = _sha256(wheel.read_bytes())
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    options = {"pyodide_packages": str(mirror.packages), "pyodide_lock": mirror.lock}
    with _client(dist, tmp_path / "cache", **options) as client:
        response = client.get(f"/packages/pyodide/{DEP_WHEEL}")
    assert response.status_code == 502
    assert response.text.startswith(
        f"{DEP_WHEEL} from {mirror.packages} has sha256 {_sha256(wheel.read_bytes())}, "
        f"but {mirror.lock} says {expected}: refused"
    )
    assert "\n" not in response.text


def test_a_mirror_url_is_fetched_once_into_the_cache(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(mirror.packages))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    options = {"pyodide_packages": url, "pyodide_lock": mirror.lock}
    try:
        with _client(dist, tmp_path / "cache", **options) as client:
            first = client.get(f"/packages/pyodide/{DEP_WHEEL}")
            server.shutdown()
            again = client.get(f"/packages/pyodide/{DEP_WHEEL}")
    finally:
        server.server_close()
    wheel = mirror.wheels["cloche-demo-dep"].read_bytes()
    assert first.content == again.content == wheel
    cached = tmp_path / "cache" / "pyodide" / f"v{PYODIDE_VERSION}" / DEP_WHEEL
    assert cached.read_bytes() == wheel


def test_an_unreachable_source_is_a_502_that_says_what_to_do(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    options = {"pyodide_packages": url, "pyodide_lock": mirror.lock}
    with _client(dist, tmp_path / "cache", **options) as client:
        response = client.get(f"/packages/pyodide/{DEP_WHEEL}")
    assert response.status_code == 502
    assert f"could not be fetched from {url}{DEP_WHEEL}" in response.text
    assert "start `cloche serve` with --pyodide-packages DIR|URL" in response.text


def test_a_lock_for_another_python_is_refused_at_start(
    dist: Path, mirror: Mirror, tmp_path: Path
) -> None:
    lock = json.loads(mirror.lock.read_text())
    lock["info"]["python"] = "3.11.0"
    other = tmp_path / "other-lock.json"
    other.write_text(json.dumps(lock))
    with pytest.raises(PackageSourceError, match=r"its info.python is '3.11.0'"):
        open_package_sources(dist, pyodide_packages=str(mirror.packages), pyodide_lock=other)


def test_serve_says_why_it_cannot_start_with_a_missing_folder(
    dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["serve", "--dist", str(dist), "--pyodide-packages", "/no/such/folder"])
    assert code == 1
    assert capsys.readouterr().err == (
        "cloche serve: --pyodide-packages /no/such/folder: there is no such folder\n"
    )


def test_pypi_is_refused_unless_the_operator_allows_it(dist: Path, tmp_path: Path) -> None:
    with _client(dist, tmp_path / "cache") as client:
        project = client.get("/packages/pypi/six.json")
        file = client.get("/packages/pypi/files/six-1.17.0-py2.py3-none-any.whl")
    assert (project.status_code, project.text) == (403, PYPI_REFUSED)
    assert (file.status_code, file.text) == (403, PYPI_REFUSED)
    assert PYPI_REFUSED == (
        "this server does not install packages from PyPI at run time; its operator can allow "
        "it with `cloche serve --allow-pypi`"
    )


def test_pypi_gives_the_newest_pure_wheel_with_what_it_needs_in_pyodide(
    dist: Path, pypi: FakePyPI, tmp_path: Path
) -> None:
    options = {"allow_pypi": True, "pypi_index": pypi.url}
    with _client(dist, tmp_path / "cache", **options) as client:
        response = client.get("/packages/pypi/Cloche_PyPI.Demo.json")
        wheel = client.get(f"/packages/pypi/files/{PYPI_WHEEL}")
    assert response.status_code == 200, response.text
    data = pypi.files[PYPI_WHEEL].read_bytes()
    assert response.json() == {
        "name": "cloche-pypi-demo",
        "version": "2.0",
        "file_name": PYPI_WHEEL,
        "sha256": _sha256(data),
        # pywin32 is for Windows only; the wheel has no top_level.txt, so RECORD tells.
        "depends": ["cloche-demo-dep"],
        "imports": ["cloche_pypi_demo"],
    }
    assert wheel.status_code == 200 and wheel.content == data
    # Fetched from the index once, then served from the cache.
    assert pypi.requests.count(f"/files/{PYPI_WHEEL}") == 1
    assert (tmp_path / "cache" / "pypi" / PYPI_WHEEL).read_bytes() == data


def test_a_pypi_file_asked_of_a_fresh_process_is_found_through_its_release(
    dist: Path, pypi: FakePyPI, tmp_path: Path
) -> None:
    options = {"allow_pypi": True, "pypi_index": pypi.url}
    old = "cloche_pypi_demo-1.0-py3-none-any.whl"
    with _client(dist, tmp_path / "cache", **options) as client:
        wheel = client.get(f"/packages/pypi/files/{old}")
        unlisted = client.get("/packages/pypi/files/cloche_pypi_demo-9.0-py3-none-any.whl")
    assert wheel.content == pypi.files[old].read_bytes()
    assert "/pypi/cloche-pypi-demo/1.0/json" in pypi.requests
    assert unlisted.status_code == 404
    assert unlisted.text.startswith("cloche_pypi_demo-9.0-py3-none-any.whl is not a pure wheel")


def test_a_pypi_wheel_that_does_not_match_pypis_sha256_is_refused(
    dist: Path, pypi: FakePyPI, tmp_path: Path
) -> None:
    pypi.wrong_sha256.add(PYPI_WHEEL)
    options = {"allow_pypi": True, "pypi_index": pypi.url}
    with _client(dist, tmp_path / "cache", **options) as client:
        response = client.get(f"/packages/pypi/files/{PYPI_WHEEL}")
    actual = _sha256(pypi.files[PYPI_WHEEL].read_bytes())
    assert response.status_code == 502
    assert response.text == (
        f"{PYPI_WHEEL} from {pypi.url}/files/{PYPI_WHEEL} has sha256 {actual}, but PyPI "
        f"({pypi.url}) says {'0' * 64}: refused"
    )
    assert not (tmp_path / "cache" / "pypi" / PYPI_WHEEL).exists()


def test_pypi_unknown_project_bad_name_and_unreachable_index(
    dist: Path, pypi: FakePyPI, tmp_path: Path
) -> None:
    with _client(dist, tmp_path / "c1", allow_pypi=True, pypi_index=pypi.url) as client:
        unknown = client.get("/packages/pypi/no-such-project.json")
        bad = client.get("/packages/pypi/-bad-.json")
    assert (unknown.status_code, unknown.text) == (
        404,
        f"PyPI ({pypi.url}) has no project named no-such-project",
    )
    assert bad.status_code == 400
    index = f"http://127.0.0.1:{_closed_port()}"
    with _client(dist, tmp_path / "c2", allow_pypi=True, pypi_index=index) as client:
        down = client.get("/packages/pypi/six.json")
    assert down.status_code == 502
    assert down.text.startswith(f"{index}/pypi/six/json could not be reached (")
    assert down.text.endswith(
        "check this server's network, or point `cloche serve --pypi-index URL` at a mirror it "
        "can reach"
    )


def _file(name: str, **extra: object) -> dict[str, object]:
    return {
        "filename": name,
        "url": f"https://files.example/{name}",
        "digests": {"sha256": "a" * 64},
        **extra,
    }


def test_the_newest_pure_wheel_skips_binaries_yanked_prereleases_and_other_pythons() -> None:
    document = {
        "info": {"version": "5.0"},
        "urls": [_file("x-5.0-cp314-cp314-manylinux_2_17_x86_64.whl"), _file("x-5.0.tar.gz")],
        "releases": {
            "6.0b1": [_file("x-6.0b1-py3-none-any.whl")],
            "5.0": [],
            "4.0": [_file("x-4.0-py3-none-any.whl", yanked=True)],
            "3.0": [_file("x-3.0-py3-none-any.whl", requires_python=">=3.15")],
            "2.0": [_file("x-2.0-py2.py3-none-any.whl", requires_python=">=3.8")],
            "1.0": [_file("x-1.0-py3-none-any.whl")],
        },
    }
    found = newest_pure_wheel(document, "3.14", "3.14.2")
    assert found is not None
    assert (found.version, found.file_name) == ("2.0", "x-2.0-py2.py3-none-any.whl")
    assert newest_pure_wheel({"info": {"version": "1"}, "urls": []}, "3.14", "3.14.2") is None
