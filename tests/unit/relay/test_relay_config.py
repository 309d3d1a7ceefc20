"""The relay's TOML configuration, its ${ENV} references and the API-key shortcut."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche_server.relay import ConfigError, load_config
from cloche_server.relay.config import HOW_TO_CONFIGURE

FULL = """
[limits]
max_body_bytes = 100_000
max_tokens = 2000
requests_per_minute = 30
tokens_per_minute = 50_000
max_concurrent = 50
connect_timeout = 5
read_timeout = 60.5

[security]
cors_origins = ["https://docs.example.org"]
bearer_tokens = ["${RELAY_TOKEN}"]
log_bodies = true

[providers.local]
type = "openai"
base_url = "http://127.0.0.1:11434/v1/"

[providers.claude]
type = "anthropic"
api_key = "${MY_ANTHROPIC_KEY}"
headers = { "anthropic-beta" = "tools-2024" }

[models.small]
provider = "local"
model = "llama3.2:3b"

[models.claude]
provider = "claude"
model = "claude-sonnet-4-5"
max_tokens = 8000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text)
    return path


def test_a_full_config(tmp_path: Path) -> None:
    env = {"RELAY_TOKEN": "tok-123456", "MY_ANTHROPIC_KEY": "sk-ant-secret-99"}
    config = load_config(write(tmp_path, FULL), env)
    assert config.limits.max_tokens == 2000
    assert config.limits.read_timeout == 60.5
    assert config.cors_origins == ("https://docs.example.org",)
    assert config.bearer_tokens == ("tok-123456",)
    assert config.log_bodies is True
    small, claude = config.models["small"], config.models["claude"]
    assert (small.provider.base_url, small.provider.api_key) == ("http://127.0.0.1:11434/v1", None)
    assert (small.model, small.max_tokens) == ("llama3.2:3b", 2000)
    assert claude.provider.api_key == "sk-ant-secret-99"
    assert claude.provider.base_url == "https://api.anthropic.com"
    assert claude.max_tokens == 8000
    assert "sk-ant-secret-99" not in repr(config)
    assert "tok-123456" not in repr(config)
    assert "sk-ant-secret-99" not in config.describe()
    assert "claude -> claude:claude-sonnet-4-5" in config.describe()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[providers.a]\ntype = "openai"\napi_key = "${NOPE}"', "${NOPE}, which is not set"),
        ('[providers.a]\ntype = "gemini"', "must be one of openai, anthropic"),
        ('[providers.a]\ntype = "anthropic"', "api_key is required"),
        ('[providers.a]\ntype = "openai"\nbase_url = "ftp://x"', "must be an http(s) URL"),
        ('[models.m]\nprovider = "ghost"', "'ghost' is not in [providers]"),
        ("[limits]\nmax_tokns = 5", "unknown setting 'max_tokns'"),
        ("[limits]\nmax_tokens = 0", "at least 1"),
        ('[limits]\nmax_tokens = "many"', "must be an integer"),
        ('[security]\ncors_origins = ["docs.example.org"]', "is not an origin"),
        ("not toml at all [", "is not valid TOML"),
    ],
)
def test_mistakes_are_reported_with_the_setting(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert words in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read relay config"):
        load_config(tmp_path / "absent.toml", {})


def test_no_file_and_no_keys_means_nothing_configured() -> None:
    config = load_config(None, {})
    assert not config.configured
    assert config.describe() == HOW_TO_CONFIGURE


def test_the_api_key_shortcut() -> None:
    env = {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a"}
    config = load_config(None, env)
    assert set(config.models) == {
        "gpt-4o-mini",
        "gpt-4o",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
    }
    openai = config.models["gpt-4o"].provider
    assert (openai.base_url, openai.api_key) == ("https://api.openai.com/v1", "sk-o")
    assert openai.max_tokens_param == "max_completion_tokens"
    assert config.models["claude-haiku-4-5"].provider.kind == "anthropic"


def test_the_shortcut_takes_a_base_url_and_model_aliases() -> None:
    env = {
        "OPENAI_API_KEY": "ollama",
        "OPENAI_BASE_URL": "http://localhost:11434/v1",
        "CLOCHE_OPENAI_MODELS": "small=llama3.2:3b, qwen2.5",
    }
    config = load_config(None, env)
    assert {a: r.model for a, r in config.models.items()} == {
        "small": "llama3.2:3b",
        "qwen2.5": "qwen2.5",
    }
    assert config.models["small"].provider.max_tokens_param == "max_tokens"
