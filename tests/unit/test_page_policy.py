"""The page's Content-Security-Policy: on every response, with only the origins the operator
configured, and a bad origin refused at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloche_server import cli
from cloche_server.app import create_app
from cloche_server.page_policy import PagePolicy, check_origin, page_policy
from cloche_server.relay import ConfigError, load_config


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Cloche</title>")
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "python-worker.js").write_text("export {};\n")
    return tmp_path


def directives(header: str) -> dict[str, str]:
    pairs = (d.strip().partition(" ") for d in header.split(";"))
    return {name: value for name, _, value in pairs}


def test_every_response_carries_the_policy_with_the_configured_origins(dist: Path) -> None:
    policy = page_policy(
        {"connect_origins": ["https://api.example.org"]}, ["http://localhost:8080"]
    )
    with TestClient(
        create_app(dist, page_policy=policy), base_url="http://127.0.0.1:8000"
    ) as client:
        for path in ("/", "/healthz", "/v1/models", "/no-such-file"):
            header = client.get(path).headers["content-security-policy"]
            assert directives(header) == {
                "default-src": "'self'",
                "script-src": "'self' 'wasm-unsafe-eval'",
                "style-src": "'self'",
                "img-src": "'self' data: blob:",
                "connect-src": "'self' https://api.example.org http://localhost:8080",
                "worker-src": "'self'",
                "object-src": "'none'",
                "base-uri": "'none'",
                "form-action": "'self'",
                "frame-ancestors": "'self'",
            }, path


def test_without_configuration_the_page_connects_to_its_own_origin_only(dist: Path) -> None:
    header = (
        TestClient(create_app(dist), base_url="http://127.0.0.1:8000")
        .get("/")
        .headers["content-security-policy"]
    )
    assert directives(header)["connect-src"] == "'self'"
    assert "unsafe-inline" not in header and "'unsafe-eval'" not in header


def test_relay_responses_keep_working_under_the_policy(dist: Path) -> None:
    policy = PagePolicy(connect_origins=("https://api.example.org",))
    with TestClient(
        create_app(dist, page_policy=policy), base_url="http://127.0.0.1:8000"
    ) as client:
        models = client.get("/v1/models")
        assert models.status_code == 200
        assert models.json() == {"object": "list", "data": []}
        chat = client.post("/v1/chat/completions", json={"model": "m", "messages": []})
        assert chat.status_code == 503
        assert chat.json()["error"]["code"] == "no_provider_configured"
        assert "content-security-policy" in chat.headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://api.example.org/",
        "https://api.example.org/v1",
        "https://*.example.org",
        "*",
        "https:",
        "'self'",
        "http://api.example.org",
        "https://api.example.org; script-src 'unsafe-inline'",
        "https://api.example.org 'unsafe-eval'",
        '"https://api.example.org"',
        "ftp://files.example.org",
        "https://user@api.example.org",
        "https://api.example.org:99999",
        "https://api.example.org?x=1",
        "",
    ],
)
def test_a_bad_origin_is_refused_naming_it_and_the_form_expected(origin: str) -> None:
    with pytest.raises(ConfigError) as caught:
        page_policy({"connect_origins": [origin]})
    message = str(caught.value)
    assert message.startswith(f"page.connect_origins: {origin!r} is not an allowed origin")
    assert "scheme://host[:port]" in message and "https" in message


def test_good_origins_are_kept_in_lower_case_once() -> None:
    assert check_origin("HTTPS://API.Example.org:8443", "x") == "https://api.example.org:8443"
    policy = page_policy(
        {"connect_origins": ["http://127.0.0.1:11434", "https://[2001:db8::1]"]},
        ["https://a.example.org", "https://A.example.org", "http://127.0.0.1:11434"],
    )
    assert policy.connect_origins == (
        "http://127.0.0.1:11434",
        "https://[2001:db8::1]",
        "https://a.example.org",
    )


def test_page_table_mistakes_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting 'connect_src' in \[page\]"):
        page_policy({"connect_src": ["https://api.example.org"]})
    with pytest.raises(ConfigError, match=r"page\.connect_origins must be a list of strings"):
        page_policy({"connect_origins": "https://api.example.org"})


def test_the_relay_reads_a_file_with_a_page_table(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('[page]\nconnect_origins = ["https://api.example.org"]\n')
    assert load_config(config, {}).configured is False


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    apps: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: apps.append(app))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return apps


def test_serve_sends_the_origins_of_its_config_and_its_flags(
    served: list[Any], dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "server.toml"
    config.write_text('[page]\nconnect_origins = ["https://api.example.org"]\n')
    argv = ["serve", "--dist", str(dist), "--config", str(config)]
    argv += ["--connect-origin", "https://b.example.org", "--connect-origin", "http://localhost:1"]
    assert cli.main(argv) == 0
    header = (
        TestClient(served[0], base_url="http://127.0.0.1:8000")
        .get("/")
        .headers["content-security-policy"]
    )
    assert directives(header)["connect-src"] == (
        "'self' https://api.example.org https://b.example.org http://localhost:1"
    )
    assert "https://api.example.org, https://b.example.org" in capsys.readouterr().out


def test_serve_refuses_to_start_with_a_bad_origin(
    served: list[Any], dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--dist", str(dist), "--connect-origin", "https://*.example.org"]
    assert cli.main(argv) == 1
    error = capsys.readouterr().err
    assert "--connect-origin: 'https://*.example.org' is not an allowed origin" in error
    assert "expected scheme://host[:port]" in error
    assert served == []
