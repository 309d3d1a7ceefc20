"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned in
package.json) against `cloche mcp --http`, in both eras: each scenario that applies to a server of
tools, at 2025-11-25 (initialize, sessions) and at 2026-07-28 (stateless, per-request envelope).

Scenarios left out, and why: resources-*, prompts-*, completion-complete, sep-2164 (Cloche serves
tools only); tools-call-sampling, tools-call-elicitation, elicitation-*, input-required-* (a Cloche
tool never asks the client for anything); tools-call-image/-audio/-embedded-resource/-mixed-content
(a Cloche tool returns text and structured content only); json-schema-2020-12 (its tool's schema
uses $schema, $defs, $anchor, allOf and if/then/else, which no Cloche tool declares);
http-custom-header-server-validation (no Cloche tool declares `x-mcp-header` parameters);
server-sse-polling (Cloche's streams are not resumable: no event ids, no Last-Event-ID replay);
tasks-* and sep-2640 skills (extensions Cloche does not offer).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cloche_mcp import _command

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules/node/bin/node"  # npm's `node` package: the suite needs Node >= 22
SUITE = ROOT / "node_modules/@modelcontextprotocol/conformance/dist/index.js"
ALIAS_PRELOAD = ROOT / "tests/fixtures/conformance_tools/alias_tool_names.mjs"
PORT = 8803
URL = f"http://127.0.0.1:{PORT}/mcp"
LEGACY, MODERN = "2025-11-25", "2026-07-28"

# The suite calls its tools by bare names; Cloche lists them as `conformance.<name>`
# (tests/fixtures/conformance_tools). The preload renames them in outgoing tools/call requests.
ALIASES = {
    name: f"conformance.{name}"
    for name in (
        "test_simple_text",
        "test_error_handling",
        "test_tool_with_progress",
        "test_tool_with_logging",
    )
} | {"test_logging_tool": "conformance.test_tool_with_logging"}

SCENARIOS = {
    LEGACY: [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "logging-set-level",
        "tools-list",
        "tools-call-simple-text",
        "tools-call-error",
        "tools-call-with-progress",
        "tools-call-with-logging",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ],
    MODERN: [
        "server-stateless",
        "tools-list",
        "tools-call-simple-text",
        "tools-call-error",
        "tools-call-with-progress",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
    ],
}

# Checks of applicable scenarios that cannot pass against a server of tools, with the reason.
# Each must still fail (or warn): one that passes is a stale entry, like a strict xfail.
NOT_FOR_A_TOOL_SERVER = {
    ("caching", "sep-2549-prompts-list-caching-hints"): "no prompts (-32601)",
    ("caching", "sep-2549-resources-list-caching-hints"): "no resources (-32601)",
    ("caching", "sep-2549-resources-templates-list-caching-hints"): "no resources (-32601)",
    ("server-stateless", "sep-2575-server-rejects-undeclared-capability"): (
        "needs a tool requiring the client's sampling capability (test_missing_capability)"
    ),
    ("server-stateless", "sep-2575-missing-capability-http-400"): "the same tool",
    ("server-stateless", "sep-2575-http-server-no-independent-requests-on-stream"): (
        "needs a tool that elicits (test_streaming_elicitation)"
    ),
    ("server-stateless", "sep-2575-server-sends-tools-list-changed-on-subscription"): (
        "a warning: needs a tool that changes the tool list (test_trigger_tool_change)"
    ),
}


def _port_open() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", PORT), timeout=1):
        return True
    return False


@pytest.fixture(scope="module")
def server(conformance_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if not NODE.is_file() or not SUITE.is_file():
        pytest.fail("node_modules lacks npm's node 22 or the conformance suite: run `npm ci`")
    if _port_open():
        pytest.fail(f"port {PORT} is taken: the suite would test another server")
    log_path = tmp_path_factory.mktemp("conformance-server") / "stderr.txt"
    log = log_path.open("w")
    # Loopback only, no token: the suite sends none. The suite's localhost page origin is allowed
    # (cloche mcp refuses every web origin by default) for dns-rebinding-protection's positive case.
    process = subprocess.Popen(
        [
            sys.executable,
            *_command("--dist", str(conformance_dist), "--only", "cloche-conformance-tools"),
            *("--http", f"127.0.0.1:{PORT}", "--no-token"),
            *("--allowed-origin", f"http://127.0.0.1:{PORT}", "--requests-per-minute", "100000"),
        ],
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while not _port_open():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"cloche mcp --http did not start: {log_path.read_text()}")
        time.sleep(0.1)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _run(scenario: str, era: str, out: Path) -> tuple[list[dict[str, str]], str]:
    """The suite's checks for one scenario at one protocol revision, and its output."""
    env = {**os.environ, "CLOCHE_TOOL_ALIASES": json.dumps(ALIASES), "NO_COLOR": "1"}
    command = [str(NODE), "--import", ALIAS_PRELOAD.as_uri(), str(SUITE), "server"]
    command += ["--url", URL, "--scenario", scenario, "--spec-version", era, "-o", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    found = sorted(out.glob("*/checks.json"))
    checks = json.loads(found[0].read_text()) if found else []
    return checks, done.stdout + done.stderr


def _tally(era: str, scenario: str, checks: list[dict[str, str]]) -> tuple[str, list[str]]:
    """One table row for a scenario's checks, and what went wrong."""
    counts = {"passed": 0, "FAILED": 0, "not for a tool server": 0}
    problems = []
    for check in checks:
        failed = check["status"] in ("FAILURE", "WARNING")
        expected = (scenario, check["id"]) in NOT_FOR_A_TOOL_SERVER
        if failed and expected:
            counts["not for a tool server"] += 1
        elif failed:
            counts["FAILED"] += 1
            message = check.get("errorMessage") or check["description"]
            problems.append(f"{era} {scenario}: {check['id']}: {message}")
        elif expected and check["status"] == "SUCCESS":
            counts["FAILED"] += 1
            problems.append(f"{era} {scenario}: {check['id']} passes: drop it from the list")
        else:
            counts["passed"] += 1
    tally = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
    return f"{era}  {scenario:<28} {tally}", problems


def test_the_official_conformance_suite_passes_in_both_eras(server: None, tmp_path: Path) -> None:
    rows, problems = [], []
    for era, scenarios in SCENARIOS.items():
        for scenario in scenarios:
            checks, output = _run(scenario, era, tmp_path / era / scenario)
            if not checks:
                rows.append(f"{era}  {scenario:<28} did not run")
                problems.append(f"{era} {scenario}: no checks written\n{output[-2000:]}")
                continue
            row, failed = _tally(era, scenario, checks)
            rows.append(row)
            problems += failed
    table = "\n".join(rows)
    print(f"\nThe MCP conformance suite against cloche mcp --http:\n{table}")
    assert not problems, table + "\n\n" + "\n".join(problems)
