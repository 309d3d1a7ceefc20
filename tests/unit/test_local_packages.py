"""Packages kept beside the dist: `cloche serve --local-packages DIR` (default: local-packages/
next to the dist) serves that folder at /local-packages/, which the workers' policy lets them
fetch, and which `cloche build` never touches because it is outside the dist."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloche_server.app import create_app
from cloche_server.cli import _local_packages


@pytest.fixture
def site(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Cloche</title>")
    package = tmp_path / "local-packages" / "echo"
    package.mkdir(parents=True)
    (package / "manifest.json").write_text('{"name": "echo"}')
    (package / "echo.wasm").write_bytes(b"\0asm\1\0\0\0")
    return tmp_path


def test_the_folder_is_served_with_the_dist_headers_and_no_way_out(site: Path) -> None:
    app = create_app(site / "dist", local_packages=site / "local-packages")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        manifest = client.get("/local-packages/echo/manifest.json")
        module = client.get("/local-packages/echo/echo.wasm")
        outside = client.get("/local-packages/../dist/index.html")
        worker = client.get("/workers/anything.js")
    assert manifest.status_code == 200 and manifest.json() == {"name": "echo"}
    assert module.headers["content-type"] == "application/wasm"
    assert manifest.headers["cross-origin-embedder-policy"] == "require-corp"
    assert outside.request.url.path == "/dist/index.html"  # normalized: not the folder's parent
    assert "127.0.0.1:8000/local-packages/" in worker.headers["content-security-policy"]


def test_without_the_folder_nothing_is_served_there(site: Path) -> None:
    with TestClient(create_app(site / "dist"), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/local-packages/echo/manifest.json").status_code == 404


def test_the_default_is_the_folder_beside_the_dist_when_there_is_one(site: Path) -> None:
    assert _local_packages(None, site / "dist") == (site / "local-packages").resolve()
    (site / "local-packages" / "echo" / "manifest.json").unlink()
    (site / "local-packages" / "echo" / "echo.wasm").unlink()
    (site / "local-packages" / "echo").rmdir()
    (site / "local-packages").rmdir()
    assert _local_packages(None, site / "dist") is None


def test_a_folder_given_that_does_not_exist_is_a_clear_error(site: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"--local-packages .*missing is not a folder: make it"
    ):
        _local_packages(site / "missing", site / "dist")
