"""The relay's logger. Log lines name models, sizes and outcomes; never keys, tokens or bodies."""

from __future__ import annotations

import logging

logger = logging.getLogger("cloche.relay")
