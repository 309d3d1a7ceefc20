"""The model relay: an OpenAI-compatible endpoint whose upstreams and keys live on the server."""

from .config import ConfigError, RelayConfig, load_config
from .errors import OpenAIErrorMiddleware, RelayError
from .routes import Relay

__all__ = [
    "ConfigError",
    "OpenAIErrorMiddleware",
    "Relay",
    "RelayConfig",
    "RelayError",
    "load_config",
]
