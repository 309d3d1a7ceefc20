"""`cloche serve --config`: the relay's start-up message, config mistakes stop the start, and a real
`cloche serve` process relays a chat."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from relay_fakes import OPENAI_KEY, WAIT, FakeUpstream, Reply, openai_completion

from cloche_server import cli


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append(options))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_serve_without_a_provider_says_how_to_configure_one(
    served: list[dict[str, Any]], dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--dist", str(dist)]) == 0
    out = capsys.readouterr().out
    assert "No model provider is configured" in out
    assert "OPENAI_API_KEY" in out and "--config" in out
    assert served and "cloche" in served[0]["log_config"]["loggers"]


def test_serve_with_a_config_names_its_models_but_not_its_keys(
    served: list[dict[str, Any]],
    dist: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SECRET_FOR_TEST", "sk-very-secret-value")
    config = tmp_path / "relay.toml"
    config.write_text(
        '[providers.up]\ntype = "openai"\napi_key = "${SECRET_FOR_TEST}"\n'
        '[models.fast]\nprovider = "up"\nmodel = "gpt-4o-mini"\n'
    )
    assert cli.main(["serve", "--dist", str(dist), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "fast -> up:gpt-4o-mini" in out
    assert "sk-very-secret-value" not in out


def test_serve_with_a_broken_config_stops_with_the_reason(
    served: list[dict[str, Any]],
    dist: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('[providers.up]\ntype = "openai"\napi_key = "${UNSET_FOR_TEST_42}"\n')
    assert cli.main(["serve", "--dist", str(dist), "--config", str(config)]) == 1
    assert "${UNSET_FOR_TEST_42}, which is not set" in capsys.readouterr().err
    assert served == []


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_real_cloche_serve_process_relays_a_chat_to_the_openai_client(
    dist: Path,
    tmp_path: Path,
    free_port: int,
    upstreams: tuple[FakeUpstream, FakeUpstream],
) -> None:
    fake = upstreams[0]
    fake.then(Reply(openai_completion("Hello from upstream.")))
    config = tmp_path / "relay.toml"
    config.write_text(
        f'[providers.fake]\ntype = "openai"\nbase_url = "{fake.url}"\n'
        'api_key = "${CLOCHE_TEST_UPSTREAM_KEY}"\n'
        '[models.fast]\nprovider = "fake"\nmodel = "upstream-model"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["CLOCHE_TEST_UPSTREAM_KEY"] = OPENAI_KEY
    url = f"http://127.0.0.1:{free_port}"
    argv = [sys.executable, "-m", "cloche_server.cli", "serve", "--port", str(free_port)]
    argv += ["--dist", str(dist), "--config", str(config), "--allowed-host", "relay.example.test"]
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
        try:
            wait_until_healthy(url, process)
            with openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as client:
                answer = client.chat.completions.create(
                    model="fast", messages=[{"role": "user", "content": "hi"}]
                )
            with httpx.Client(base_url=url, timeout=WAIT) as plain:
                named = plain.get("/v1/models", headers={"Host": "relay.example.test"})
                rebound = plain.get("/v1/models", headers={"Host": "evil.example"})
        finally:
            process.terminate()
            process.wait(WAIT)
    assert answer.choices[0].message.content == "Hello from upstream."
    assert answer.model == "fast"
    assert fake.seen[0].body["model"] == "upstream-model"
    assert fake.seen[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert [m["id"] for m in named.json()["data"]] == ["fast"]
    assert rebound.status_code == 400
    assert rebound.json()["error"]["code"] == "host_not_allowed"
    printed = out.read_text() + err.read_text()
    assert "fast -> fake:upstream-model" in printed
    assert "localhost, relay.example.test" in printed
    assert "model=fast provider=fake stream=False status=200 outcome=completed" in printed
    assert OPENAI_KEY not in printed


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert process.poll() is None, "cloche serve exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("cloche serve did not answer /healthz")
