// Live demos on a documentation page served by a plain static server (Python's http.server on
// 127.0.0.1:8795: no COOP/COEP, no CSP, no backend), with the dist copied beside the pages as
// `cloche/`: the pages in tests/e2e/support/docs-site load `cloche/embed/embed.js` and use
// <cloche-tool> and <cloche-python>.
import { test, expect } from "@playwright/test";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { resolve } from "node:path";
import { WEBMCP_LAUNCH } from "./support/webmcp.js";

const PORT = 8795;
const SITE = `http://127.0.0.1:${PORT}`;
const CDN_PORT = 8796;  // the dist alone, with CORS headers, as a CDN serves it
const ROOT = "test-output/static-site";
const SHOTS = "test-output/screenshots";

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;
/** @type {import("node:child_process").ChildProcess | undefined} */
let cdn;

// WebMCP on for the whole file (a launch option cannot change within it); the pages that do not
// opt in must register nothing anyway.
test.use({ launchOptions: WEBMCP_LAUNCH });

test.beforeAll(async () => {
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  cpSync("tests/e2e/support/docs-site", `${ROOT}/site`, { recursive: true });
  symlinkSync(resolve("dist"), `${ROOT}/cloche`);
  server = spawn(".venv/bin/python", ["-m", "http.server", String(PORT), "--bind", "127.0.0.1", "--directory", ROOT],
    { stdio: "ignore" });
  cdn = spawn(".venv/bin/python", ["tests/e2e/support/cors_static.py", String(CDN_PORT), "dist"], { stdio: "ignore" });
  for (const url of [`${SITE}/site/index.html`, `http://127.0.0.1:${CDN_PORT}/registry.json`]) {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await fetch(url).then((r) => r.ok, () => false);
      if (!up) await new Promise((done) => setTimeout(done, 100));
    }
    if (!up) throw new Error(`${url} did not come up`);
  }
});

test.afterAll(() => { server?.kill(); cdn?.kill(); });

/** The demo's shadow-DOM contents, by the element's position on the page. */
const demo = (/** @type {import("@playwright/test").Page} */ page, /** @type {string} */ selector) => page.locator(selector);

/** The page's one runtime, as the elements share it. */
const workers = (/** @type {import("@playwright/test").Page} */ page) => page.evaluate(async () => {
  const { runtimeFor } = await import("/cloche/embed/embed-runtime.js");
  return runtimeFor(new URL("/cloche/", location.href), () => { throw new Error("the page has no runtime yet"); }).workers.sort();
});

test("two tool demos and a Python cell share one runtime on a static host; the cell keeps its variables", async ({ page }) => {
  await page.goto(`${SITE}/site/index.html`);
  const hash = demo(page, 'cloche-tool[tool="hash.sha256"]');
  const stats = demo(page, 'cloche-tool[tool="text.stats"]');
  const cell = demo(page, "cloche-python");
  // From registry.json, before any worker answers.
  await expect(hash.getByRole("region", { name: "Try hash.sha256" })).toContainText("SHA-256");
  await expect(hash.getByLabel(/^Text/)).toHaveValue("hello");
  await page.screenshot({ path: `${SHOTS}/embed-before.png`, fullPage: true });
  expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(false);

  await hash.getByRole("button", { name: "Run hash.sha256" }).click();
  await expect(hash.locator(".result")).toContainText("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  await stats.getByRole("button", { name: "Run text.stats" }).click();
  await expect(stats.locator(".result")).toContainText(/"words": 3/, { timeout: 60_000 });

  await cell.getByRole("button", { name: "Run" }).click();
  await expect(cell.locator(".result")).toContainText("42", { timeout: 60_000 });
  await cell.getByLabel("Python code").fill("print(x + 1)");
  await cell.getByRole("button", { name: "Run" }).click();
  await expect(cell.locator(".result")).toContainText("22");
  await page.screenshot({ path: `${SHOTS}/embed-after.png`, fullPage: true });
  // One worker per runtime, plus python.run's own.
  expect(await workers(page)).toEqual(["python-python", "python-tools", "wasm"]);
});

test("a page with only WebAssembly demos never downloads Python", async ({ page }) => {
  /** @type {string[]} */
  const requested = [];
  page.on("request", (request) => requested.push(new URL(request.url()).pathname));
  await page.goto(`${SITE}/site/wasm-only.html`);
  const primes = demo(page, 'cloche-tool[tool="primes.count"]');
  await primes.getByRole("button", { name: "Run primes.count" }).click();
  await expect(primes.locator(".result")).toContainText(/"count": 25,/);
  const hash = demo(page, 'cloche-tool[tool="hash.sha256"]');
  await hash.getByRole("button", { name: "Run hash.sha256" }).click();
  await expect(hash.locator(".result")).toContainText("ba7816bf");
  // Nothing of Pyodide itself (the policy frame reads the small lock, for the wheels it may allow).
  expect(requested.filter((path) => path.includes("/pyodide/") || path.endsWith("pyodide.asm.wasm"))).toEqual([]);
  expect(await workers(page)).toEqual(["wasm"]);
});

test("a busy loop in a cell stops at the cell's deadline without cross-origin isolation, and the next run works", async ({ page }) => {
  await page.goto(`${SITE}/site/index.html`);
  const cell = demo(page, "cloche-python");
  await cell.getByLabel("Python code").fill("while True:\n    pass");
  await cell.getByRole("button", { name: "Run" }).click();
  await expect(cell.getByRole("button", { name: "Stop" })).toBeVisible({ timeout: 60_000 });
  await expect(cell.getByRole("status")).toContainText("Running…");
  await page.screenshot({ path: `${SHOTS}/embed-running.png`, fullPage: true });
  await expect(cell.locator(".result")).toContainText("did not finish within 3000 ms", { timeout: 60_000 });
  await cell.getByLabel("Python code").fill("print('after')");
  await cell.getByRole("button", { name: "Run" }).click();
  await expect(cell.locator(".result")).toHaveText("after", { timeout: 60_000 });
});

test("the runtime loaded from another origin that sends CORS headers runs WASM and Python demos", async ({ page }) => {
  await page.goto(`${SITE}/site/cross-origin.html`);
  const hash = demo(page, 'cloche-tool[tool="hash.sha256"]');
  await hash.getByRole("button", { name: "Run hash.sha256" }).click();
  await expect(hash.locator(".result")).toContainText("ba7816bf");
  const stats = demo(page, 'cloche-tool[tool="text.stats"]');
  await stats.getByRole("button", { name: "Run text.stats" }).click();
  await expect(stats.locator(".result")).toContainText(/"words": 3/, { timeout: 60_000 });
});

test.describe("dark", () => {
  test.use({ colorScheme: "dark" });
  test("demos follow the reader's dark setting", async ({ page }) => {
    await page.goto(`${SITE}/site/index.html`);
    const hash = demo(page, 'cloche-tool[tool="hash.sha256"]');
    await hash.getByRole("button", { name: "Run hash.sha256" }).click();
    await expect(hash.locator(".result")).toContainText("2cf24dba");
    const background = await hash.locator(".demo").evaluate((element) => getComputedStyle(element).backgroundColor);
    expect(background).toBe("rgb(22, 27, 34)");
    await page.screenshot({ path: `${SHOTS}/embed-dark.png`, fullPage: true });
  });
});

test.describe("WebMCP", () => {
  test("a page that opts in offers its demos' tools to the browser's agent, and a call runs in the sandbox", async ({ page }) => {
    await page.goto(`${SITE}/site/webmcp.html`);
    await expect.poll(async () => (await page.webmcp.tools()).map((tool) => tool.name).sort()).toEqual(["hash.sha256", "primes.count"]);
    const [hash] = (await page.webmcp.tools()).filter((tool) => tool.name === "hash.sha256");
    expect(hash.description).toContain("SHA-256");
    const result = /** @type {any} */ (await page.webmcp.callTool("hash.sha256", { text: "abc" }));
    expect(result.structuredContent.hex).toMatch(/^ba7816bf/);
    const refused = /** @type {any} */ (await page.webmcp.callTool("primes.count", { limit: -1 }));
    expect(refused.isError).toBe(true);
    expect(refused.content[0].text).toMatch(/limit/);
  });

  test("a page that does not opt in offers nothing", async ({ page }) => {
    await page.goto(`${SITE}/site/wasm-only.html`);
    await expect(page.locator('cloche-tool[tool="hash.sha256"]').getByRole("button", { name: "Run hash.sha256" })).toBeVisible();
    expect(await page.webmcp.tools()).toEqual([]);
  });
});
