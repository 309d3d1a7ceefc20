// The Sphinx extension as a docs author gets it: the root wheel (which carries the built dist) and
// the pinned Sphinx installed into a fresh venv, sphinx-build run on docs/examples/sphinx copied
// outside the checkout (so the packaged dist is what gets copied), the output served by a plain
// static server on 127.0.0.1:8797, and a reader running the demos.
import { test, expect } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PORT = 8797;
const SITE = `http://127.0.0.1:${PORT}`;
const ROOT = resolve("test-output/sphinx");
const VENV = `${ROOT}/venv`;
const HTML = `${ROOT}/html`;

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;

/** The `sphinx==...` pin of the sphinx extra in pyproject.toml. */
const sphinxPin = () => {
  const pin = readFileSync("pyproject.toml", "utf8").match(/^sphinx = \["(sphinx==[^"]+)"\]/m);
  if (!pin) throw new Error("pyproject.toml has no pinned sphinx extra");
  return pin[1];
};

test.beforeAll(async () => {
  test.setTimeout(110_000);
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(`${ROOT}/wheel`, { recursive: true });
  const run = (/** @type {string} */ file, /** @type {string[]} */ args, cwd = ".") =>
    execFileSync(file, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
  run(".venv/bin/python", ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", `${ROOT}/wheel`, "."]);
  const wheel = readdirSync(`${ROOT}/wheel`).find((name) => name.startsWith("cloche-"));
  if (!wheel) throw new Error("no cloche wheel was built");
  run(".venv/bin/python", ["-m", "venv", VENV]);
  run(`${VENV}/bin/python`, ["-m", "pip", "install", "--quiet", "-c", "requirements/dev.txt", `${ROOT}/wheel/${wheel}`, sphinxPin()]);
  // Outside the checkout, so that the extension finds no dist/ around it and copies the packaged one.
  const docs = mkdtempSync(join(tmpdir(), "cloche-sphinx-"));
  cpSync("docs/examples/sphinx", docs, { recursive: true });
  try {
    run(`${VENV}/bin/python`, ["-m", "sphinx", "-b", "html", "-q", "-W", docs, HTML], docs);
  } finally {
    rmSync(docs, { recursive: true, force: true });
  }
  server = spawn(".venv/bin/python", ["-m", "http.server", String(PORT), "--bind", "127.0.0.1", "--directory", HTML],
    { stdio: "ignore" });
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${SITE}/index.html`).then((r) => r.ok, () => false);
    if (!up) await new Promise((done) => setTimeout(done, 100));
  }
  if (!up) throw new Error(`${SITE} did not come up`);
});

test.afterAll(() => { server?.kill(); });

test("a Sphinx page built from the installed wheel runs its demos for a reader", async ({ page }) => {
  const site = await fetch(`${SITE}/_static/cloche/registry.json`);
  expect(site.ok).toBe(true);
  await page.goto(`${SITE}/index.html`);
  const hash = page.locator('cloche-tool[tool="hash.sha256"]');
  await expect(hash.getByLabel(/^Text/)).toHaveValue("hello");
  await hash.getByRole("button", { name: "Run hash.sha256" }).click();
  await expect(hash.locator(".result")).toContainText("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");

  const cell = page.locator("cloche-python");
  await cell.getByRole("button", { name: "Run" }).click();
  await expect(cell.locator(".result")).toContainText("42", { timeout: 60_000 });
});
