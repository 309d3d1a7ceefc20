"""Benchmark the page, the workers and the tool calls in headless Chromium against `cloche serve`.

Serves dist/ with `cloche serve` on 127.0.0.1 (with a temporary folder of bench pages at
/local-packages/bench/, so they are same-origin and get the same headers as the app), and measures
in this one run:

- Start-up, from navigation (performance.now() on the page): on the app page (dist/index.html),
  the tools listed, Python ready (every Python worker ready, as the runtime panel shows it), the
  first Python tool result and the first WASM tool result, each asked through the page's own
  `window.cloche.callTool` as soon as registry.json is in, on a first visit (a fresh profile: empty
  HTTP cache, code cache and IndexedDB) and on a repeat visit (a new page in the same profile after
  closing the first); stock Pyodide in a plain module worker from the same dist (`loadPyodide`,
  then `runPython("1+1")`), the same way in a profile of its own, as the baseline; a docs page with
  one WASM demo and one with one Python demo (`<cloche-tool>`, Run pressed as soon as it shows).
- Bytes on the wire (encoded, as transferred: response headers and bodies, the workers' requests
  included) on a first visit before the first WASM result and before the first Python result.
- Warm calls: the round trip of a trivial Python tool and a trivial WASM tool (p50, p99) beside a
  bare MessagePort echo to a worker, with ratios, and sustained calls a second with several in
  flight; python.run as the page runs it (in a session, without one, back to back, importing a
  package of the dist); the time from a killed worker to the next successful call.
- Packages installed and removed at run time, as the runtime panel does.
- Memory: proportional set size (PSS) of the whole browser process tree with the page open and no
  worker, with one and with four Python workers started through WorkerHost.

Run: .venv/bin/python scripts/bench_browser.py [--calls 1000] [--cold-runs 7]
`measure(...)` returns the rows (scripts/bench_all.py prints them with the other benches').
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Playwright, Request, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rows import Row, format_table, median, percentile

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
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
TARGET_READY_REPEAT_MS = 1000.0
TARGET_RESTART_MS = 500.0
TARGET_WASM_BYTES = 150_000
TARGET_PYTHON_BYTES = 5_000_000
BOOT_TIMEOUT_S = 90.0

START = "Start-up, from navigation"
WIRE = "Bytes on the wire, first visit"
WARM = "Warm calls"
PYRUN = "python.run and restarts"
PACKAGES = "Packages at run time"
MEMORY = "Memory (browser process tree, PSS)"

# The app page: marks, in ms from navigation, of the tools listed, Python ready, and the first
# result of a Python tool and of a WASM tool, both asked through the page's own hook
# (window.cloche, see web/app/main.js) as soon as registry.json is in.
APP_MARKS = """
(() => {
  const marks = {};
  window.__bench = marks;
  const at = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const hook = (app) => {
    let asked = false;
    const ask = () => {
      if (asked || !app.state.registry) return;
      asked = true;
      // After the synchronous start that follows the registry (AppController.start).
      setTimeout(() => {
        app.callTool("text.stats", { text: "a" })
          .then(() => at("python"), (error) => { marks.error = `text.stats: ${error}`; });
        app.callTool("hash.sha256", { text: "a" })
          .then(() => at("wasm"), (error) => { marks.error = `hash.sha256: ${error}`; });
      }, 0);
    };
    app.subscribe(ask);
    ask();
  };
  Object.defineProperty(window, "cloche", {
    configurable: true,
    set(app) {
      Object.defineProperty(window, "cloche", { value: app, writable: true, configurable: true });
      hook(app);
    },
  });
  new MutationObserver(() => {
    if (document.querySelector("#tool-list .tool")) at("listed");
    if (!("ready" in marks) && document.querySelector('#python-status[data-state="ready"]')) {
      at("ready");
      marks.pythonWorkers = Object.values(window.cloche?.state?.workers ?? {})
        .filter((worker) => worker.kind === "python").length;
    }
    if (document.querySelector('#python-status[data-state="failed"]')) {
      marks.error ??= "Python failed to start";
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
})();
"""

# Stock Pyodide, as its docs show it, in a plain module worker from the same dist.
BASELINE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stock Pyodide</title>
<script type="module" src="baseline.js"></script></head><body></body></html>
"""
BASELINE_JS = """window.__bench = {};
const worker = new Worker("baseline-worker.js", { type: "module" });
worker.onmessage = (event) => { window.__bench[event.data] = performance.now(); };
worker.onerror = (event) => { window.__bench.error = String(event.message ?? "worker error"); };
"""
BASELINE_WORKER = """import {{ loadPyodide }} from "{index}pyodide.mjs";
try {{
  const pyodide = await loadPyodide({{ indexURL: "{index}", lockFileURL: "{lock}" }});
  postMessage("ready");
  pyodide.runPython("1+1");
  postMessage("result");
}} catch (error) {{
  postMessage("error");
}}
"""
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script type="module" src="/cloche/embed/embed.js"></script></head>
<body><h1>{title}</h1><cloche-tool tool="{tool}" args='{args}'></cloche-tool></body></html>
"""
DOCS_DEMOS = {
    "wasm": ("One WASM demo", "hash.sha256", '{"text": "hello"}'),
    "python": ("One Python demo", "text.stats", '{"text": "one two three"}'),
}
# ms from navigation when the page's one demo shows its outcome.
DOCS_OUTCOME = """
async () => {
  for (;;) {
    const outcome = document.querySelector("cloche-tool")?.shadowRoot?.querySelector(".outcome");
    if (outcome) return { phase: outcome.dataset.phase, at: performance.now(),
                          text: outcome.textContent.slice(0, 300) };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
"""

START_WORKER = """
async ({ packages }) => {
  const { WorkerHost } = await import("/app/worker-host.js");
  const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
  const { PythonBootAssets } = await import("/app/python-boot-assets.js");
  // As the app starts its Python workers: from its compiled module and snapshot (made at once
  // here), with a standby for the shared worker, one call at a time (docs/security.md).
  const bootAssets = new PythonBootAssets(new URL("/", location.href), { makeAfterMs: 0 });
  const host = new WorkerHost({ spawn: moduleWorkerSpawner({ bootAssets }), graceMs: 300 });
  const events = [];
  host.onWorkerEvent = (event) => events.push({ ...event, at: performance.now() });
  const info = await host.addWorker({ name: "bench", url: "/workers/python-worker.js",
    runtime: "python", standby: true, interruptible: true, oneCallAtATime: true,
    options: { packages } });
  await host.callTool("text.stats", { text: "a" });
  Object.assign(window, { host, events });
  return { python: info.python };
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

# Calls a second with `inFlight` callers, each sending its next call when its last is answered.
SUSTAINED = """
async ({ tool, args, seconds, inFlight }) => {
  let done = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end) { await window.host.callTool(tool, args); done++; }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  return done / ((performance.now() - started) / 1000);
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
async ({ calls, url, seconds, inFlight }) => {
  const worker = new Worker(url);
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(null, [port2]);
  const waiting = new Map();
  let next = 1;
  port1.onmessage = (m) => {
    const reply = JSON.parse(m.data);
    waiting.get(reply.id)(reply);
    waiting.delete(reply.id);
  };
  const once = () => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    port1.postMessage(JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call",
      params: { name: "text.stats", arguments: { text: "a" } } }));
  });
  for (let i = 0; i < 50; i++) await once();
  const times = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  let done = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const caller = async () => { while (performance.now() < end) { await once(); done++; } };
  await Promise.all(Array.from({ length: inFlight }, caller));
  const rate = done / ((performance.now() - started) / 1000);
  worker.terminate();
  return { times, rate };
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
async ({ standby }) => {
  window.host.workers.get("bench").spec.standby = standby;
  const code = "while True:\\n    try:\\n        while True:\\n            pass\\n" +
    "    except BaseException:\\n        pass";
  // The standby the app keeps beside its shared Python worker, started once nothing else starts.
  await window.host.workers.get("bench").standby?.started.catch(() => {});
  const seen = window.events.length;
  await window.host.callTool("python.run", { code }, { timeoutMs: 300 }).catch(() => {});
  const killed = window.events.slice(seen).find((e) => e.type === "restarting");
  await window.host.callTool("text.stats", { text: "back" });
  return performance.now() - killed.at;
}
"""

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

MEMORY_HOST = """
async () => {
  const { WorkerHost } = await import("/app/worker-host.js");
  const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
  window.memoryHost = new WorkerHost({ spawn: moduleWorkerSpawner() });
}
"""
MEMORY_WORKERS = """
async ({ packages }) => {
  await Promise.all(packages.map((name) => window.memoryHost.addWorker({
    name, url: "/workers/python-worker.js", interruptible: true, oneCallAtATime: true,
    options: { packages: [name] } })));
}
"""
MEMORY_PACKAGES = [
    "cloche-tools-text",
    "cloche-tools-regex",
    "cloche-tools-json",
    "cloche-tools-csv",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(local_packages: Path | None = None) -> Iterator[str]:
    """`cloche serve` on a free port of 127.0.0.1, the dist of this checkout; `local_packages`
    is served at /local-packages/ (the bench's own pages)."""
    port = free_port()
    command = [sys.executable, "-m", "cloche_server.cli", "serve", "--port", str(port)]
    if local_packages is not None:
        command += ["--local-packages", str(local_packages)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning"], cwd=ROOT, stdout=subprocess.DEVNULL
    )
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


# A docs host: static files, the dist beside the pages as /cloche/ with its precompressed twins
# (as most hosts compress), no COOP/COEP, no CSP, no backend (the embed's own setting).
DOCS_SITE = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from cloche_server.static import DistFiles

port, pages, dist = int(sys.argv[1]), sys.argv[2], sys.argv[3]
app = Starlette(routes=[Mount("/cloche", DistFiles(directory=dist)),
                        Mount("/", StaticFiles(directory=pages))])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


@contextlib.contextmanager
def docs_site(pages: Path) -> Iterator[str]:
    """A static docs host on a free port of 127.0.0.1 for write_pages()'s docs pages."""
    port = free_port()
    command = [sys.executable, "-c", DOCS_SITE, str(port), str(pages / "site"), str(ROOT / "dist")]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "docs-wasm.html", timeout=1).close()
                break
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def build_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads((ROOT / "dist" / "build-info.json").read_text())
    return info


def write_pages(folder: Path) -> None:
    """The bench's own pages: the stock Pyodide baseline in bench/ (served by `cloche serve` at
    /local-packages/bench/) and the docs pages in site/ (served by docs_site())."""
    info = build_info()
    pages = folder / "bench"
    pages.mkdir(parents=True, exist_ok=True)
    (pages / "baseline.html").write_text(BASELINE_HTML)
    (pages / "baseline.js").write_text(BASELINE_JS)
    index = "/" + info["pyodideIndexURL"].strip("/") + "/"
    lock = "/" + info["lockFileURL"].lstrip("/")
    (pages / "baseline-worker.js").write_text(BASELINE_WORKER.format(index=index, lock=lock))
    site = folder / "site"
    site.mkdir(exist_ok=True)
    for name, (title, tool, args) in DOCS_DEMOS.items():
        (site / f"docs-{name}.html").write_text(DOCS_HTML.format(title=title, tool=tool, args=args))


@contextlib.contextmanager
def profile(playwright: Playwright, parent: Path) -> Iterator[tuple[BrowserContext, Path]]:
    """A browser with a fresh profile of its own (empty HTTP cache, code cache and storage)."""
    folder = Path(tempfile.mkdtemp(prefix="profile-", dir=parent))
    context = playwright.chromium.launch_persistent_context(
        folder, executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    try:
        yield context, folder
    finally:
        context.close()
        shutil.rmtree(folder, ignore_errors=True)


def wait_marks(page: Page, wanted: list[str], timeout: float = BOOT_TIMEOUT_S) -> dict[str, Any]:
    """Poll window.__bench until it holds every mark in `wanted` (ms from navigation)."""
    deadline = time.monotonic() + timeout
    while True:
        marks: dict[str, Any] = page.evaluate("() => window.__bench ?? {}")
        if marks.get("error"):
            raise RuntimeError(f"{page.url}: {marks['error']}")
        if all(key in marks for key in wanted):
            return marks
        if time.monotonic() > deadline:
            raise RuntimeError(f"{page.url}: no {wanted} within {timeout:.0f} s (got {marks})")
        time.sleep(0.05)


class Wire:
    """The requests a page and its workers made, to count the bytes that arrived before a mark."""

    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        page.on("requestfinished", lambda request: self.requests.append(request))

    def before(self, page: Page, mark_ms: float) -> tuple[int, list[tuple[str, int, int]]]:
        """Encoded bytes (response headers and body as transferred) of the requests that ended
        before `mark_ms` from the page's navigation, and each request's share."""
        page.wait_for_timeout(300)  # let the last events arrive
        cutoff = float(page.evaluate("() => performance.timeOrigin")) + mark_ms
        shares: list[tuple[str, int, int]] = []
        for request in self.requests:
            timing = request.timing
            ended = timing["startTime"] + timing["responseEnd"]
            if timing["responseEnd"] >= 0 and ended > cutoff:
                continue
            sizes = request.sizes()
            headers = sizes["responseHeadersSize"]
            shares.append((request.url, sizes["responseBodySize"] + headers, headers))
        return sum(share[1] for share in shares), sorted(shares, key=lambda s: -s[1])


def app_visits(
    playwright: Playwright, url: str, tmp: Path, wire: bool, packages: bool
) -> dict[str, Any]:
    """A first and a repeat visit of the app page in one fresh profile."""
    wanted = ["listed", "ready", "python", "wasm"]
    out: dict[str, Any] = {}
    with profile(playwright, tmp) as (context, _):
        for visit in ("first", "repeat"):
            page = context.new_page()
            page.add_init_script(APP_MARKS)
            requests = Wire(page) if wire and visit == "first" else None
            page.goto(url)
            out[visit] = wait_marks(page, wanted)
            if requests is not None:
                out["bytes"] = requests.before(page, out["first"]["python"])
            if packages and visit == "repeat":
                out["packages"] = page.evaluate(PACKAGE_TIMES)
            if visit == "first":
                # A user stays more than a few seconds: the page makes its Python snapshot a second
                # after its first worker started (docs/performance.md), for the next visit.
                deadline = time.monotonic() + BOOT_TIMEOUT_S
                while not page.evaluate("window.clocheBootAssets?.counts.made > 0"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the app page made no Python snapshot")
                    time.sleep(0.05)
                out["first"]["snapshotMade"] = page.evaluate("performance.now()")
            out[visit]["started"] = page.evaluate(
                "[...window.cloche.host.workers.values()]"
                ".map((w) => w.info?.started).filter(Boolean)"
            )
            page.close()
    return out


def baseline_visits(playwright: Playwright, url: str, tmp: Path) -> dict[str, Any]:
    """Stock Pyodide: a first and a repeat visit in one fresh profile."""
    out: dict[str, Any] = {}
    with profile(playwright, tmp) as (context, _):
        for visit in ("first", "repeat"):
            page = context.new_page()
            page.goto(url + "local-packages/bench/baseline.html")
            out[visit] = wait_marks(page, ["ready", "result"])
            page.close()
    return out


def docs_visit(
    playwright: Playwright, site: str, tmp: Path, kind: str, wire: bool
) -> dict[str, Any]:
    """A first visit of a docs page with one demo: Run pressed as soon as it shows."""
    _, tool, _ = DOCS_DEMOS[kind]
    with profile(playwright, tmp) as (context, _):
        page = context.new_page()
        requests = Wire(page) if wire else None
        page.goto(site + f"docs-{kind}.html")
        page.get_by_role("button", name=f"Run {tool}").click(timeout=30_000)
        outcome: dict[str, Any] = page.evaluate(DOCS_OUTCOME)
        if outcome["phase"] != "done":
            raise RuntimeError(f"the {kind} docs demo failed: {outcome['text']}")
        if requests is not None:
            outcome["bytes"] = requests.before(page, outcome["at"])
        page.close()
    return outcome


def open_bench_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
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


def browser_pids(user_data_dir: Path) -> list[int]:
    """The processes of the browser started with this profile, and all their descendants."""
    flag = f"--user-data-dir={user_data_dir}".encode()
    parents: dict[int, int] = {}
    roots = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # Chromium's child processes rewrite their command line into one string.
            if any(
                arg == flag or arg.startswith(flag + b" ")
                for arg in (entry / "cmdline").read_bytes().split(b"\0")
            ):
                roots.add(int(entry.name))
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    tree = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree)


def pss_bytes(user_data_dir: Path) -> dict[str, int]:
    """Proportional set size of the browser's whole process tree (Linux smaps_rollup): all of it,
    and its anonymous and shared-memory part alone. File-backed pages (the Chromium binary and
    its libraries) are shared with every other Chromium on the machine, so their share of them
    moves when other browsers start or stop; the anonymous part is this browser's own."""
    total = {"pss": 0, "own": 0}
    for pid in browser_pids(user_data_dir):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key == "Pss":
                    total["pss"] += int(rest.split()[0]) * 1024
                elif key in ("Pss_Anon", "Pss_Shmem"):
                    total["own"] += int(rest.split()[0]) * 1024
    return total


def settled_pss(page: Page, user_data_dir: Path) -> dict[str, int]:
    """The median of three samples, once the workers have settled."""
    page.wait_for_timeout(1500)
    samples = []
    for _ in range(3):
        samples.append(pss_bytes(user_data_dir))
        page.wait_for_timeout(300)
    return {key: int(median([sample[key] for sample in samples])) for key in samples[0]}


def memory(playwright: Playwright, url: str, tmp: Path) -> dict[str, dict[str, int]]:
    with profile(playwright, tmp) as (context, folder):
        page = context.new_page()
        page.goto(url + "healthz")
        page.evaluate(MEMORY_HOST)
        none = settled_pss(page, folder)
        page.evaluate(MEMORY_WORKERS, {"packages": MEMORY_PACKAGES[:1]})
        one = settled_pss(page, folder)
        page.evaluate(MEMORY_WORKERS, {"packages": MEMORY_PACKAGES[1:]})
        four = settled_pss(page, folder)
        page.close()
    return {"none": none, "one": one, "four": four}


def ms(value: float, digits: int = 0) -> str:
    return f"{value:.{digits}f} ms"


def size(value: float) -> str:
    return f"{value / 1e6:.2f} MB" if value >= 1e6 else f"{value / 1e3:.1f} KB"


def spread(values: list[float], digits: int = 0) -> str:
    return f"median of {len(values)}, {min(values):.{digits}f}-{max(values):.{digits}f} ms"


def contributors(title: str, total: int, shares: list[tuple[str, int, int]], top: int = 10) -> str:
    headers = sum(share[2] for share in shares)
    lines = [
        f"**{title}**: {size(total)} in {len(shares)} responses (response headers "
        f"{size(headers)} of it); the largest:",
        "",
    ]
    for url, count, _ in shares[:top]:
        lines.append(f"- `{urlsplit(url).path}` {size(count)}")
    return "\n".join(lines)


def measure(
    url: str | None = None,
    pages: Path | None = None,
    calls: int = 1000,
    cold_runs: int = 7,
    docs_runs: int = 3,
    fresh_calls: int = 5,
    sustain_seconds: float = 2.0,
    in_flight: int = 8,
    details: list[str] | None = None,
    log: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[Row]:
    """The browser rows. `url` is a running `cloche serve` whose --local-packages folder is
    `pages`, written by write_pages() (without them, both are made here). Lists of the largest
    responses on the wire are appended to `details` as Markdown."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    try:
        with contextlib.ExitStack() as stack:
            if pages is None or url is None:
                pages = tmp / "pages"
                write_pages(pages)
                url = stack.enter_context(serving(pages))
            site = stack.enter_context(docs_site(pages))
            playwright = stack.enter_context(sync_playwright())
            return _measure(
                playwright, url, site, tmp, calls, cold_runs, docs_runs, fresh_calls,
                sustain_seconds, in_flight, details, log,
            )  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(
    playwright: Playwright,
    url: str,
    site: str,
    tmp: Path,
    calls: int,
    cold_runs: int,
    docs_runs: int,
    fresh_calls: int,
    sustain_seconds: float,
    in_flight: int,
    details: list[str] | None,
    log: Callable[[str], None],
) -> list[Row]:
    apps, baselines, docs = [], [], {kind: [] for kind in DOCS_DEMOS}  # type: ignore[var-annotated]
    log(f"browser: {cold_runs} first and repeat visits of the app page and of stock Pyodide")
    for run in range(cold_runs):
        # Interleaved, so that both see the same machine state.
        apps.append(app_visits(playwright, url, tmp, wire=run == 0, packages=True))
        baselines.append(baseline_visits(playwright, url, tmp))
    log(f"browser: {docs_runs} first visits of each docs page")
    for run in range(docs_runs):
        for kind in DOCS_DEMOS:
            docs[kind].append(docs_visit(playwright, site, tmp, kind, wire=run == 0))
    log("browser: memory")
    mem = memory(playwright, url, tmp)

    log(f"browser: warm calls ({calls} each), python.run, restarts")
    with profile(playwright, tmp) as (context, _):
        page = open_bench_page(context, url)
        page.evaluate(START_WORKER, {"packages": ["cloche-tools-text", "cloche-tools-python"]})
        py_args = {"tool": "text.stats", "args": {"text": "a"}}
        wasm_args = {"tool": "codec.hex_encode", "args": {"text": "a"}}
        sustain = {"seconds": sustain_seconds, "inFlight": in_flight}
        python = page.evaluate(ROUND_TRIPS, {"calls": calls, **py_args})
        python_rate = page.evaluate(SUSTAINED, {**py_args, **sustain})
        page.evaluate(START_WASM)
        wasm = page.evaluate(ROUND_TRIPS, {"calls": calls, **wasm_args})
        wasm_rate = page.evaluate(SUSTAINED, {**wasm_args, **sustain})
        echo = page.evaluate(ECHO, {"calls": calls, "url": ECHO_WORKER_PATH, **sustain})
        restarts = [page.evaluate(RESTART, {"standby": True}) for _ in range(5)]
        # The same without the standby: the replacement starts from the snapshot after the kill.
        unaided = [page.evaluate(RESTART, {"standby": False}) for _ in range(5)]
        isolated = page.evaluate(ISOLATED_RUNS, {"sessionCalls": 200, "freshCalls": fresh_calls})
        page.close()

    rows: list[Row] = []

    def start_rows(label: str, key: str, values: dict[str, list[float]], base: str = "") -> None:
        for visit in ("first", "repeat"):
            times = values[visit]
            target = TARGET_READY_REPEAT_MS if key == "ready" and visit == "repeat" else None
            note = spread(times) + (f"; {base}" if base else "")
            rows.append(
                Row(
                    START,
                    f"{label}, {visit} visit",
                    ms(median(times)),
                    note=note,
                    target=f"<= {target:.0f} ms" if target else "",
                    met=median(times) <= target if target else None,
                )
            )

    def series(runs: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
        return {visit: [run[visit][key] for run in runs] for visit in ("first", "repeat")}

    stock_ready = series(baselines, "ready")
    stock_result = series(baselines, "result")
    ready = series(apps, "ready")
    rows.append(
        Row(START, "app: tools listed, first visit", ms(median(series(apps, "listed")["first"])),
            note=spread(series(apps, "listed")["first"]) + "; from registry.json")
    )  # fmt: skip
    workers = apps[0]["first"].get("pythonWorkers", "?")
    restored = sum(run["repeat"]["started"].count("snapshot") for run in apps)
    started = sum(len(run["repeat"]["started"]) for run in apps)
    start_rows("app: Python ready", "ready", ready, f"all {workers} Python workers ready")
    restored_note = f"; {restored} of {started} from the snapshot"
    rows[-1] = replace(rows[-1], note=rows[-1].note + restored_note)
    start_rows("app: first Python tool result", "python", series(apps, "python"), "text.stats")
    start_rows("app: first WASM tool result", "wasm", series(apps, "wasm"), "hash.sha256")
    start_rows(
        "stock Pyodide: loadPyodide", "stock", stock_ready,
        "one plain module worker, same dist; its own profile, right after each app run",
    )  # fmt: skip
    start_rows("stock Pyodide: runPython('1+1') done", "stock", stock_result)
    for visit in ("first", "repeat"):
        ratio = median(ready[visit]) / median(stock_result[visit])
        rows.append(
            Row(START, f"  ratio app Python ready / stock Pyodide, {visit} visit", f"{ratio:.2f}x",
                note="medians of this run")
        )  # fmt: skip
    for kind, label in (("wasm", "WASM"), ("python", "Python")):
        times = [d["at"] for d in docs[kind]]
        rows.append(
            Row(START, f"docs page, one {label} demo: first result, first visit",
                ms(median(times)), note=spread(times) + "; Run pressed as soon as it shows")
        )  # fmt: skip

    wire_rows = (
        ("docs page, one WASM demo: before its first result", docs["wasm"][0]["bytes"],
         TARGET_WASM_BYTES),
        ("docs page, one Python demo: before its first result", docs["python"][0]["bytes"],
         TARGET_PYTHON_BYTES),
        ("app page: before the first Python tool result", apps[0]["bytes"], TARGET_PYTHON_BYTES),
    )  # fmt: skip
    for label, (total, shares), target in wire_rows:
        rows.append(
            Row(WIRE, label, size(total), note=f"{len(shares)} responses, workers' included",
                target=f"<= {size(target)}", met=total <= target)
        )  # fmt: skip
        if details is not None:
            details.append(contributors(label, total, shares))

    echo_p50 = median(echo["times"])
    rows.append(
        Row(WARM, "bare MessagePort echo to a worker", ms(echo_p50, 3),
            ms(percentile(echo["times"], 0.99), 3), note=f"{len(echo['times'])} round trips")
    )  # fmt: skip
    for label, times, limit in (
        ("warm Python tool call (text.stats)", python, TARGET_PYTHON_P50_MS),
        ("warm WASM tool call (codec.hex_encode)", wasm, TARGET_WASM_P50_MS),
    ):
        p50 = median(times)
        rows.append(
            Row(WARM, label, ms(p50, 2), ms(percentile(times, 0.99), 2),
                note=f"{len(times)} calls through WorkerHost",
                target=f"p50 <= {limit} ms", met=p50 <= limit)
        )  # fmt: skip
        rows.append(Row(WARM, "  ratio to the MessagePort echo (p50)", f"{p50 / echo_p50:.1f}x"))
    for label, rate in (
        ("MessagePort echo", echo["rate"]),
        ("Python tool (text.stats)", python_rate),
        ("WASM tool (codec.hex_encode)", wasm_rate),
    ):
        rows.append(
            Row(WARM, f"sustained: {label}", f"{rate:,.0f}/s",
                note=f"{in_flight} in flight for {sustain_seconds:g} s")
        )  # fmt: skip

    in_session = median(isolated["session"])
    back_to_back = median(isolated["backToBack"])
    rows += [
        Row(PYRUN, "killed worker to next successful call", ms(median(restarts)),
            note=f"{spread(restarts)}; deadline overrun; the standby takes its place",
            target=f"< {TARGET_RESTART_MS:.0f} ms", met=median(restarts) < TARGET_RESTART_MS),
        Row(PYRUN, "  the same without a standby", ms(median(unaided)),
            note=f"{spread(unaided)}; a worker restored from the snapshot after the kill"),
        Row(PYRUN, "python.run in its session (own worker)", ms(in_session, 2),
            ms(percentile(isolated["session"], 0.99), 2), note=f"{len(isolated['session'])} calls"),
        Row(PYRUN, "python.run, no session, spare ready", ms(median(isolated["ready"]), 1),
            note=f"median of {len(isolated['ready'])}; a fresh interpreter per call"),
        Row(PYRUN, "python.run, no session, back to back", ms(back_to_back),
            note=f"median of {len(isolated['backToBack'])}; each waits for a fresh spare"),
        Row(PYRUN, "  ratio back to back / in a session", f"{back_to_back / in_session:.0f}x"),
        Row(PYRUN, "python.run importing a dist package", ms(median(isolated["importing"])),
            note="spare ready; cloche_tools_date fetched, checked, installed"),
    ]  # fmt: skip
    for label, key, note in (
        ("install a Python package", "install", "cloche-tools-date, through cloche/install"),
        ("load a WASM package", "load", "textstats, through cloche/load"),
        ("unload a WASM package", "unload", "textstats"),
        ("remove a Python package", "remove", "its worker restarts without it"),
    ):
        times = [a["packages"][key] for a in apps]
        rows.append(Row(PACKAGES, label, ms(median(times)), note=f"{spread(times)}; {note}"))

    def grew(state: str, key: str) -> int:
        return mem[state][key] - mem["none"][key]

    own = "anonymous and shared memory (Pss_Anon + Pss_Shmem)"
    rows += [
        Row(MEMORY, "page open, no worker", size(mem["none"]["own"]),
            note=f"{own} of the whole tree; all PSS {size(mem['none']['pss'])}"),
        Row(MEMORY, "one Python worker", f"+{size(grew('one', 'own'))}",
            note=f"all PSS +{size(grew('one', 'pss'))}; cloche-tools-text"),
        Row(MEMORY, "four Python workers", f"+{size(grew('four', 'own'))}",
            note=f"{size(grew('four', 'own') / 4)} a worker; all PSS +{size(grew('four', 'pss'))}"),
    ]  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="warm calls (default 1000)")
    parser.add_argument("--cold-runs", type=int, default=7, help="first/repeat visits (default 7)")
    parser.add_argument("--docs-runs", type=int, default=3, help="docs page visits (default 3)")
    args = parser.parse_args()
    details: list[str] = []
    rows = measure(
        calls=args.calls, cold_runs=args.cold_runs, docs_runs=args.docs_runs, details=details
    )
    print(format_table(rows, "Tools in headless Chromium"))
    print("\n\n".join(details))
    return 0


if __name__ == "__main__":
    if "TMPDIR" not in os.environ:  # Chromium's leftovers stay in the checkout's test-output/
        (ROOT / "test-output" / "tmp").mkdir(parents=True, exist_ok=True)
        os.environ["TMPDIR"] = str(ROOT / "test-output" / "tmp")
    sys.exit(main())
