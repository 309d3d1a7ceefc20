#!/usr/bin/env python3
"""Benchmark rows for `cloche mcp` over stdio, driving the real command with raw JSON-RPC lines.

  - a Python tool's first call from a cold start: from starting `cloche mcp --only
    cloche-tools-text` until its first `text.stats` answer (initialize, notifications/initialized,
    then the call, as an agent sends them), the median of a few starts;
  - a warm WASM call's round trip (`hash.sha256` of short text), p50 and p99 of sequential calls,
    and calls a second with 16 in flight;
  - a warm Python call's round trip (`text.stats` of short text), p50 and p99;
  - the same WASM call in this process, without the transport (`WasmPackage.call`), to compare,
    taking turns call by call with those over stdio;
  - the same WASM call as a 2026-07-28 request (its envelope in `_meta`, answered statelessly),
    taking turns with the same call in the server's 2025 session; and the same over Streamable
    HTTP (`cloche mcp --http`, httpx, one connection), where each 2026-07-28 request gets a server
    of its own and its headers are checked against its body;
  - a Python call past its deadline (`--call-timeout 2000`, python.run `while True: pass` in
    session "s") to the next result of that session (`1`): its fresh process's boot, as the
    caller sees it;
  - memory: the server's RSS (VmRSS) after the WASM calls, and the PSS of each Deno process
    (/proc/<pid>/smaps_rollup).

No MCP SDK: a request is one line on the server's stdin and its reply one line on its stdout, so
the figures are the server's and the pipes', not a client library's. Everything is local (stdio
pipes; the server's Deno processes get no network); every process started here, and any Deno
process of the server still running when it has ended, is ended by its pid at the end.

    .venv/bin/python scripts/bench_mcp.py [--quick] [--wasm-calls 2000] [--python-calls 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "py_runtime"))
from bench_rows import Row, format_table, median, percentile  # noqa: E402

SECTION = "cloche mcp (stdio)"
DIST = ROOT / "dist"
PROTOCOL_VERSION = "2025-11-25"
# A 2026-07-28 request's envelope: the version and the client's capabilities, on every request.
MODERN_VERSION = "2026-07-28"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench_mcp", "version": "0"},
}
CALL_TIMEOUT_MS = 2000  # --call-timeout of the server that runs the deadline row
WINDOW = 16  # calls in flight for the throughput row
REPLY_TIMEOUT_S = 180.0  # a boot on a loaded machine is slow; a hung server is not waited on longer
WASM_CALL = ("hash.sha256", {"text": "abc"})
PYTHON_CALL = ("text.stats", {"text": "one two three"})


class McpProcess:
    """One `cloche mcp` over stdio, spoken to in raw newline-delimited JSON-RPC."""

    def __init__(self, *options: str) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        command = [sys.executable, "-m", "cloche_server.cli", "mcp", "--dist", str(DIST)]
        self.process = subprocess.Popen(
            [*command, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=ROOT,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin
        self._stdout_file = self.process.stdout
        self._stdout = self.process.stdout.fileno()
        self._buffer = b""
        self._ids = 0
        self.pid = self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        self._stdin.write(json.dumps(message).encode() + b"\n")

    def request_line(self, method: str, params: dict[str, Any]) -> int:
        """Send a request and return its id (without waiting for the reply)."""
        self._ids += 1
        self.send({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        return self._ids

    def receive(self, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        """The next reply (notifications are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._stdout], [], [], left)[0]:
                    raise TimeoutError(f"cloche mcp did not answer within {timeout:g} s")
                chunk = os.read(self._stdout, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"cloche mcp ended{self.stderr_tail()}")
                self._buffer += chunk
            line, _, self._buffer = self._buffer.partition(b"\n")
            message: dict[str, Any] = json.loads(line)
            if "id" in message:
                return message

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        sent = self.request_line(method, params)
        reply = self.receive()
        if reply.get("id") != sent or "result" not in reply:
            raise RuntimeError(f"{method}: unexpected reply {reply}")
        result: dict[str, Any] = reply["result"]
        return result

    def initialize(self) -> None:
        self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "bench_mcp", "version": "0"},
            },
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(
        self, name: str, arguments: dict[str, Any], ok: bool = True, modern: bool = False
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if modern:
            params["_meta"] = ENVELOPE
        result = self.request("tools/call", params)
        if ok and result.get("isError"):
            raise RuntimeError(f"{name} failed: {result}")
        return result

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError):
            self.stderr.seek(0)
            text = self.stderr.read().decode("utf-8", "replace").strip()
            if text:
                return "; its stderr ends with:\n" + "\n".join(text.splitlines()[-10:])
        return ""

    def deno_processes(self) -> list[Process]:
        return [p for p in descendants(self.pid) if p.name == "deno"]

    def close(self) -> None:
        """End of stdin ends the server, which ends its Deno processes; any process of its tree
        still there after that is ended here, by pid."""
        tree = descendants(self.pid)
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for leftover in tree:
            if leftover.alive():
                with contextlib.suppress(OSError):
                    os.kill(leftover.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self._stdout_file.close()
        self.stderr.close()

    def __enter__(self) -> McpProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# -- processes (Linux /proc) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    pid: int
    started: int  # start time in clock ticks since boot: tells a reused pid apart
    name: str
    arguments: tuple[str, ...]

    def alive(self) -> bool:
        found = _process(self.pid)
        return found is not None and found.started == self.started

    @property
    def packages(self) -> str:
        """A Deno process's packages: its command line after the entry script."""
        entry = next((i for i, a in enumerate(self.arguments) if a.endswith(".js")), None)
        return " ".join(self.arguments[entry + 1 :]) if entry is not None else "?"


def _process(pid: int) -> Process | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None
    started = int(fields[19])
    return Process(pid, started, name, tuple(a.decode(errors="replace") for a in arguments if a))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[Process]:
    out: list[Process] = []
    todo = _children(pid)
    while todo:
        child = todo.pop()
        process = _process(child)
        if process is not None:
            out.append(process)
            todo += _children(child)
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total


def settle(server: McpProcess, deno_count: int, timeout: float = 120.0) -> None:
    """Wait until the server has `deno_count` Deno processes and none of its tree is busy (less
    than a tenth of a core over half a second): a booting process must not share the CPU with a
    timed call."""
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [server.pid, *(p.pid for p in descendants(server.pid))]
        before = cpu_ticks(pids)
        time.sleep(0.5)
        used = (cpu_ticks(pids) - before) / ticks
        if len(server.deno_processes()) >= deno_count and used < 0.05:
            return
    raise TimeoutError(f"the server's processes did not settle within {timeout:g} s")


def memory_kib(path: Path, keys: tuple[str, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in keys:
            found[key] = int(rest.split()[0])
    return found


def mb(kib: float) -> str:
    return f"{kib * 1024 / 1e6:.1f} MB"


def ms(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f} ms"


def spread(values: list[float], digits: int = 0) -> str:
    return f"median of {len(values)}, {min(values):.{digits}f}-{max(values):.{digits}f} ms"


# -- the measures ----------------------------------------------------------------------------------


def cold_start(runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds from starting the server to its first text.stats result, and to its
    initialize reply (the server's own start), one of each a run."""
    first, initialized = [], []
    for _ in range(runs):
        started = time.perf_counter()
        with McpProcess("--only", "cloche-tools-text") as server:
            server.initialize()
            initialized.append((time.perf_counter() - started) * 1000)
            server.call(*PYTHON_CALL)
            first.append((time.perf_counter() - started) * 1000)
    return first, initialized


def sequential(server: McpProcess, call: tuple[str, dict[str, Any]], count: int) -> list[float]:
    """Milliseconds of each of `count` calls, one at a time, after a tenth as many untimed."""
    for _ in range(max(5, count // 10)):
        server.call(*call)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        server.call(*call)
        times.append((time.perf_counter() - started) * 1000)
    return times


def in_flight(server: McpProcess, call: tuple[str, dict[str, Any]], count: int) -> float:
    """Calls a second with WINDOW calls in flight: each reply lets the next call go."""
    name, arguments = call
    params = {"name": name, "arguments": arguments}
    sent = answered = 0
    started = time.perf_counter()
    while answered < count:
        while sent < count and sent - answered < WINDOW:
            server.request_line("tools/call", params)
            sent += 1
        reply = server.receive()
        if "result" not in reply or reply["result"].get("isError"):
            raise RuntimeError(f"{name} failed: {reply}")
        answered += 1
    return count / (time.perf_counter() - started)


def wasm_interleaved(server: McpProcess, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each of `count` WASM calls over stdio, and of the same call made in this
    process with WasmPackage.call (no transport), taking turns call by call so that both see the
    same machine state; a tenth as many of each untimed first."""
    from cloche_server.wasm import WasmPackage

    package = WasmPackage.load(DIST / "wasm" / "hash" / "manifest.json")
    tool = WASM_CALL[0].split(".", 1)[1]
    for _ in range(max(5, count // 10)):
        server.call(*WASM_CALL)
        package.call(tool, WASM_CALL[1])
    remote, local = [], []
    for _ in range(count):
        started = time.perf_counter()
        server.call(*WASM_CALL)
        remote.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        package.call(tool, WASM_CALL[1])
        local.append((time.perf_counter() - started) * 1000)
    return remote, local


def eras_interleaved(server: McpProcess, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each of `count` WASM calls in the server's 2025 session and as 2026-07-28
    requests, taking turns call by call; a tenth as many of each untimed first."""
    for _ in range(max(5, count // 10)):
        server.call(*WASM_CALL)
        server.call(*WASM_CALL, modern=True)
    legacy, modern = [], []
    for _ in range(count):
        started = time.perf_counter()
        server.call(*WASM_CALL)
        legacy.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        if server.call(*WASM_CALL, modern=True).get("resultType") != "complete":
            raise RuntimeError("a 2026-07-28 call was not answered as one")
        modern.append((time.perf_counter() - started) * 1000)
    return legacy, modern


HTTP_PORT = 8805


def http_eras(count: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each of `count` WASM calls over Streamable HTTP in a 2025 session and as
    2026-07-28 requests, taking turns call by call; a tenth as many of each untimed first."""
    import httpx

    url = f"http://127.0.0.1:{HTTP_PORT}/mcp"
    command = [sys.executable, "-m", "cloche_server.cli", "mcp", "--dist", str(DIST)]
    options = ["--http", f"127.0.0.1:{HTTP_PORT}", "--no-token", "--only", "hash"]
    options += ["--requests-per-minute", "1000000"]  # the bench is one client, on purpose busy
    server = subprocess.Popen(
        [*command, *options], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    name, arguments = WASM_CALL
    try:
        with httpx.Client(timeout=REPLY_TIMEOUT_S) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    http.get(url)
                    break
                time.sleep(0.1)
            init = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {}}
            opened = http.post(url, headers=accept, json=_rpc(0, "initialize", init))
            session = {**accept, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
            http.post(
                url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
            )
            modern_headers = {
                **accept,
                "MCP-Protocol-Version": MODERN_VERSION,
                "Mcp-Method": "tools/call",
                "Mcp-Name": name,
            }
            legacy_call = {"name": name, "arguments": arguments}
            modern_call = {**legacy_call, "_meta": ENVELOPE}

            def timed(headers: dict[str, str], params: dict[str, Any]) -> float:
                started = time.perf_counter()
                reply = http.post(url, headers=headers, json=_rpc(1, "tools/call", params))
                if reply.status_code != 200 or '"structuredContent"' not in reply.text:
                    raise RuntimeError(f"an HTTP call failed: {reply.status_code} {reply.text}")
                return (time.perf_counter() - started) * 1000

            for _ in range(max(5, count // 10)):
                timed(session, legacy_call)
                timed(modern_headers, modern_call)
            legacy, modern = [], []
            for _ in range(count):
                legacy.append(timed(session, legacy_call))
                modern.append(timed(modern_headers, modern_call))
            return legacy, modern
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _rpc(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def restarts(server: McpProcess, runs: int) -> tuple[list[float], list[float]]:
    """For each run: ms from the deadline error of a stuck python.run call to the next result of
    the same session, and ms the stuck call took."""
    after, stuck = [], []
    # The session's first call takes python.run's spare, and a new spare boots: let it finish, so
    # that no other boot shares the CPU with the timed ones.
    server.call("python.run", {"code": "0", "session": "s"})
    settle(server, deno_count=3)
    for _ in range(runs):
        started = time.perf_counter()
        result = server.call("python.run", {"code": "while True: pass", "session": "s"}, ok=False)
        failed = time.perf_counter()
        text = json.dumps(result)
        if not result.get("isError") or f"did not finish within {CALL_TIMEOUT_MS} ms" not in text:
            raise RuntimeError(f"the stuck call did not end at its deadline: {result}")
        answer = server.call("python.run", {"code": "1", "session": "s"})
        after.append((time.perf_counter() - failed) * 1000)
        stuck.append((failed - started) * 1000)
        if (answer.get("structuredContent") or {}).get("value") != "1":
            raise RuntimeError(f"python.run after the deadline: {answer}")
    return after, stuck


def measure(
    wasm_calls: int = 2000, python_calls: int = 300, boots: int = 3, deadline_runs: int = 3
) -> list[Row]:
    """The rows of `cloche mcp` over stdio, all measured in this one run."""
    if not (DIST / "registry.json").is_file():
        raise RuntimeError(f"{DIST} is not built: run scripts/build (scripts/bench does)")
    first, initialized = cold_start(boots)
    options = ("--only", "hash", "--only", "cloche-tools-text", "--only", "cloche-tools-python")
    with McpProcess(*options, "--call-timeout", str(CALL_TIMEOUT_MS)) as server:
        server.initialize()
        server.call(*PYTHON_CALL)  # the text process is up
        settle(server, deno_count=2)  # and python.run's spare too
        wasm, local = wasm_interleaved(server, wasm_calls)
        legacy, modern = eras_interleaved(server, wasm_calls)
        rate = in_flight(server, WASM_CALL, wasm_calls)
        rss = memory_kib(Path(f"/proc/{server.pid}/status"), ("VmRSS",))["VmRSS"]
        deno: list[tuple[str, dict[str, int]]] = []
        for process in sorted(server.deno_processes(), key=lambda p: p.packages):
            rollup = Path(f"/proc/{process.pid}/smaps_rollup")
            with contextlib.suppress(OSError, KeyError):
                deno.append((process.packages, memory_kib(rollup, ("Pss", "Pss_Anon"))))
        python = sequential(server, PYTHON_CALL, python_calls)
        after, stuck = restarts(server, deadline_runs)

    http_legacy, http_modern = http_eras(max(100, wasm_calls // 4))
    overhead = percentile(wasm, 0.5) - percentile(local, 0.5)
    rows = [
        Row(SECTION, "Python tool's first call, from starting the server", ms(median(first), 0),
            note=f"text.stats, `--only cloche-tools-text`; {spread(first)}; initialize answered "
            f"after {median(initialized):.0f} ms (the server's own start)"),
        Row(SECTION, "WASM call round trip (hash.sha256, short text)", ms(percentile(wasm, 0.5)),
            ms(percentile(wasm, 0.99)), note=f"{len(wasm)} sequential calls over stdio"),
        Row(SECTION, f"WASM calls a second, {WINDOW} in flight", f"{rate:.0f} /s",
            note=f"{wasm_calls} calls, each reply letting the next go; one at a time (the row "
            f"above): {1000 * len(wasm) / sum(wasm):.0f} /s"),
        Row(SECTION, "the same WASM call in-process, no transport", ms(percentile(local, 0.5)),
            ms(percentile(local, 0.99)),
            note=f"WasmPackage.call, {len(local)} calls taking turns with those over stdio, "
            f"which add {overhead:.2f} ms"),
        Row(SECTION, "the same WASM call as a 2026-07-28 request", ms(percentile(modern, 0.5)),
            ms(percentile(modern, 0.99)),
            note=f"its envelope in _meta, answered statelessly; {len(modern)} calls taking turns "
            f"with the same call in the 2025 session ({ms(percentile(legacy, 0.5))} p50): "
            f"{percentile(modern, 0.5) / percentile(legacy, 0.5):.2f}x"),
        Row(SECTION, "the same WASM call over HTTP as a 2026-07-28 request",
            ms(percentile(http_modern, 0.5)), ms(percentile(http_modern, 0.99)),
            note=f"cloche mcp --http, one connection; {len(http_modern)} calls taking turns with "
            f"the same call in a 2025 session ({ms(percentile(http_legacy, 0.5))} p50): "
            f"{percentile(http_modern, 0.5) / percentile(http_legacy, 0.5):.2f}x"),
        Row(SECTION, "Python call round trip (text.stats, short text)",
            ms(percentile(python, 0.5)), ms(percentile(python, 0.99)),
            note=f"{len(python)} sequential calls over stdio to its Deno process"),
        Row(SECTION, "python.run past its deadline, to the session's next result",
            ms(median(after), 0),
            note=f"--call-timeout {CALL_TIMEOUT_MS}: a fresh process's boot as the caller sees it;"
            f" {spread(after)}; the stuck call answered after {median(stuck):.0f} ms"),
        Row(SECTION, "server process RSS, after the WASM calls", mb(rss),
            note="VmRSS of cloche mcp (CPython, wasmtime, the hash module compiled)"),
    ]  # fmt: skip
    for packages, pss in deno:
        what = "python.run's spare" if packages == "cloche-tools-python" else "one call made"
        rows.append(
            Row(SECTION, f"Deno process PSS, {packages}", mb(pss["Pss"]),
                note=f"Pyodide in Deno, idle ({what}); {mb(pss.get('Pss_Anon', 0))} of it "
                "anonymous")
        )  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few runs of each, to try it out")
    parser.add_argument("--wasm-calls", type=int, default=2000, help="WASM calls per row (2000)")
    parser.add_argument("--python-calls", type=int, default=300, help="Python calls (300)")
    parser.add_argument("--boots", type=int, default=3, help="cold starts, and deadline runs (3)")
    args = parser.parse_args()
    if args.quick:
        rows = measure(200, 30, 1, 1)
    else:
        rows = measure(args.wasm_calls, args.python_calls, args.boots, args.boots)
    print(format_table(rows, "cloche mcp over stdio (and HTTP for one row), raw JSON-RPC"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
