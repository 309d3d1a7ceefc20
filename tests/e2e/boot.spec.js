// The first page boots Python in a module Worker and says so, or says clearly what failed.
import { test, expect } from "@playwright/test";

const status = "#python-status";
const message = "#python-message";

test("boots Python in a worker, cross-origin isolated", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator(status)).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await expect(page.locator(message)).toHaveText(/^Python ready: Python 3\.14\.\d+, cloche \d+\.\d+\.\d+/);
  expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
  await expect(page.locator(status)).toHaveAttribute("data-cross-origin-isolated", "true");
  // Tools of every worker are listed: the shared Python one, python.run's own, and WASM.
  for (const name of ["text.stats", "python.run", "hash.sha256"]) {
    await expect(page.locator("#tool-list")).toContainText(name);
  }
  await page.screenshot({ path: "test-output/screenshots/python-ready.png", fullPage: true });
});

test("the document carries COOP and COEP, the wasm its MIME type", async ({ page, request }) => {
  const response = await page.goto("/");
  const headers = response?.headers() ?? {};
  expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(headers["cross-origin-embedder-policy"]).toBe("require-corp");
  const info = await (await request.get("/build-info.json")).json();
  const wasm = await request.get(`/${info.pyodideIndexURL}pyodide.asm.wasm`);
  expect(wasm.headers()["content-type"]).toBe("application/wasm");
});

test("a missing core asset is named in the page", async ({ page }) => {
  await page.route("**/pyodide.asm.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.goto("/");
  await expect(page.locator(status)).toHaveAttribute("data-state", "failed");
  await expect(page.locator(message)).toContainText("pyodide.asm.wasm is missing");
  await expect(page.locator(message)).toContainText("404");
  await page.screenshot({ path: "test-output/screenshots/python-missing-asset.png" });
});

test("a wasm served with the wrong MIME type is named in the page", async ({ page }) => {
  await page.route("**/pyodide.asm.wasm", async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), "content-type": "text/plain" } });
  });
  await page.goto("/");
  await expect(page.locator(status)).toHaveAttribute("data-state", "failed");
  await expect(page.locator(message)).toContainText(
    "pyodide.asm.wasm is served as text/plain; it must be application/wasm");
  // The page's other Python worker may still be fetching through the route: let that go quietly.
  await page.unrouteAll({ behavior: "ignoreErrors" });
});

test("a boot that overruns its timeout says so instead of spinning", async ({ page }) => {
  // Hold the interpreter's wasm forever: only the timeout can end the boot.
  await page.route("**/pyodide.asm.wasm", () => {});
  await page.goto("/?bootTimeout=2");
  await expect(page.locator(status)).toHaveAttribute("data-state", "failed");
  await expect(page.locator(message)).toContainText("did not start within 2 s");
  await expect(page.locator(message)).toContainText("download phase");
  await page.unrouteAll({ behavior: "ignoreErrors" });
});
