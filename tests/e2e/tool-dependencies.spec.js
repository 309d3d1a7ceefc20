// Dependencies resolved at build time, in Chromium: a dist built with a tool package that needs a
// package only a Pyodide mirror has (cloche-demo-dep, and through it cloche-demo-base: the stand-in
// for numpy, which these machines cannot download) and one from PyPI (tabulate, pinned). Its own
// `cloche serve` on 127.0.0.1:8778 serves that dist; the tools answer through their dependencies,
// and python.run's code imports the mirror's package, which the page installs.
import { test, expect } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";

const PORT = 8778;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const OUT = "test-output/tool-dependencies";
/** @type {import("node:child_process").ChildProcess | undefined} */
let server;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const mirror = JSON.parse(execFileSync(".venv/bin/python", ["tests/unit/pyodide_mirror.py", `${OUT}/mirror`]).toString());
  execFileSync(".venv/bin/cloche", ["build", "--dist", `${OUT}/dist`, "--no-test-dist",
    "--tool-package", "tests/fixtures/dependent_tools",
    "--pyodide-packages", mirror.packages, "--pyodide-lock", mirror.lock], { stdio: "inherit" });
  server = spawn(".venv/bin/cloche", ["serve", "--port", String(PORT), "--dist", `${OUT}/dist`, "--log-level", "warning"],
    { stdio: "inherit" });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${ORIGIN}/healthz`).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`cloche serve did not come up on ${ORIGIN}`);
});

test.afterAll(() => { server?.kill(); });

test("a tool that needs a mirror's package and a PyPI package answers; python.run imports the mirror's", async ({ page }) => {
  /** @type {string[]} */
  const wheels = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".whl")) wheels.push(new URL(request.url()).pathname.slice(1));
  });
  await page.goto(`${ORIGIN}/healthz`);
  const outcome = await page.evaluate(async () => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const { loadRegistry, pythonWorkerSpecs } = await import("/app/tool-workers.js");
    const { wheelsAsked } = await import("/app/wheel-source.js");
    const base = new URL("/", location.href);
    const registry = await loadRegistry(new URL("registry.json", base));
    const specs = pythonWorkerSpecs(registry, base, ["cloche-dependent-tools", "cloche-tools-python"]);
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), wheels: (params) => wheelsAsked(params, { baseURL: base }) });
    await Promise.all(specs.map((spec) => host.addWorker(spec)));
    const text = (/** @type {any} */ result) => result.content?.[0]?.text;
    const greet = text(await host.callTool("dependent.greet", { name: "Ada" }));
    const table = text(await host.callTool("dependent.table", { rows: [["tool", "runtime"], ["greet", "python"]] }));
    const run = await host.callTool("python.run", {
      code: "import cloche_demo_dep\nfrom importlib.metadata import version\nversion('cloche-demo-dep')",
    });
    await host.close();
    return { greet, table, run: run.structuredContent?.value ?? text(run) };
  });
  expect(outcome.greet).toBe("Hello from the mirror, Ada!");
  expect(outcome.table).toMatch(/tool\s+runtime\n-+\s+-+\ngreet\s+python/);
  expect(outcome.run).toBe("'1.0'");
  // The tools' worker loaded its dependencies with its packages; python.run's got them from the page.
  expect(wheels).toEqual(expect.arrayContaining(["cloche_demo_dep-1.0-py3-none-any.whl", "tabulate-0.9.0-py3-none-any.whl"]));
});
