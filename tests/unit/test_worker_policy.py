"""The workers' Content-Security-Policy: what tool code may load and reach, by path, never the
relay or another origin, whatever the operator lets the page reach."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloche_server.app import create_app
from cloche_server.page_policy import PagePolicy
from cloche_server.worker_policy import worker_content_security_policy


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Cloche</title>")
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "python-worker.js").write_text("export {};\n")
    (tmp_path / "cloche-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    return tmp_path


def directives(header: str) -> dict[str, str]:
    pairs = (d.strip().partition(" ") for d in header.split(";"))
    return {name: value for name, _, value in pairs}


def test_worker_scripts_get_the_workers_policy_by_path(dist: Path) -> None:
    policy = PagePolicy(connect_origins=("https://api.example.org",))
    with TestClient(
        create_app(dist, page_policy=policy), base_url="http://127.0.0.1:8000"
    ) as client:
        header = client.get("/workers/python-worker.js").headers["content-security-policy"]
    host = "127.0.0.1:8000"
    assert directives(header) == {
        "default-src": "'none'",
        "script-src": f"{host}/workers/ {host}/pyodide/ {host}/vendor/ 'wasm-unsafe-eval'",
        "connect-src": (
            f"{host}/pyodide/ {host}/build-info.json {host}/pyodide-lock.json {host}/wasm/ "
            f"{host}/local-packages/ "
            f"{host}/cloche-0.1.0-py3-none-any.whl"
        ),
        "worker-src": "'none'",
        "base-uri": "'none'",
    }
    assert "/v1" not in header and "api.example.org" not in header and "'self'" not in header


def test_a_missing_worker_still_gets_the_workers_policy_and_the_page_keeps_its_own(
    dist: Path,
) -> None:
    with TestClient(create_app(dist), base_url="http://127.0.0.1:8000") as client:
        missing = client.get("/workers/nope.js")
        page = client.get("/")
    assert missing.status_code == 404
    assert directives(missing.headers["content-security-policy"])["default-src"] == "'none'"
    assert directives(page.headers["content-security-policy"])["default-src"] == "'self'"


@pytest.mark.parametrize(
    "host",
    [None, "evil.test; script-src *", "a b", "host:80/path", "'self'", ""],
)
def test_a_host_that_could_break_the_policy_allows_nothing(host: str | None) -> None:
    header = worker_content_security_policy(host, ["/x-1.0-py3-none-any.whl"])
    assert directives(header)["script-src"] == "'none' 'wasm-unsafe-eval'"
    assert directives(header)["connect-src"] == "'none'"
    assert header.count(";") == 4


def test_ipv6_and_named_hosts_are_written_as_they_came() -> None:
    for host in ("[::1]:8000", "cloche.example.org", "localhost:8771"):
        assert f"{host}/workers/" in worker_content_security_policy(host, [])
