"""The project's benchmark: every bench's rows in one table, printed and written to BENCHMARKS.md.

    .venv/bin/python scripts/bench_all.py [--quick] [--output BENCHMARKS.md]

(`scripts/bench` sets up what is missing and runs this.) The browser rows run against one
`cloche serve` on 127.0.0.1; the relay, the fetch proxy and the compute rows start servers of
their own, on free ports, and the `cloche mcp` rows start that command over stdio. Every
comparison is measured in this one run, beside what it is compared with. Targets are printed
beside their figures with "met" or "missed" and never asserted: the exit code is 0 when targets
are missed, and 1 only when a bench could not run at all (its error is in the table).

--quick runs each part a few times only, to try the bench out; its figures are not for quoting.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "py_runtime"))

from bench_rows import Row, format_table, markdown_table  # noqa: E402

# The table's order; a section not listed here (one a bench adds) comes after "Warm calls".
ORDER = [
    "Start-up, from navigation",
    "Bytes on the wire, first visit",
    "Warm calls",
    "Compute",
    "python.run and restarts",
    "Packages at run time",
    "Memory (browser process tree, PSS)",
    "Model relay (fake upstream on 127.0.0.1)",
    "Fetch proxy (POST /proxy, upstream on 127.0.0.1)",
    "cloche mcp (stdio)",
    "Docs embed's JavaScript (esbuild, minified)",
]
EMBED = "Docs embed's JavaScript (esbuild, minified)"


def log(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


def run_command(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    system = platform.system()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "os": f"{system}, Linux {platform.release()}",
    }


def versions() -> dict[str, str]:
    info = json.loads((ROOT / "dist" / "build-info.json").read_text())
    lock = json.loads((ROOT / "dist" / "pyodide-lock.json").read_text())
    chromium = next(
        (line for line in run_command("/usr/bin/chromium", "--version").splitlines()
         if line.startswith("Chromium")),
        "unknown",
    )  # fmt: skip
    commit = run_command("git", "rev-parse", "--short", "HEAD")
    dirty = run_command("git", "status", "--porcelain", "--untracked-files=no")
    changes = ", with uncommitted changes" if dirty else ""

    def package(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "Chromium": chromium.removeprefix("Chromium ").split(" built")[0],
        "Pyodide": f"{info['pyodide']} (Python {lock['info']['python']} inside)",
        "Python": platform.python_version(),
        "Node": run_command("node", "--version").lstrip("v") or "not found",
        "cloche": f"{info['cloche']} (git {commit or '?'}{changes})",
        "wasmtime": package("wasmtime"),
        "Playwright": package("playwright"),
    }


def embed_rows() -> list[Row]:
    output = subprocess.run(
        ["node", "scripts/bench_embed_size.mjs", "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
    ).stdout  # fmt: skip
    sizes = json.loads(output)

    def kib(count: int) -> str:
        return f"{count / 1024:.1f} KiB"

    return [
        Row(EMBED, "to show the demos (elements, form, Preact, htm)", kib(sizes["first"]),
            note="bundled as a site could ship it; what the dist serves is under Bytes on the wire",
            target=f"<= {kib(sizes['target'])}", met=sizes["first"] <= sizes["target"]),
        Row(EMBED, "the runtime's page side, at first use", kib(sizes["runtime"]),
            note="WorkerHost, the protocol, the policy frame"),
        Row(EMBED, "all of it", kib(sizes["total"])),
    ]  # fmt: skip


def compute_rows(quick: bool) -> list[Row]:
    try:
        import bench_compute
    except ModuleNotFoundError as error:
        if error.name != "bench_compute":
            raise
        log("scripts/bench_compute.py is missing: the compute rows are left out")
        return [
            Row("Compute", "sha256 of 10 MB", "not run", note="scripts/bench_compute.py is missing")
        ]
    if not hasattr(bench_compute, "measure"):
        log("scripts/bench_compute.py has no measure(): the compute rows are left out")
        return [Row("Compute", "sha256 of 10 MB", "not run", note="bench_compute has no measure()")]
    rows: list[Row] = bench_compute.measure(runs=2, mb=2) if quick else bench_compute.measure()
    return rows


def run_bench(
    name: str, work: Callable[[], list[Row]], failures: list[str], section: str
) -> list[Row]:
    log(name)
    started = time.monotonic()
    try:
        rows = work()
    except Exception as error:
        traceback.print_exc()
        failures.append(f"{name}: {error}")
        return [Row(section, f"{name} failed", "not run", note=f"{type(error).__name__}: {error}")]
    log(f"{name}: {time.monotonic() - started:.0f} s")
    return rows


def ordered(rows: list[Row]) -> list[Row]:
    sections = list(dict.fromkeys(row.section for row in rows))
    known = [s for s in ORDER if s in sections]
    extra = [s for s in sections if s not in ORDER]
    at = known.index("Warm calls") + 1 if "Warm calls" in known else len(known)
    order = known[:at] + extra + known[at:]
    return sorted(rows, key=lambda row: order.index(row.section))


def document(
    rows: list[Row],
    details: list[str],
    facts: dict[str, str],
    tools: dict[str, str],
    command: str,
    took: float,
    started: datetime.datetime,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    def loads(values: tuple[float, ...]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    blocks = "\n\n".join(details) or "(not measured in this run)"
    shared = (
        " The load was above the machine's core count: other work shared it, so expect noisy"
        " figures (the notes give each row's range)."
        if max(load[0][0], load[1][0]) > (os.cpu_count() or 1)
        else ""
    )
    version_text = ", ".join(f"{name} {value}" for name, value in tools.items())
    return f"""# Benchmarks

Written by `{command}` (scripts/bench_all.py). Every figure was measured in this one run; each
comparison beside what it is compared with. Medians, with p99 where the row is a latency; the note
says how many runs. Targets are printed beside their figures and never enforced: a loaded machine
does not fail a build. Run it again on your machine to get your own figures.

- **Date**: {started.strftime("%Y-%m-%d %H:%M %Z").strip()}
- **Machine**: {facts["cpu"]}, {facts["memory"]} memory, {facts["os"]}
- **Load average** (1/5/15 min): {loads(load[0])} at the start, {loads(load[1])} at the end.{shared}
- **Versions**: {version_text}
- **Command**: `{command}`, which took {took / 60:.1f} min

## Results

{markdown_table(rows)}

## What goes over the wire

Encoded bytes (compressed, as transferred: response headers and bodies, the workers' requests
included) of the responses that ended before the first result, on a first visit with an empty cache.
The docs pages are served by a static host (the dist beside the pages as `/cloche/`, with its
precompressed twins; no COOP/COEP, no CSP), the app page by `cloche serve`. KB and MB are 1000 and
1,000,000 bytes.

{blocks}

## How the figures are taken

- **Start-up**: from navigation (`performance.now()` on the page). A first visit is a fresh
  Chromium profile (empty HTTP cache, code cache and IndexedDB); the repeat visit is a new page in
  the same profile after closing the first. On the app page the first Python tool (`text.stats`)
  and WASM tool (`hash.sha256`) calls are asked through the page's `window.cloche.callTool` as
  soon as `registry.json` is in; Python ready is the runtime panel's "Python ready" (every Python
  worker). Stock Pyodide (`loadPyodide` then `runPython("1+1")` in a plain module worker, from the
  same dist, served by the same `cloche serve`) runs in a profile of its own, each of its runs right
  after one of the app's. Docs pages have one `<cloche-tool>`; Run is pressed as soon as it shows.
- **Warm calls**: through `WorkerHost` on a bench page, after 50 warm-up calls; the echo is a bare
  worker that posts each message back on its MessagePort. Sustained: several callers, each sending
  its next call when its last is answered.
- **Memory**: proportional set size (`/proc/<pid>/smaps_rollup`) summed over every process of the
  browser (found by its own `--user-data-dir`) and their children, median of three samples after
  the workers settle. The figure is its anonymous and shared-memory part (`Pss_Anon +
  Pss_Shmem`): the file-backed part (Chromium's binary and libraries) is shared with every other
  Chromium on the machine, so it moves by 100 MB when other browsers start or stop; all of PSS is
  in the note.
- **Relay and proxy**: requests through `cloche serve` and straight to the same upstream,
  interleaved; "added" is the difference of the two medians (p99: of the two p99s).
- **`cloche mcp`**: the real command over stdio, spoken to in raw JSON-RPC lines (no MCP SDK),
  timed from the bench's side of the pipes; timed calls start once the server's Deno processes
  have settled (scripts/bench_mcp.py).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few runs of each, to try it out")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--command", default="scripts/bench", help="the command named in the file")
    args = parser.parse_args()
    if "TMPDIR" not in os.environ:  # Chromium's leftovers stay in the checkout's test-output/
        (ROOT / "test-output" / "tmp").mkdir(parents=True, exist_ok=True)
        os.environ["TMPDIR"] = str(ROOT / "test-output" / "tmp")
        tempfile.tempdir = None
    started_at = datetime.datetime.now().astimezone()
    started = time.monotonic()
    load_start = os.getloadavg()
    facts, tools = machine(), versions()
    quick = args.quick
    failures: list[str] = []
    details: list[str] = []
    rows: list[Row] = []

    # The servers of the relay and the proxy benches are forked first, before any browser runs.
    import bench_proxy
    import bench_relay

    rows += run_bench(
        "model relay",
        lambda: bench_relay.measure(100, 50, 1.0, 60) if quick else bench_relay.measure(),
        failures, bench_relay.SECTION,
    )  # fmt: skip
    rows += run_bench(
        "fetch proxy",
        lambda: bench_proxy.measure(100 if quick else 300),
        failures, bench_proxy.SECTION,
    )  # fmt: skip

    import bench_mcp

    rows += run_bench(
        "cloche mcp over stdio",
        lambda: bench_mcp.measure(200, 30, 1, 1) if quick else bench_mcp.measure(),
        failures, bench_mcp.SECTION,
    )  # fmt: skip

    import bench_browser

    def browser() -> list[Row]:
        with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
            pages = Path(folder)
            bench_browser.write_pages(pages)
            with bench_browser.serving(pages) as url:
                log(f"cloche serve at {url}")
                options = dict(calls=200, cold_runs=1, docs_runs=1, fresh_calls=2) if quick else {}
                return bench_browser.measure(
                    url,
                    pages,
                    details=details,
                    log=log,
                    **options,
                )

    rows += run_bench("page, workers and calls in Chromium", browser, failures, bench_browser.START)
    rows += run_bench("compute", lambda: compute_rows(quick), failures, "Compute")
    rows += run_bench("docs embed size", embed_rows, failures, EMBED)

    took = time.monotonic() - started
    rows = ordered(rows)
    command = args.command + (" --quick" if quick else "")
    print()
    print(format_table(rows, f"Cloche benchmark, {started_at:%Y-%m-%d %H:%M}, {took / 60:.1f} min"))
    text = document(
        rows, details, facts, tools, command, took, started_at, (load_start, os.getloadavg())
    )
    args.output.write_text(text)
    print(
        f"\nWritten to {args.output}" + (f"; {len(failures)} bench(es) failed" if failures else "")
    )
    for failure in failures:
        print(f"  failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
