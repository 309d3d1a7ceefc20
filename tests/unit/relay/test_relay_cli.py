"""`cloche serve --config`: the relay's start-up message, and config mistakes stop the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
