"""Thousands of WASM tool calls in one process, as a long-lived server makes them: every call
gives its expected result, nothing crashes, and memory, temporary folders, open files and threads
stay bounded. The calls mix the first-party tools' normal calls, arguments refused before running,
tools that fail, and the test fixture's misbehaviours: output floods, runs past the deadline and
runs cancelled by the client."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import random
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from wasm_helpers import FIXTURES, TOOL_PACKAGES, primes_up_to

from cloche.wasm_manifest import load_manifest
from cloche_server.wasm import InvalidArguments, ToolFailed, UnknownTool, WasmPackage

CALLS = 3000
WARM_UP = 200
# Measured here: RSS grows by 1.7 MiB over the 2800 calls after the warm-up, and by 1.3 MiB over
# 18,000 (flat from the 4,000th call on). The bound leaves room for allocator noise and still
# catches a leak of 6 KiB a call.
RSS_GROWTH_BOUND = 16 * 2**20
DEADLINE_MS = 50  # the fixture's own deadline is 2 s: too slow to hit dozens of times


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


PRIMES = primes_up_to(20_000)


class Calls:
    """The kinds of call, each making one call with random arguments and checking its result."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tools = {
            p.parent.name: WasmPackage.load(p)
            for p in sorted(TOOL_PACKAGES.glob("*/manifest.json"))
        }
        manifest = load_manifest(FIXTURES / "misbehave" / "manifest.json")
        manifest = dataclasses.replace(
            manifest, limits=dataclasses.replace(manifest.limits, deadline_ms=DEADLINE_MS)
        )
        module = (FIXTURES / "misbehave" / manifest.module).read_bytes()
        self.misbehave = WasmPackage(manifest, module)

    def _text(self, alphabet: str = "abcé ✓\n", most: int = 300) -> str:
        return "".join(self.rng.choices(alphabet, k=self.rng.randrange(most)))

    def _bytes(self) -> bytes:
        return self.rng.randbytes(self.rng.randrange(2000))

    # Normal calls of the first-party tools.

    def digest(self) -> None:
        algorithm = self.rng.choice(["sha256", "sha1", "md5"])
        if self.rng.random() < 0.5:
            data = self._text().encode()
            result = self.tools["hash"].call(algorithm, {"text": data.decode()})
        else:
            data = self._bytes()
            result = self.tools["hash"].call(algorithm, {"base64": base64.b64encode(data).decode()})
        assert result == {
            "algorithm": algorithm,
            "hex": hashlib.new(algorithm, data).hexdigest(),
            "bytes": len(data),
        }

    def codec(self) -> None:
        data = self._bytes()
        b64 = base64.b64encode(data).decode()
        if self.rng.random() < 0.5:
            assert self.tools["codec"].call("hex_encode", {"base64": b64}) == {"hex": data.hex()}
        else:
            result = self.tools["codec"].call("hex_decode", {"hex": data.hex()})
            assert (result["base64"], result["bytes"]) == (b64, len(data))

    def search(self) -> None:
        text = self._text("ab c\n", 500)
        pattern = self.rng.choice(["ab", "a+b", "b c", "[ab]{2,3}"])
        expected = [
            {"start": m.start(), "end": m.end(), "match": m.group(0), "groups": []}
            for m in re.finditer(pattern, text)
        ]
        result = self.tools["grep"].call("search", {"pattern": pattern, "text": text})
        assert result == {"matches": expected, "count": len(expected), "truncated": False}

    def analyze(self) -> None:
        text = self._text("ab cd\n", 500)
        result = self.tools["textstats"].call("analyze", {"text": text})
        assert result["characters"] == len(text)
        assert result["words"] == len(text.split())

    def count_primes(self) -> None:
        limit = self.rng.randrange(20_000)
        primes = [p for p in PRIMES if p <= limit]
        assert self.tools["primes"].call("count", {"limit": limit}) == {
            "limit": limit,
            "count": len(primes),
            "largest": primes[-1] if primes else None,
        }

    def factor(self) -> None:
        n = self.rng.randrange(2, 10**9)
        factors = self.tools["primes"].call("factor", {"n": n})["factors"]
        product = 1
        for factor in factors:
            product *= factor
        assert product == n

    # Calls refused before running, and tools that fail by their own rules.

    def invalid_arguments(self) -> None:
        cases: list[tuple[str, dict[str, Any]]] = [
            ("hash.sha256", {"text": 3}),
            ("hash.md5", {"base64": "YQ"}),
            ("primes.count", {}),
            ("grep.search", {"pattern": "a"}),
            ("textstats.analyze", {"text": "", "colour": "red"}),
        ]
        tool, arguments = self.rng.choice(cases)
        package, _, name = tool.partition(".")
        with pytest.raises(InvalidArguments):
            self.tools[package].call(name, arguments)

    def unknown_tool(self) -> None:
        with pytest.raises(UnknownTool):
            self.tools["hash"].call("sha512", {"text": "a"})

    def tool_fails(self) -> None:
        cases: list[tuple[str, str, dict[str, Any], str]] = [
            ("hash", "sha1", {"text": "a", "base64": "YQ=="}, "exactly one"),
            ("codec", "hex_decode", {"hex": "abc"}, "odd number"),
            ("grep", "search", {"pattern": "(", "text": "x"}, "invalid pattern"),
        ]
        package, name, arguments, message = self.rng.choice(cases)
        with pytest.raises(ToolFailed, match=message):
            self.tools[package].call(name, arguments)

    # The fixture's misbehaviours.

    def misbehaves(self) -> None:
        tool, message = self.rng.choice(
            [
                ("trap", "the tool crashed: wasm trap"),
                ("bad_json", "the tool wrote invalid JSON"),
                ("exit_silently", "the tool exited with status 3"),
                ("fail", "failed on purpose"),
            ]
        )
        with pytest.raises(ToolFailed, match=re.escape(message)):
            self.misbehave.call(tool, {})

    def echo(self) -> None:
        text = self._text()
        assert self.misbehave.call("echo", {"text": text}) == {"text": text}

    def flood(self) -> None:
        with pytest.raises(ToolFailed, match="output exceeded its limit of 65536 bytes"):
            self.misbehave.call("flood", {})

    def deadline(self) -> None:
        with pytest.raises(ToolFailed, match=f"deadline of {DEADLINE_MS} ms"):
            self.misbehave.call("loop", {})

    def cancel(self) -> None:
        cancel = threading.Event()
        timer = threading.Timer(self.rng.uniform(0.001, 0.02), cancel.set)
        timer.start()
        with pytest.raises(ToolFailed, match="cancelled by the client"):
            self.misbehave.call("loop", {}, cancel=cancel)
        timer.join()


# Relative weights: mostly normal calls, as a server sees them.
KINDS: dict[str, int] = {
    "digest": 20,
    "codec": 12,
    "search": 12,
    "analyze": 10,
    "count_primes": 10,
    "factor": 8,
    "invalid_arguments": 8,
    "unknown_tool": 1,
    "tool_fails": 5,
    "misbehaves": 4,
    "echo": 4,
    "flood": 3,
    "deadline": 1,
    "cancel": 2,
}


def test_thousands_of_mixed_calls_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each call's temporary folder goes under tmp_path, where nothing else runs, so a leftover
    # is ours (other processes on the machine may use the system temporary folder meanwhile).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    calls = Calls(random.Random(2026))
    rng = random.Random(7)
    plan = rng.choices(list(KINDS), weights=list(KINDS.values()), k=CALLS)
    assert set(plan) == set(KINDS)
    done: Counter[str] = Counter()
    started = time.monotonic()
    threads = files = rss_warm = 0
    for index, kind in enumerate(plan):
        if index == WARM_UP:
            threads, files, rss_warm = threading.active_count(), _open_files(), _rss()
        try:
            getattr(calls, kind)()
        except BaseException as error:
            raise AssertionError(f"call {index} ({kind}) went wrong: {error}") from error
        done[kind] += 1
    seconds = time.monotonic() - started
    rss_end = _rss()
    growth = rss_end - rss_warm
    print(
        f"{CALLS} calls in {seconds:.1f} s; RSS after {WARM_UP} calls {rss_warm / 2**20:.1f} MiB, "
        f"after all {rss_end / 2**20:.1f} MiB; {dict(done)}"
    )
    assert sum(done.values()) == CALLS
    assert growth < RSS_GROWTH_BOUND, f"RSS grew by {growth / 2**20:.1f} MiB"
    assert list(tmp_path.iterdir()) == []
    # No more than after the warm-up: the rest of the test process (earlier tests' pipes and
    # processes collected meanwhile) may close some, never the calls open any for good.
    assert _open_files() <= files
    assert threading.active_count() <= threads
