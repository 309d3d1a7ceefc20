// Packages beyond the dist's own, at run time: a page of `cloche serve --pyodide-packages MIRROR
// --pyodide-lock LOCK --allow-pypi --pypi-index FAKE` gets Pyodide's packages from the mirror and
// pure wheels from PyPI, all through the server's /packages routes on the page's own origin, each
// checked against its sha256 by the server and again by the page before the worker sees it.
// The spec starts its own server (8776) and fake PyPI (8777): run it with
// `-c tests/e2e/own-servers.config.js`, or in the default suite.
import { test, expect } from "@playwright/test";
import { spawn, execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SERVER = "http://127.0.0.1:8776";
const PYPI = "http://127.0.0.1:8777";
const TAMPERED = "cloche_demo_extra-1.0-py3-none-any.whl";

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
let folder = "";

/** @param {string} command @param {string[]} args */
function start(command, args) {
  const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  children.push(child);
  return child;
}

/** Resolves once `url` answers 200; fails if `child` exits first. */
async function ready(/** @type {string} */ url, /** @type {import("node:child_process").ChildProcess} */ child) {
  for (let tries = 0; tries < 300; tries++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnargs.join(" ")} exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

test.beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "cloche-package-sources-"));
  const mirror = JSON.parse(execFileSync(".venv/bin/python", ["tests/unit/pyodide_mirror.py", join(folder, "mirror")], { encoding: "utf8" }));
  // One file of the mirror no longer matches the lock's sha256.
  appendFileSync(join(mirror.packages, TAMPERED), "tampered");
  const pypi = start(".venv/bin/python", ["tests/e2e/support/fake_pypi.py", "8777", join(folder, "pypi")]);
  const server = start(".venv/bin/cloche", ["serve", "--port", "8776", "--log-level", "warning",
    "--pyodide-packages", mirror.packages, "--pyodide-lock", mirror.lock, "--allow-pypi", "--pypi-index", PYPI]);
  await Promise.all([ready(`${PYPI}/pypi/cloche-pypi-demo/json`, pypi), ready(`${SERVER}/healthz`, server)]);
});

test.afterAll(async () => {
  await Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
    child.once("exit", resolve);
    child.kill();
  })));
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/**
 * A WorkerHost in a page of the spec's server with python.run's worker alone, whose `cloche/wheels`
 * the page answers as the app does; returns the URLs the page asked for.
 * @param {import("@playwright/test").Page} page
 */
async function startHost(page) {
  /** @type {string[]} */
  const requested = [];
  page.on("request", (request) => requested.push(request.url()));
  await page.goto(`${SERVER}/healthz`);
  await page.evaluate(async () => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const { loadRegistry, pythonWorkerSpecs } = await import("/app/tool-workers.js");
    const { wheelsAsked } = await import("/app/wheel-source.js");
    const baseURL = new URL("/", location.href);
    const specs = pythonWorkerSpecs(await loadRegistry(new URL("registry.json", baseURL)), baseURL)
      .filter((spec) => spec.name === "python-python")
      .map((spec) => ({ ...spec, options: { packages: ["cloche-tools-python"] } }));
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), wheels: (params) => wheelsAsked(params, { baseURL }) });
    await Promise.all(specs.map((spec) => host.addWorker(spec)));
    Object.assign(window, { host });
  });
  return requested;
}

/** @param {import("@playwright/test").Page} page @param {string} code */
function run(page, code) {
  return page.evaluate(async (code) => {
    try {
      return { result: await window.host.callTool("python.run", { code }) };
    } catch (error) {
      return { error: String(error) };
    }
  }, code);
}

/** The page's requests for wheels and package routes, as paths (all must be on its own origin). */
const packageRequests = (/** @type {string[]} */ urls) => urls
  .filter((url) => url.endsWith(".whl") || url.includes("/packages/"))
  .map((url) => {
    expect(url.startsWith(`${SERVER}/`), url).toBe(true);
    return new URL(url).pathname;
  });

test("an import of a package only the Pyodide mirror has installs it, and what it needs, from the mirror", async ({ page }) => {
  const requested = await startHost(page);
  const before = requested.length;
  const imported = await run(page, "import cloche_demo_dep\ncloche_demo_dep.greet('reader')");
  expect(imported.result?.structuredContent?.value, JSON.stringify(imported)).toBe("'Hello from the mirror, reader!'");
  expect(packageRequests(requested.slice(before))).toEqual([
    "/packages/pyodide-lock.json",
    "/packages/pyodide/cloche_demo_base-1.0-py3-none-any.whl",
    "/packages/pyodide/cloche_demo_dep-1.0-py3-none-any.whl",
  ]);
});

test("micropip.install of a package only PyPI has installs its newest pure wheel, through the server", async ({ page }) => {
  const requested = await startHost(page);
  const before = requested.length;
  const installed = await run(page, [
    "import micropip",
    "await micropip.install('cloche-pypi-demo')",
    "import cloche_pypi_demo",
    "from importlib.metadata import version",
    "(cloche_pypi_demo.MESSAGE, version('cloche-pypi-demo'))",
  ].join("\n"));
  expect(installed.result?.structuredContent?.value, JSON.stringify(installed)).toBe("('Hello from the mirror, PyPI!', '2.0')");
  expect(packageRequests(requested.slice(before))).toEqual([
    "/packages/pyodide-lock.json",
    "/packages/pypi/cloche-pypi-demo.json",
    "/packages/pyodide/cloche_demo_base-1.0-py3-none-any.whl",
    "/packages/pyodide/cloche_demo_dep-1.0-py3-none-any.whl",
    "/packages/pypi/files/cloche_pypi_demo-2.0-py3-none-any.whl",
  ]);
  expect(requested.some((url) => url.startsWith(PYPI)), "the page never reaches PyPI itself").toBe(false);
});

test("a mirror file whose sha256 is wrong, or a package no source has, is refused saying which and why", async ({ page }) => {
  await startHost(page);
  const tampered = await run(page, "import cloche_demo_extra");
  expect(tampered.result?.isError, JSON.stringify(tampered)).toBe(true);
  const text = tampered.result?.content?.[0]?.text ?? "";
  expect(text).toContain(`${TAMPERED}: /packages/pyodide/${TAMPERED} answered 502: ${TAMPERED} from `);
  expect(text).toMatch(/has sha256 [0-9a-f]{64}, but \S+pyodide-lock.json says [0-9a-f]{64}: refused/);
  const absent = await run(page, "import micropip\nawait micropip.install('cloche-no-such-package')");
  expect(absent.result?.content?.[0]?.text).toContain(
    "cloche-no-such-package is not in this site's pyodide-lock.json nor in Pyodide 314.0.7's packages, " +
    "nor on PyPI: PyPI (http://127.0.0.1:8777) has no project named cloche-no-such-package");
});
