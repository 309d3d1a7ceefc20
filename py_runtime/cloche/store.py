"""A tool package's private key-value store: ``await cloche.store.set("key", value)``.

Values are JSON (dicts, lists, str, numbers, bools, None), up to 1 MiB each as JSON text; keys
are strings of 1 to 256 characters. In a Cloche worker the page keeps them, per package, in its
own storage (which tool code cannot open), and answers ``cloche/store`` requests only for a
package that declared ``cloche.permissions(storage=True)`` and that the user allowed; a refusal
is a ``StoreError`` with the host's reason (docs/worker-protocol.md).

Under plain CPython nothing is connected and the store is a dict in memory, living as long as the
interpreter, so tool code and its unit tests run there unchanged; ``connect(...)`` (a fake host,
or None) starts afresh.
"""

from __future__ import annotations

import json
from typing import Any

from ._jsonrpc import RpcError
from .http import HostRequest

MAX_KEY_LENGTH = 256
MAX_VALUE_BYTES = 1024 * 1024
# The most keys one package keeps (the page's limit; the in-memory store keeps it too).
MAX_KEYS = 1000

_request: HostRequest | None = None
# Under CPython: key -> the value as JSON text, so what is read back is a copy, as in the page.
_local: dict[str, str] = {}


class StoreError(Exception):
    """The host refused or failed a store request; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def connect(request: HostRequest | None) -> None:
    """Set (or, with None, clear) how this interpreter asks its host; either way the in-memory
    store starts empty."""
    global _request
    _request = request
    _local.clear()


def connected() -> bool:
    return _request is not None


async def get(key: str, default: Any = None) -> Any:
    """The value kept under `key`, or `default` when there is none."""
    _check_key(key)
    if _request is None:
        return json.loads(_local[key]) if key in _local else default
    answer = await _ask({"op": "get", "key": key})
    if not isinstance(answer, dict) or not isinstance(answer.get("found"), bool):
        raise StoreError(f"the host's answer to get {key!r} is not a store answer")
    return answer.get("value") if answer["found"] else default


async def set(key: str, value: Any) -> None:
    """Keep `value` (JSON) under `key`, replacing what was there."""
    _check_key(key)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"cloche.store.set({key!r}, ...): the value must be JSON (dict, list, str, int, "
            f"float, bool or None): {error}"
        ) from None
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise ValueError(
            f"cloche.store.set({key!r}, ...): the value is {size} bytes as JSON; "
            f"the store keeps values up to {MAX_VALUE_BYTES}"
        )
    if _request is None:
        if key not in _local and len(_local) >= MAX_KEYS:
            raise StoreError(f"the store already holds {MAX_KEYS} keys, the most it may")
        _local[key] = text
        return
    await _ask({"op": "set", "key": key, "value": json.loads(text)})


async def delete(key: str) -> None:
    """Forget `key` (nothing happens when it is not kept)."""
    _check_key(key)
    if _request is None:
        _local.pop(key, None)
        return
    await _ask({"op": "delete", "key": key})


async def keys() -> list[str]:
    """Every key kept, in order."""
    if _request is None:
        return sorted(_local)
    answer = await _ask({"op": "keys"})
    found = answer.get("keys") if isinstance(answer, dict) else None
    if not (isinstance(found, list) and all(isinstance(k, str) for k in found)):
        raise StoreError("the host's answer to keys is not a list of keys")
    return found


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"a store key must be a str, got {type(key).__name__}")
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a store key must have 1 to {MAX_KEY_LENGTH} characters, got {len(key)}")


async def _ask(params: dict[str, Any]) -> Any:
    assert _request is not None
    try:
        return await _request("cloche/store", params)
    except RpcError as error:
        raise StoreError(f"refused: {error.message}") from None
    except TimeoutError:
        raise StoreError(f"the page's host did not answer the store's {params['op']}") from None


__all__ = ["StoreError", "connect", "connected", "delete", "get", "keys", "set"]
