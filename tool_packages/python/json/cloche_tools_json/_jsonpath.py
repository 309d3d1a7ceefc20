"""A JSONPath subset (RFC 9535): names, indices, slices, wildcards, descendants, filters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Node = tuple[str, Any]  # (normalized path, value)
Selector = Callable[[Node], Iterator[Node]]
Condition = Callable[[Any, Any], bool]  # (current item, root) -> bool

_NAME = re.compile(r"[A-Za-z_\u0080-\U0010ffff][\w\u0080-\U0010ffff]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INT = re.compile(r"-?\d+")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class PathError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")


def _key(name: str) -> str:
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _children(node: Node) -> Iterator[Node]:
    path, value = node
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + _key(key), item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item


def _descendants(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _descendants(child)


def _name_selector(name: str) -> Selector:
    def select(node: Node) -> Iterator[Node]:
        path, value = node
        if isinstance(value, dict) and name in value:
            yield path + _key(name), value[name]

    return select


def _index_selector(index: int) -> Selector:
    def select(node: Node) -> Iterator[Node]:
        path, value = node
        if isinstance(value, list) and -len(value) <= index < len(value):
            position = index % len(value)
            yield f"{path}[{position}]", value[position]

    return select


def _slice_selector(start: int | None, stop: int | None, step: int | None) -> Selector:
    def select(node: Node) -> Iterator[Node]:
        path, value = node
        if isinstance(value, list) and step != 0:
            for position in range(len(value))[slice(start, stop, step)]:
                yield f"{path}[{position}]", value[position]

    return select


def _filter_selector(condition: Condition, root: list[Any]) -> Selector:
    def select(node: Node) -> Iterator[Node]:
        for child in _children(node):
            if condition(child[1], root[0]):
                yield child

    return select


@dataclass
class _Parser:
    text: str
    pos: int = 0

    def error(self, message: str) -> PathError:
        return PathError(message, self.pos)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\n":
            self.pos += 1

    def take(self, token: str) -> bool:
        self.skip_space()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise self.error(f"expected {token!r}")

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        found = pattern.match(self.text, self.pos)
        if not found:
            return None
        self.pos = found.end()
        return found.group(0)

    # -- segments ------------------------------------------------------------------------------

    def segments(
        self, root: list[Any], relative: bool = False
    ) -> list[tuple[bool, list[Selector]]]:
        segments = []
        while True:
            if self.text.startswith("..", self.pos):
                self.pos += 2
                segments.append((True, self.dot_or_brackets(root)))
            elif self.text.startswith(".", self.pos):
                self.pos += 1
                segments.append((False, self.dot_member()))
            elif self.text.startswith("[", self.pos):
                segments.append((False, self.brackets(root)))
            elif relative or self.pos >= len(self.text):
                return segments
            else:
                raise self.error(f"unexpected {self.text[self.pos]!r}")

    def dot_or_brackets(self, root: list[Any]) -> list[Selector]:
        if self.text.startswith("[", self.pos):
            return self.brackets(root)
        return self.dot_member()

    def dot_member(self) -> list[Selector]:
        if self.text.startswith("*", self.pos):
            self.pos += 1
            return [_children]
        found = _NAME.match(self.text, self.pos)
        if not found:
            raise self.error("expected a member name")
        self.pos = found.end()
        return [_name_selector(found.group(0))]

    def brackets(self, root: list[Any]) -> list[Selector]:
        self.expect("[")
        selectors = [self.selector(root)]
        while self.take(","):
            selectors.append(self.selector(root))
        self.expect("]")
        return selectors

    def selector(self, root: list[Any]) -> Selector:
        self.skip_space()
        if self.take("*"):
            return _children
        if self.take("?"):
            return _filter_selector(self.or_condition(root), root)
        if self.text[self.pos : self.pos + 1] in ("'", '"'):
            return _name_selector(self.string())
        parts: list[int | None] = []
        while True:
            number = self.match(_INT)
            parts.append(int(number) if number is not None else None)
            if not self.take(":"):
                break
        if len(parts) == 1:
            if parts[0] is None:
                raise self.error("expected a name, index, slice, * or ?filter")
            return _index_selector(parts[0])
        if len(parts) > 3:
            raise self.error("a slice has at most start:stop:step")
        start, stop, step = [*parts, None][:3]
        return _slice_selector(start, stop, step)

    def string(self) -> str:
        quote = self.text[self.pos]
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error("unterminated string")
        raw = self.text[self.pos + 1 : end]
        self.pos = end + 1
        try:
            return str(json.loads('"' + raw.replace("\\'", "'").replace('"', '\\"') + '"'))
        except ValueError:
            raise self.error("invalid escape in string") from None

    # -- filters -------------------------------------------------------------------------------

    def or_condition(self, root: list[Any]) -> Condition:
        options = [self.and_condition(root)]
        while self.take("||"):
            options.append(self.and_condition(root))
        return lambda item, doc: any(option(item, doc) for option in options)

    def and_condition(self, root: list[Any]) -> Condition:
        parts = [self.unary(root)]
        while self.take("&&"):
            parts.append(self.unary(root))
        return lambda item, doc: all(part(item, doc) for part in parts)

    def unary(self, root: list[Any]) -> Condition:
        if self.take("!"):
            inner = self.unary(root)
            return lambda item, doc: not inner(item, doc)
        if self.take("("):
            inner = self.or_condition(root)
            self.expect(")")
            return inner
        left = self.operand(root)
        for op in _COMPARISONS:
            if self.take(op):
                right = self.operand(root)
                return lambda item, doc, op=op: _compare(op, left(item, doc), right(item, doc))
        return lambda item, doc: left(item, doc) is not _NOTHING

    def operand(self, root: list[Any]) -> Callable[[Any, Any], Any]:
        self.skip_space()
        char = self.text[self.pos : self.pos + 1]
        if char in ("@", "$"):
            self.pos += 1
            segments = self.segments(root, relative=True)
            return lambda item, doc: _single(segments, item if char == "@" else doc)
        if char in ("'", '"'):
            text = self.string()
            return lambda item, doc: text
        number = self.match(_NUMBER)
        if number is not None:
            value = json.loads(number)
            return lambda item, doc: value
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.take(word):
                return lambda item, doc, literal=literal: literal
        raise self.error("expected @, $, a string, a number, true, false or null")


class _Nothing:
    """What a filter path gives when it selects nothing (unlike null, which is a value)."""


_NOTHING = _Nothing()


def _single(segments: list[tuple[bool, list[Selector]]], value: Any) -> Any:
    nodes = _apply(segments, [("$", value)])
    return nodes[0][1] if len(nodes) == 1 else _NOTHING


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "!="):
        same = _same(left, right)
        return same if op == "==" else not same
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    strings = isinstance(left, str) and isinstance(right, str)
    if not (numbers or strings):
        return op in ("<=", ">=") and _same(left, right)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def _apply(segments: list[tuple[bool, list[Selector]]], nodes: list[Node]) -> list[Node]:
    for descendant, selectors in segments:
        targets = [d for n in nodes for d in _descendants(n)] if descendant else nodes
        nodes = [found for target in targets for s in selectors for found in s(target)]
    return nodes


def query(document: Any, path: str) -> list[Node]:
    """Every node `path` selects in `document`, in document order, as (path, value)."""
    root = [document]
    path = path.strip()
    if not path.startswith(("$", ".", "[")):
        path = "$." + path  # a bare `store.book` means `$.store.book`
    parser = _Parser(path)
    if parser.text.startswith("$"):
        parser.pos = 1
    segments = parser.segments(root)
    return _apply(segments, [("$", document)])
