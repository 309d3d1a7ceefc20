"""Keeping the server's secrets out of everything an upstream says, whole or streamed.

Secrets are replaced in decoded strings, never in encoded JSON: the relay parses every upstream
answer and serialises what it passes on, so a replacement cannot break the JSON, and a secret
hidden behind JSON escapes (`\\u0073k-...`) is seen once decoded. Streamed text is scrubbed per
field across chunks: a field holds back the end of its text while it could be the start of a
secret, so a secret cut in two by the upstream is still caught.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter values (a header set to "1") are not secrets worth the noise
WHOLE_FIELDS = {"role", "id", "name", "type"}  # delta fields that arrive whole, never in pieces
MAX_DELTA_DEPTH = 8

Path = tuple[str | int, ...]  # keys into a delta; an int is the `index` of an item in a list


class Scrubber:
    """Replaces each secret with REDACTED, as written and as JSON escapes it inside a string."""

    def __init__(self, secrets: Iterable[str], then: Callable[[str], str] | None = None) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                forms.add(secret)
                # Tool-call arguments are JSON text: a secret may sit in them escaped.
                forms.add(json.dumps(secret)[1:-1])
                forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        self.forms = sorted(forms, key=len, reverse=True)
        self.then = then  # another scrub to apply after this one
        self.hold = max(map(len, self.forms), default=1) - 1
        self._pattern = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None
        self._firsts = {form[0] for form in self.forms}

    def __repr__(self) -> str:
        return f"Scrubber({len(self.forms)} forms)"  # never the secrets themselves

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return self.then(text) if self.then is not None else text

    def json(self, value: T) -> T:
        """`value` (decoded JSON) with every string and every key scrubbed, changed in place."""
        if self._pattern is None and self.then is None:
            return value
        self._walk(value)
        if isinstance(value, str):
            return self(value)  # type: ignore[return-value]  # a str, as it came
        return value

    def hold_from(self, text: str) -> int:
        """Where the longest end of `text` that could begin a secret starts (len(text) if none)."""
        for start in range(max(0, len(text) - self.hold), len(text)):
            if text[start] in self._firsts:
                tail = text[start:]
                if any(form.startswith(tail) for form in self.forms):
                    return start
        return len(text)

    def _walk(self, value: Any) -> bool:
        """Scrubs containers in place (without recursion: upstream JSON may nest deep)."""
        changed = False
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                for position, item in enumerate(node):
                    if isinstance(item, str):
                        clean = self(item)
                        changed |= clean != item
                        node[position] = clean
                    elif isinstance(item, dict | list):
                        stack.append(item)
            elif isinstance(node, dict):
                renamed = False
                for key, item in list(node.items()):
                    renamed |= self(key) != key
                    if isinstance(item, str):
                        clean = self._json_text(item) if key == "arguments" else self(item)
                        if clean != item:
                            changed = True
                            node[key] = clean
                            if key == "token" and isinstance(node.get("bytes"), list):
                                node["bytes"] = list(clean.encode())  # a logprob's token
                    elif isinstance(item, dict | list):
                        stack.append(item)
                if renamed:
                    changed = True
                    items = list(node.items())
                    node.clear()
                    node.update((self(key), item) for key, item in items)
        return changed

    def _json_text(self, text: str) -> str:
        """Tool-call arguments: JSON that the client decodes again, so scrub it decoded too."""
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):
            return self(text)  # a fragment of a streamed argument, or not JSON at all
        if isinstance(decoded, str):
            clean = self(decoded)
            return text if clean == decoded else json.dumps(clean, ensure_ascii=False)
        if isinstance(decoded, dict | list) and self._walk(decoded):
            return json.dumps(decoded, ensure_ascii=False)
        return self(text)


class HeldText:
    """One streamed text field: scrubbed as a whole, though it arrives in pieces."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber
        self.held = ""

    def push(self, piece: str) -> str:
        """What may be sent now; a possible start of a secret waits for the next piece."""
        pending = self.scrubber(self.held + piece)
        cut = self.scrubber.hold_from(pending)
        self.held = pending[cut:]
        return pending[:cut]

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held


class StreamScrubber:
    """Scrubs a stream of chat.completion.chunk objects, each text field across chunks.

    At most `scrubber.hold` characters of each field wait; they go out with the chunk that
    finishes their choice, or with `tail()` at the end of the stream.
    """

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber
        self.fields: dict[tuple[int, Path], HeldText] = {}
        self.header: dict[str, Any] = {"object": "chat.completion.chunk"}

    def chunk(self, chunk: dict[str, Any]) -> dict[str, Any]:
        """The chunk, scrubbed; its shape must have been checked (choices, deltas, indexes)."""
        if self.scrubber.forms:
            choices = chunk.get("choices")
            for position, choice in enumerate(choices if isinstance(choices, list) else []):
                index = choice.get("index")
                index = index if isinstance(index, int) else position
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._hold(index, delta, ())
                if choice.get("finish_reason") is not None:
                    choice["delta"] = self._flush(index, delta if isinstance(delta, dict) else {})
        for key in ("id", "created", "model"):
            if key in chunk:
                self.header[key] = chunk[key]
        return self.scrubber.json(chunk)

    def tail(self) -> dict[str, Any] | None:
        """A last chunk with whatever text still waits, if any."""
        choices = []
        for index in sorted({i for (i, _), text in self.fields.items() if text.held}):
            choices.append({"index": index, "delta": self._flush(index, {}), "finish_reason": None})
        if not choices:
            return None
        return self.scrubber.json({**self.header, "choices": choices})

    def _hold(self, index: int, node: dict[str, Any], path: Path) -> None:
        if len(path) >= MAX_DELTA_DEPTH:
            return  # left to the whole-string scrub
        for key, value in node.items():
            here = (*path, key)
            if isinstance(value, str) and key not in WHOLE_FIELDS:
                field = self.fields.setdefault((index, here), HeldText(self.scrubber))
                node[key] = field.push(value)
            elif isinstance(value, dict):
                self._hold(index, value, here)
            elif isinstance(value, list):
                for item in value:
                    position = item.get("index") if isinstance(item, dict) else None
                    if isinstance(position, int) and not isinstance(position, bool):
                        self._hold(index, item, (*here, position))

    def _flush(self, index: int, delta: dict[str, Any]) -> dict[str, Any]:
        for (choice, path), text in self.fields.items():
            if choice == index and text.held:
                _append(delta, path, text.flush())
        return delta


def _append(delta: dict[str, Any], path: Path, text: str) -> None:
    """Adds `text` to the string at `path` in `delta`, making the path where it is missing."""
    node = delta
    steps = list(path)
    while len(steps) > 1:
        key = str(steps.pop(0))
        if isinstance(steps[0], int):
            position = steps.pop(0)
            items = node.get(key)
            if not isinstance(items, list):
                items = node[key] = []
            found = next(
                (i for i in items if isinstance(i, dict) and i.get("index") == position), None
            )
            if found is None:
                found = {"index": position}
                items.append(found)
            node = found
        else:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
    key = str(steps[0])
    current = node.get(key)
    node[key] = (current if isinstance(current, str) else "") + text
