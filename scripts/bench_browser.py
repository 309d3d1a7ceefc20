"""Benchmark tool calls in headless Chromium: Python cold start, warm round trips, restart.

Serves dist/ with `cloche serve` on 127.0.0.1 and drives the page's own modules (WorkerHost, the
module-worker spawner, the real Python worker). Every row is measured in this one run:

- cold start to Python ready, and to the first tool result (fresh browser context: empty cache);
- the warm round trip of a trivial Python tool call and of a trivial WASM tool call (p50, p99
  over --calls calls each) beside a bare MessagePort echo to a worker, and their ratios;
- the time from a worker being killed (deadline overrun) to the next successful call;
- python.run as the page runs it (isolateCalls): a call in a session (its own warm worker), a call
  without one when the fresh spare is ready, and such calls back to back (each waits for a fresh
  interpreter); a call whose code imports a package of the dist that its worker did not boot with
  (installed through the page first);
- installing and removing packages not loaded at boot, as the runtime panel does;
- the agent page (fresh browser context): from navigation to every tool listed, and to Python
  ready on the page.

Run: .venv/bin/python scripts/bench_browser.py [--calls 1000] [--cold-runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_PYTHON_P50_MS = 2.0
TARGET_WASM_P50_MS = 1.0

START_WORKER = """
async ({ packages }) => {
  const { WorkerHost } = await import("/app/worker-host.js");
  const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
  const started = performance.now();
  const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 300 });
  const events = [];
  host.onWorkerEvent = (event) => events.push({ ...event, at: performance.now() });
  const info = await host.addWorker({
    name: "bench", url: "/workers/python-worker.js", interruptible: true, options: { packages },
  });
  const ready = performance.now();
  await host.callTool("text.stats", { text: "a" });
  const firstResult = performance.now();
  Object.assign(window, { host, events });
  return { ready: ready - started, firstResult: firstResult - started, python: info.python };
}
"""

START_WASM = """
async () => {
  const manifests = ["/wasm/codec/manifest.json"];
  const spec = { name: "wasm", url: "/workers/wasm-worker.js", options: { manifests } };
  await window.host.addWorker(spec);
}
"""

ROUND_TRIPS = """
async ({ calls, tool, args }) => {
  const times = [];
  for (let i = 0; i < 50; i++) await window.host.callTool(tool, args);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await window.host.callTool(tool, args);
    times.push(performance.now() - t);
  }
  return times;
}
"""

# The page's CSP allows workers from its own origin only (no blob: workers), so the echo worker
# is served at a same-origin URL by the test browser itself.
ECHO_WORKER_PATH = "/__bench__/echo-worker.js"
ECHO_WORKER = (
    "onmessage = (e) => { const port = e.ports[0];"
    " port.onmessage = (m) => port.postMessage(m.data); };"
)

ECHO = """
async ({ calls, url }) => {
  const worker = new Worker(url);
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(null, [port2]);
  const message = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call",
    params: { name: "text.stats", arguments: { text: "a" } } });
  const once = () => new Promise((resolve) => {
    port1.onmessage = (m) => resolve(JSON.parse(m.data));
    port1.postMessage(message);
  });
  for (let i = 0; i < 50; i++) await once();
  const times = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  worker.terminate();
  return times;
}
"""

ISOLATED_RUNS = """
async ({ sessionCalls, freshCalls }) => {
  const { WorkerHost } = await import("/app/worker-host.js");
  const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
  const { loadRegistry, pythonWorkerSpecs } = await import("/app/tool-workers.js");
  const { wheelsAsked } = await import("/app/wheel-source.js");
  const base = new URL("/", location.href);
  const registry = await loadRegistry(new URL("registry.json", base));
  const specs = pythonWorkerSpecs(registry, base, ["cloche-tools-python"]);
  const spec = specs.find((s) => s.isolateCalls);
  const wheels = (params) => wheelsAsked(params, { baseURL: base });
  const host = new WorkerHost({ spawn: moduleWorkerSpawner(), wheels });
  await host.addWorker(spec);
  const spare = host.workers.get(spec.name);
  const timed = async (args, code = "1 + 1") => {
    const t = performance.now();
    await host.callTool("python.run", { code, ...args });
    return performance.now() - t;
  };
  const spareReady = async () => {
    while (spare.restarting || spare.given) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await timed({ session: "s" });
  await spareReady();
  const session = [];
  for (let i = 0; i < sessionCalls; i++) session.push(await timed({ session: "s" }));
  const ready = [];
  for (let i = 0; i < freshCalls; i++) {
    await spareReady();
    ready.push(await timed({}));
  }
  await spareReady();
  const backToBack = [];
  for (let i = 0; i < freshCalls; i++) backToBack.push(await timed({}));
  // A package of the dist that the worker did not boot with, installed when the code imports it.
  const importing = [];
  for (let i = 0; i < freshCalls; i++) {
    await spareReady();
    importing.push(await timed({}, "import cloche_tools_date"));
  }
  await host.close();
  return { session, ready, backToBack, importing };
}
"""

RESTART = """
async () => {
  const code = "while True:\\n    try:\\n        while True:\\n            pass\\n" +
    "    except BaseException:\\n        pass";
  const seen = window.events.length;
  await window.host.callTool("python.run", { code }, { timeoutMs: 300 }).catch(() => {});
  const killed = window.events.slice(seen).find((e) => e.type === "restarting");
  await window.host.callTool("text.stats", { text: "back" });
  return performance.now() - killed.at;
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serving() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "cloche_server.cli", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "healthz", timeout=1).close()
                break
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def open_page(browser: Any, url: str) -> Page:
    page: Page = browser.new_context().new_page()
    page.route(
        "**" + ECHO_WORKER_PATH,
        lambda route: route.fulfill(
            body=ECHO_WORKER,
            content_type="text/javascript",
            # A cross-origin isolated page starts only workers that are isolated too.
            headers={"cross-origin-embedder-policy": "require-corp"},
        ),
    )
    page.goto(url + "healthz")
    return page


def agent_page_times(browser: Any, url: str) -> dict[str, float]:
    """Milliseconds from navigation to the tools listed and to Python ready, in a fresh context."""
    page: Page = browser.new_context().new_page()
    page.goto(url)
    page.wait_for_selector("#tool-list .tool")
    listed = float(page.evaluate("performance.now()"))
    page.wait_for_selector('#python-status[data-state="ready"]', timeout=60_000)
    ready = float(page.evaluate("performance.now()"))
    page.context.close()
    return {"listed": listed, "ready": ready}


PACKAGE_TIMES = """async () => {
  const runtimes = window.cloche.runtimes;
  const timed = async (work) => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };
  const install = await timed(() => runtimes.install("cloche-tools-date"));
  const load = await timed(() => runtimes.install("textstats"));
  const unload = await timed(() => runtimes.remove("textstats"));
  const remove = await timed(() => runtimes.remove("cloche-tools-date"));
  localStorage.removeItem("cloche.packages");
  return { install, load, unload, remove };
}"""


def package_times(browser: Any, url: str) -> dict[str, float]:
    """Milliseconds to install and remove a package not loaded at boot, from the runtime panel's
    actions: Python through cloche/install (the page fetches and checks the wheel), WASM through
    cloche/load; removing the Python one restarts its worker."""
    page: Page = browser.new_context().new_page()
    page.goto(url)
    page.wait_for_selector(
        '#runtimes [data-worker="python-tools"][data-state="ready"]', timeout=60_000
    )
    page.wait_for_selector('#runtimes [data-worker="wasm"][data-state="ready"]')
    times: dict[str, float] = page.evaluate(PACKAGE_TIMES)
    page.context.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="warm calls (default 1000)")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold starts (default 5)")
    args = parser.parse_args()
    packages = {"packages": ["cloche-tools-text", "cloche-tools-python"]}
    with serving() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        cold = []
        for _ in range(args.cold_runs):
            page = open_page(browser, url)
            cold.append(page.evaluate(START_WORKER, packages))
            page.context.close()
        page = open_page(browser, url)
        page.evaluate(START_WORKER, packages)
        python = page.evaluate(
            ROUND_TRIPS, {"calls": args.calls, "tool": "text.stats", "args": {"text": "a"}}
        )
        page.evaluate(START_WASM)
        wasm = page.evaluate(
            ROUND_TRIPS, {"calls": args.calls, "tool": "codec.hex_encode", "args": {"text": "a"}}
        )
        echo = page.evaluate(ECHO, {"calls": args.calls, "url": ECHO_WORKER_PATH})
        restarts = [page.evaluate(RESTART) for _ in range(3)]
        isolated = page.evaluate(ISOLATED_RUNS, {"sessionCalls": 200, "freshCalls": 10})
        pages = [agent_page_times(browser, url) for _ in range(args.cold_runs)]
        installs = [package_times(browser, url) for _ in range(args.cold_runs)]
        browser.close()

    ready = statistics.median(r["ready"] for r in cold)
    back_to_back = statistics.median(isolated["backToBack"])
    in_session = statistics.median(isolated["session"])
    first = statistics.median(r["firstResult"] for r in cold)
    echo_p50 = statistics.median(echo)

    def call_rows(label: str, times: list[float], target: float) -> list[tuple[str, ...]]:
        p50 = statistics.median(times)
        verdict = "met" if p50 <= target else "MISSED"
        return [
            (
                label,
                f"{p50:.2f} ms",
                f"{percentile(times, 0.99):.2f} ms",
                f"target p50 <= {target} ms: {verdict}",
            ),
            ("  ratio to the MessagePort echo (p50)", f"{p50 / echo_p50:.1f}x", "", ""),
        ]

    rows = [
        ("cold start to Python ready", f"{ready:.0f} ms", "", f"median of {len(cold)}"),
        ("cold start to first tool result", f"{first:.0f} ms", "", f"median of {len(cold)}"),
        (
            "bare MessagePort echo to a worker",
            f"{echo_p50:.3f} ms",
            f"{percentile(echo, 0.99):.3f} ms",
            "",
        ),
        *call_rows("warm Python tool call (text.stats)", python, TARGET_PYTHON_P50_MS),
        *call_rows("warm WASM tool call (codec.hex_encode)", wasm, TARGET_WASM_P50_MS),
        (
            "killed worker to next successful call",
            f"{statistics.median(restarts):.0f} ms",
            "",
            f"median of {len(restarts)}",
        ),
        (
            "python.run in its session (own worker)",
            f"{in_session:.2f} ms",
            f"{percentile(isolated['session'], 0.99):.2f} ms",
            f"{len(isolated['session'])} calls",
        ),
        (
            "python.run, no session, spare ready",
            f"{statistics.median(isolated['ready']):.2f} ms",
            "",
            f"median of {len(isolated['ready'])}; a fresh interpreter per call",
        ),
        (
            "python.run, no session, back to back",
            f"{back_to_back:.0f} ms",
            "",
            f"median of {len(isolated['backToBack'])}; each waits for a fresh spare",
        ),
        (
            "  ratio back to back / in a session",
            f"{back_to_back / in_session:.0f}x",
            "",
            "",
        ),
        (
            "python.run importing a dist package",
            f"{statistics.median(isolated['importing']):.0f} ms",
            "",
            "spare ready; cloche_tools_date fetched, checked, installed",
        ),
        (
            "agent page: navigation to tools listed",
            f"{statistics.median(p['listed'] for p in pages):.0f} ms",
            "",
            f"median of {len(pages)}, from registry.json",
        ),
        (
            "agent page: navigation to Python ready",
            f"{statistics.median(p['ready'] for p in pages):.0f} ms",
            "",
            f"median of {len(pages)}, both Python workers",
        ),
        *(
            (label, f"{statistics.median(t[key] for t in installs):.0f} ms", "", note)
            for label, key, note in (
                ("install a Python package at run time", "install", "cloche-tools-date"),
                ("load a WASM package at run time", "load", "textstats"),
                ("unload a WASM package", "unload", "textstats"),
                ("remove a Python package", "remove", "its worker restarts without it"),
            )
        ),
    ]
    print(
        f"\nTools in headless Chromium (Python {cold[0]['python']}), {args.calls} warm calls each"
    )
    print(f"{'measure':<40} {'p50/median':>12} {'p99':>10}  note")
    for name, p50, p99, note in rows:
        print(f"{name:<40} {p50:>12} {p99:>10}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
