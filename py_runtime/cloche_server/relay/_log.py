"""The relay's logger. Log lines name models, sizes and outcomes; never keys, tokens or bodies."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

logger = logging.getLogger("cloche.relay")


def outcome_of(status: int, disconnected: bool = False) -> str:
    """How a chat request ended: `completed`, `client-disconnected` (the client left before the
    whole answer was sent), `refused` (a 4xx: a limit, a bad request, or the upstream said no) or
    `failed` (a 5xx: the upstream failed or could not be reached, or the relay did)."""
    if disconnected:
        return "client-disconnected"
    if status == 200:
        return "completed"
    return "refused" if status < 500 else "failed"


@dataclass
class ChatLog:
    """The one line each chat request logs, filled in as the request is checked."""

    client: str
    model: str = "-"
    provider: str = "-"
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)

    def write(self, status: int, outcome: str, prompt: int = 0, completion: int = 0) -> None:
        logger.log(
            logging.INFO if status < 500 else logging.WARNING,
            "relay %s model=%s provider=%s stream=%s status=%s outcome=%s tokens=%s+%s ms=%.1f",
            self.client,
            self.model,
            self.provider,
            self.stream,
            status,
            outcome,
            prompt,
            completion,
            (time.perf_counter() - self.started) * 1000,
        )
