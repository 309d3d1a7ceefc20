"""The static server: MIME types, precompressed twins, cache policy, isolation headers."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
import uvicorn
from starlette.testclient import TestClient

from cloche_server.app import create_app

WASM = b"\0asm\1\0\0\0" + b"\0" * 4000
SCRIPT = b"export const answer = 42;\n" * 200


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Cloche</title>")
    core = tmp_path / "pyodide" / "v1.2.3"
    core.mkdir(parents=True)
    (core / "pyodide.asm.wasm").write_bytes(WASM)
    (core / "pyodide.asm.wasm.br").write_bytes(brotli.compress(WASM))
    (core / "pyodide.mjs").write_bytes(SCRIPT)
    (core / "pyodide.mjs.gz").write_bytes(gzip.compress(SCRIPT))
    (tmp_path / "app.js").write_bytes(SCRIPT)
    return tmp_path


@pytest.fixture
def client(dist: Path) -> TestClient:
    return TestClient(create_app(dist), base_url="http://127.0.0.1:8000")


def test_wasm_is_application_wasm_and_mjs_is_javascript(client: TestClient) -> None:
    wasm = client.get("/pyodide/v1.2.3/pyodide.asm.wasm", headers={"accept-encoding": "identity"})
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content == WASM
    mjs = client.get("/pyodide/v1.2.3/pyodide.mjs", headers={"accept-encoding": "identity"})
    assert mjs.headers["content-type"].startswith("text/javascript")


def test_brotli_twin_is_served_when_accepted(client: TestClient) -> None:
    response = client.get("/pyodide/v1.2.3/pyodide.asm.wasm", headers={"accept-encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"] == "application/wasm"
    assert response.headers["vary"] == "accept-encoding"
    assert response.content == WASM  # the client decodes it


def test_gzip_twin_when_brotli_is_not_accepted(client: TestClient) -> None:
    response = client.get(
        "/pyodide/v1.2.3/pyodide.mjs", headers={"accept-encoding": "br;q=0, gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == SCRIPT


def test_identity_when_no_twin_or_not_accepted(client: TestClient) -> None:
    response = client.get("/app.js", headers={"accept-encoding": "br, gzip"})
    assert "content-encoding" not in response.headers
    response = client.get(
        "/pyodide/v1.2.3/pyodide.asm.wasm", headers={"accept-encoding": "identity"}
    )
    assert "content-encoding" not in response.headers


def test_range_requests_address_the_identity_bytes(client: TestClient) -> None:
    response = client.get(
        "/pyodide/v1.2.3/pyodide.asm.wasm", headers={"accept-encoding": "br", "range": "bytes=0-3"}
    )
    assert response.status_code == 206
    assert "content-encoding" not in response.headers
    assert response.content == b"\0asm"


def test_versioned_core_is_immutable_and_the_rest_revalidates(client: TestClient) -> None:
    core = client.get("/pyodide/v1.2.3/pyodide.mjs")
    assert core.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/", "/app.js"):
        assert client.get(path).headers["cache-control"] == "no-cache"


def test_etag_revalidation_answers_304(client: TestClient) -> None:
    first = client.get("/app.js", headers={"accept-encoding": "identity"})
    etag = first.headers["etag"]
    again = client.get("/app.js", headers={"accept-encoding": "identity", "if-none-match": etag})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"
    assert again.content == b""


def test_every_response_is_cross_origin_isolated(client: TestClient) -> None:
    for path in ("/", "/app.js", "/healthz", "/no-such-file"):
        headers = client.get(path).headers
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["cross-origin-embedder-policy"] == "require-corp"


def test_healthz_and_missing_files(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert client.get("/no-such-file").status_code == 404


SECRET = "secret-beside-the-dist-0d5c"


@pytest.fixture
def live_port(tmp_path: Path) -> Iterator[int]:
    """The real app under uvicorn on 127.0.0.1, serving a dist with a secret file beside it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>Cloche</title>")
    (tmp_path / "pyproject.toml").write_text(f'name = "{SECRET}"\n')
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(site), log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """GET `target` exactly as written, as `curl --path-as-is` sends it (nothing normalises it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        conn.sendall(request.encode("ascii"))
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "target",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/..%2fpyproject.toml",
        "/%2e%2e%2fpyproject.toml",
        "/nested/../../pyproject.toml",
        "//../pyproject.toml",
        "/..%5cpyproject.toml",
    ],
)
def test_a_path_out_of_the_dist_is_refused_as_sent(live_port: int, target: str) -> None:
    assert raw_get(live_port, "/index.html")[0] == 200  # the server does serve files
    status, body = raw_get(live_port, target)
    assert status in (400, 404)
    assert SECRET.encode() not in body


def test_an_unbuilt_dist_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cloche build"):
        create_app(tmp_path)
