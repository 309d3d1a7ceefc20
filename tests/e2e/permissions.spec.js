// Permissions per tool package, in the agent UI: a dist with two fixture packages (net: the origin
// 127.0.0.1:8792 and a store; notes: a store only) and the first-party web package, served by its
// own `cloche serve` on 8791 whose fetch proxy the operator opened to the two test origins
// (8792, 8793: tests/e2e/support/origins.py, no CORS headers) and to any public http origin.
// The page asks before a package's first use or install; the host checks every request of a
// package's worker against what it declared and was granted; the proxy checks every hop.
import { test, expect } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";

const PORT = 8791;
const APP = `http://127.0.0.1:${PORT}`;
const A = "http://127.0.0.1:8792";  // granted to net
const B = "http://127.0.0.1:8793";  // allowed by the operator, granted to nobody but web
const PRIVATE = "http://127.0.0.1:8794/";  // listed nowhere: a private address
const OUT = "test-output/permissions";
const SHOTS = "test-output/screenshots";

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];

/** Resolves once `url` answers 200; fails if `child` exits first. */
async function ready(/** @type {string} */ url, /** @type {import("node:child_process").ChildProcess} */ child) {
  for (let tries = 0; tries < 300; tries++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnargs.join(" ")} exited with ${child.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  execFileSync(".venv/bin/cloche", ["build", "--dist", `${OUT}/dist`, "--no-test-dist",
    "--tool-package", "tests/fixtures/net_tools", "--tool-package", "tests/fixtures/notes_tools"], { stdio: "inherit" });
  const origins = spawn(".venv/bin/python", ["tests/e2e/support/origins.py", "8792", "8793"], { stdio: "inherit" });
  const server = spawn(".venv/bin/cloche", ["serve", "--port", String(PORT), "--dist", `${OUT}/dist`, "--log-level", "warning",
    "--fetch-allow", A, "--fetch-allow", B, "--fetch-allow", "http://*"], { stdio: "inherit" });
  children.push(origins, server);
  await Promise.all([ready(`${A}/hits`, origins), ready(`${B}/hits`, origins), ready(`${APP}/healthz`, server)]);
});

test.afterAll(async () => {
  await Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
    child.once("exit", resolve);
    child.kill();
  })));
});

test.beforeEach(async () => {
  await Promise.all([fetch(`${A}/reset`), fetch(`${B}/reset`)]);
});

/** @param {string} origin */
const hits = async (origin) => (await fetch(`${origin}/hits`)).json();

/**
 * Start a tool call in the page without waiting for it (the page may ask first).
 * @param {import("@playwright/test").Page} page
 * @param {string} name
 * @param {object} args
 */
async function startCall(page, name, args) {
  await page.evaluate(({ name, args }) => {
    const w = /** @type {any} */ (window);
    w.calls ??= {};
    w.calls[name] = w.cloche.callTool(name, args).then(
      (/** @type {any} */ result) => ({ isError: Boolean(result.isError), value: result.structuredContent ?? null,
        text: result.content?.map((/** @type {any} */ c) => c.text).join("\n") ?? "" }),
      (/** @type {any} */ error) => ({ isError: true, value: null, text: `thrown: ${error.message}` }));
  }, { name, args });
}

/** @param {import("@playwright/test").Page} page @param {string} name */
const outcome = (page, name) => page.evaluate((name) => /** @type {any} */ (window).calls[name], name);

/** Call a tool whose package the user already answered for. */
async function call(/** @type {import("@playwright/test").Page} */ page, /** @type {string} */ name, /** @type {object} */ args) {
  await startCall(page, name, args);
  return outcome(page, name);
}

/** Open the app with nothing decided yet, or with these grants on record. */
async function open(/** @type {import("@playwright/test").Page} */ page, grants = {}) {
  await page.addInitScript((grants) => {
    if (!sessionStorage.getItem("seeded")) {
      localStorage.setItem("cloche.grants", JSON.stringify(grants));
      sessionStorage.setItem("seeded", "1");
    }
  }, grants);
  await page.goto(`${APP}/`);
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 90_000 });
}

/** Answer the permission question on screen. */
async function answer(/** @type {import("@playwright/test").Page} */ page, /** @type {"Allow" | "Don't allow"} */ button) {
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: button, exact: true }).click();
  await expect(page.getByRole("dialog")).toHaveCount(0);
}

test("a package granted one origin reaches it and nothing else, redirects included", async ({ page }) => {
  await open(page);
  await startCall(page, "net.get", { url: `${A}/data` });
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toContainText("cloche-net-tools");
  await expect(dialog).toContainText(`Network: ${A}`);
  await expect(dialog).toContainText("Storage: a private store on this browser");
  await page.screenshot({ path: `${SHOTS}/permissions-consent.png` });
  await answer(page, "Allow");
  expect(await outcome(page, "net.get")).toMatchObject({ isError: false, value: { status: 200, text: "data from 8792" } });
  // pyodide.http.pyfetch goes the same way.
  expect(await call(page, "net.pyfetch", { url: `${A}/data` })).toMatchObject({ isError: false, value: { status: 200, text: "data from 8792" } });

  const other = await call(page, "net.get", { url: `${B}/data` });
  expect(other.isError).toBe(true);
  expect(other.text).toContain(`asked for ${B}/data, outside the origins it declared and was granted (${A}); nothing was fetched`);
  const hop = await call(page, "net.get", { url: `${A}/redirect?to=${encodeURIComponent(`${B}/data`)}` });
  expect(hop.isError).toBe(true);
  expect(hop.text).toMatch(/redirected to http:\/\/127\.0\.0\.1:8793\/data.*grant/);
  const away = await call(page, "net.get", { url: `${A}/redirect?to=${encodeURIComponent(PRIVATE)}` });
  expect(away.isError).toBe(true);
  expect(away.text).toMatch(/redirected to http:\/\/127\.0\.0\.1:8794\//);
  expect(await hits(B)).toEqual({});  // B never saw a request
  expect(await hits(A)).toEqual({ "/data": 2, "/redirect": 2 });
});

test("denied, a package's calls fail with a clear error; allowed again under Permissions, they work", async ({ page }) => {
  await open(page);
  await startCall(page, "net.get", { url: `${A}/data` });
  await answer(page, "Don't allow");
  const denied = await outcome(page, "net.get");
  expect(denied.isError).toBe(true);
  expect(denied.text).toContain("network access for cloche-net-tools 1.0.0 is not allowed on this browser (denied or revoked); nothing was done");
  expect(await hits(A)).toEqual({});
  const row = page.locator('#permissions [data-package="cloche-net-tools"]');
  await row.scrollIntoViewIfNeeded();
  await expect(row).toHaveAttribute("data-grant", "denied");
  await row.getByRole("button", { name: "Allow cloche-net-tools" }).click();
  await expect(row).toHaveAttribute("data-grant", "allowed");
  expect(await call(page, "net.get", { url: `${A}/data` })).toMatchObject({ isError: false });
});

test("revoking stops the next call", async ({ page }) => {
  await open(page, { "cloche-net-tools": { version: "1.0.0", asked: { network: [A], storage: true }, decision: "allow", at: 1 } });
  expect(await call(page, "net.get", { url: `${A}/data` })).toMatchObject({ isError: false });
  const row = page.locator('#permissions [data-package="cloche-net-tools"]');
  await row.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/permissions-list.png` });
  await row.getByRole("button", { name: "Revoke cloche-net-tools" }).click();
  await expect(row).toHaveAttribute("data-grant", "denied");
  const revoked = await call(page, "net.get", { url: `${A}/data` });
  expect(revoked.isError).toBe(true);
  expect(revoked.text).toContain("not allowed on this browser (denied or revoked)");
  expect(await hits(A)).toEqual({ "/data": 1 });
});

test("a new version that asks for more asks again and shows what changed", async ({ page }) => {
  await open(page, { "cloche-net-tools": { version: "0.9.0", asked: { network: [], storage: true }, decision: "allow", at: 1 } });
  await startCall(page, "net.read", { key: "k" });
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("You allowed version 0.9.0. This version asks for more:");
  await expect(dialog.getByRole("list", { name: "New in this version" })).toHaveText(`Network: ${A}`);
  await page.screenshot({ path: `${SHOTS}/permissions-new-version.png` });
  await answer(page, "Allow");
  expect(await outcome(page, "net.read")).toMatchObject({ isError: false, value: { found: false } });
  // notes asks for nothing new of anyone: its first use asks too.
  await startCall(page, "notes.read", { key: "k" });
  await answer(page, "Allow");
  expect(await outcome(page, "notes.read")).toMatchObject({ isError: false });
});

test("two packages with different grants run in different workers and cannot read each other's store", async ({ page }) => {
  const allowed = (/** @type {string[]} */ network) => ({ version: "1.0.0", asked: { network, storage: true }, decision: "allow", at: 1 });
  await open(page, { "cloche-net-tools": allowed([A]), "cloche-notes-tools": allowed([]) });
  expect(await page.evaluate(() => [...(/** @type {any} */ (window)).cloche.host.workers.keys()].sort()))
    .toEqual(expect.arrayContaining(["python-net", "python-notes", "python-tools"]));
  expect(await call(page, "net.put", { key: "k", value: "net's secret" })).toMatchObject({ isError: false });
  expect(await call(page, "notes.read", { key: "k" })).toMatchObject({ isError: false, value: { found: false } });
  expect(await call(page, "notes.put", { key: "k", value: "notes' own" })).toMatchObject({ isError: false });
  expect(await call(page, "net.read", { key: "k" })).toMatchObject({ value: { found: true, value: "net's secret" } });
  // notes declared no network: the host refuses it whatever it asks for.
  const reach = await call(page, "notes.get", { url: `${A}/data` });
  expect(reach.isError).toBe(true);
  expect(reach.text).toContain("cloche-notes-tools 1.0.0 declared no network access, so it has none");
  // The stores survive a reload.
  await page.reload();
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 90_000 });
  expect(await call(page, "notes.read", { key: "k" })).toMatchObject({ value: { found: true, value: "notes' own" } });
  expect(await call(page, "net.read", { key: "k" })).toMatchObject({ value: { found: true, value: "net's secret" } });
  // Clear store, under Permissions, empties one package's store and no other.
  const notes = page.locator('#permissions [data-package="cloche-notes-tools"]');
  await notes.scrollIntoViewIfNeeded();
  await notes.getByRole("button", { name: "Clear the store of cloche-notes-tools" }).click();
  await expect.poll(async () => (await call(page, "notes.read", { key: "k" })).value?.found).toBe(false);
  expect(await call(page, "net.read", { key: "k" })).toMatchObject({ value: { found: true, value: "net's secret" } });
  expect(await hits(A)).toEqual({});
});

test("web.fetch, installed with the user's consent, reads a page without CORS headers through the proxy", async ({ page }) => {
  await open(page);
  const row = page.locator('#runtimes [data-package="cloche-tools-web"]');
  await row.scrollIntoViewIfNeeded();
  await expect(row).toContainText("Network: any site over https, any site over http");
  await row.getByRole("button", { name: "Install cloche-tools-web" }).click();
  await expect(page.getByRole("dialog")).toContainText("cloche-tools-web");
  await answer(page, "Allow");
  await expect(page.locator('#runtimes [data-worker="python-web"]')).toHaveAttribute("data-state", "ready", { timeout: 90_000 });
  // The page itself cannot read it: no CORS headers (and the page's CSP allows its own origin only).
  expect(await page.evaluate((url) => fetch(url).then(() => "read", (e) => `refused: ${e.message}`), `${B}/page.html`)).toMatch(/^refused/);
  const fetched = await call(page, "web.fetch", { url: `${B}/page.html` });
  expect(fetched.isError).toBe(false);
  expect(fetched.value).toMatchObject({ status: 200, title: "Cloche test page" });
  expect(fetched.value.content).toContain("# A page without CORS headers");
  expect(fetched.value.content).toContain("[the test origin](");
  expect(fetched.value.content).not.toContain("document.title");
  // Any public http origin is granted to web, yet a redirect to a private address is refused at the hop.
  const inside = await call(page, "web.fetch", { url: `${B}/redirect?to=${encodeURIComponent(PRIVATE)}` });
  expect(inside.isError).toBe(true);
  expect(inside.text).toMatch(/private/);
  const named = await call(page, "web.fetch", { url: "http://localhost:8792/data" });
  expect(named.isError).toBe(true);
  expect(named.text).toMatch(/private/);
  expect(await hits(A)).toEqual({});
});
