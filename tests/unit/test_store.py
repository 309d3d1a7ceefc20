"""cloche.store: a dict in memory under CPython, `cloche/store` requests to the page's host in a
worker (a fake host here)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cloche import store
from cloche._jsonrpc import RpcError


class FakeHost:
    """Keeps values as the page's host does (JSON text per key), recording each request."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.kept: dict[str, str] = {}
        self.refusal: BaseException | None = None

    async def __call__(self, method: str, params: dict[str, Any]) -> Any:
        assert method == "cloche/store"
        self.asked.append(params)
        if self.refusal is not None:
            raise self.refusal
        json.dumps(params)  # all of it must cross as JSON
        op, key = params["op"], params.get("key")
        if op == "get":
            found = key in self.kept
            return {"found": found, "value": json.loads(self.kept[key]) if found else None}
        if op == "set":
            self.kept[key] = json.dumps(params["value"])
            return {}
        if op == "delete":
            self.kept.pop(key, None)
            return {}
        return {"keys": sorted(self.kept)}


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(store, "_request", None)
    monkeypatch.setattr(store, "_local", {})
    yield


@pytest.fixture
def host() -> FakeHost:
    fake = FakeHost()
    store.connect(fake)
    return fake


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _round_trip() -> list[Any]:
    seen = [await store.get("missing"), await store.get("missing", "default")]
    await store.set("b", {"n": 1, "tags": ("x", "y")})
    await store.set("a", "text")
    value = await store.get("b")
    seen += [dict(value), await store.keys()]
    value["n"] = 2  # what was read is a copy
    seen.append(await store.get("b"))
    await store.delete("a")
    await store.delete("never-kept")
    seen.append(await store.keys())
    return seen


EXPECTED = [
    None,
    "default",
    {"n": 1, "tags": ["x", "y"]},
    ["a", "b"],
    {"n": 1, "tags": ["x", "y"]},
    ["b"],
]


def test_under_cpython_the_store_is_a_dict_in_memory() -> None:
    assert not store.connected()
    assert run(_round_trip()) == EXPECTED
    store.connect(None)
    assert run(store.keys()) == [], "connect starts afresh"


def test_in_a_worker_each_operation_is_a_request_to_the_host(host: FakeHost) -> None:
    assert store.connected()
    assert run(_round_trip()) == EXPECTED
    assert host.asked[:3] == [
        {"op": "get", "key": "missing"},
        {"op": "get", "key": "missing"},
        {"op": "set", "key": "b", "value": {"n": 1, "tags": ["x", "y"]}},
    ]
    assert {"op": "keys"} in host.asked and {"op": "delete", "key": "a"} in host.asked


def test_a_stored_null_is_found_and_not_the_default(host: FakeHost) -> None:
    run(store.set("k", None))
    assert run(store.get("k", "default")) is None


def test_the_hosts_refusal_is_a_store_error_with_its_message(host: FakeHost) -> None:
    message = "demo 1.0 declared no store, so it has none"
    host.refusal = RpcError(-32603, message)
    for operation in (store.get("k"), store.set("k", 1), store.delete("k"), store.keys()):
        with pytest.raises(store.StoreError) as caught:
            run(operation)
        assert str(caught.value) == f"refused: {message}"
    host.refusal = TimeoutError()
    with pytest.raises(store.StoreError, match="did not answer the store's get"):
        run(store.get("k"))


@pytest.mark.parametrize("answer", [None, {"value": 1}, {"found": "yes"}])
def test_an_answer_that_is_not_a_store_answer_is_a_store_error(answer: Any) -> None:
    async def host(method: str, params: dict[str, Any]) -> Any:
        return answer

    store.connect(host)
    with pytest.raises(store.StoreError, match="not a store answer"):
        run(store.get("k"))
    with pytest.raises(store.StoreError, match="not a list of keys"):
        run(store.keys())


@pytest.mark.parametrize(
    ("call", "error", "problem"),
    [
        (lambda: store.get(""), ValueError, "1 to 256 characters, got 0"),
        (lambda: store.set("k" * 257, 1), ValueError, "1 to 256 characters, got 257"),
        (lambda: store.delete(5), TypeError, "a store key must be a str, got int"),
        (lambda: store.set("k", {1, 2}), TypeError, r"the value must be JSON"),
        (lambda: store.set("k", float("nan")), TypeError, r"the value must be JSON"),
        (lambda: store.set("k", b"bytes"), TypeError, r"the value must be JSON"),
        (lambda: store.set("k", "x" * 2**20), ValueError, "the store keeps values up to 1048576"),
    ],
)
def test_invalid_keys_and_values_are_refused_before_anything_is_kept(
    host: FakeHost, call: Any, error: type[Exception], problem: str
) -> None:
    with pytest.raises(error, match=problem):
        run(call())
    assert host.asked == []


def test_the_memory_store_keeps_the_pages_limit_on_keys() -> None:
    async def fill() -> None:
        for index in range(store.MAX_KEYS):
            await store.set(f"k{index}", index)
        await store.set("k0", "replacing is fine")
        await store.set("one-too-many", 1)

    with pytest.raises(store.StoreError, match="already holds 1000 keys"):
        run(fill())
