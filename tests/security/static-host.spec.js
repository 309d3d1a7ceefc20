// The escape cases on a static host (issue 16): the docs embed, served by a plain static server
// that sends no headers at all (no worker policy, no COOP/COEP), keeps its workers under the
// policy of its hidden frame (web/embed/policy-frame.js). The hostile package is installed into
// the embed's own Python worker and tries every way out; none may get out. The control is the same
// embed runtime without the policy frame, where what only a policy stops (a dynamic import of a
// module on another origin, eval) must get out, or the frame would prove nothing.
import { test, expect } from "@playwright/test";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CASES, OUTSIDE, listen, gotOut } from "./support/escapes.js";

const STATIC_PORT = Number(process.env.CLOCHE_SECURITY_STATIC_PORT || 8783);
const SITE = `http://127.0.0.1:${STATIC_PORT}`;
const ROOT = "test-output/security/static-site";
const WHEEL = "cloche_hostile_tools-1.0-py3-none-any.whl";
/** Cases only a Content-Security-Policy stops: the control without the frame must get out. */
const POLICY_ONLY = new Set(["dynamic_import"]);
/** Judged by messages to the page's Worker constructor, which the frame's workers do not use. */
const SKIPPED = new Set(["spoof_host"]);

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;
/** @type {import("@playwright/test").Page} */
let page;
/** @type {{case: string, what: string, framed: string, unframed: string, detail: string}[]} */
const results = [];

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  test.setTimeout(180_000);
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  symlinkSync(resolve(process.env.CLOCHE_SECURITY_DIST || "dist"), `${ROOT}/cloche`);
  writeFileSync(`${ROOT}/index.html`, "<!doctype html><title>A docs page</title><p>Docs.</p>\n");
  server = spawn(".venv/bin/python", ["-m", "http.server", String(STATIC_PORT), "--bind", "127.0.0.1", "--directory", ROOT],
    { stdio: "ignore" });
  for (let i = 0; i < 100 && !(await fetch(`${SITE}/index.html`).then((r) => r.ok, () => false)); i++) {
    await new Promise((done) => setTimeout(done, 100));
  }
  page = await browser.newPage();
  await listen(page, `${SITE}/index.html`);
  const wheel = { fileName: WHEEL, base64: readFileSync(`test-output/fixtures/${WHEEL}`).toString("base64") };
  await page.evaluate(async (wheel) => {
    const dist = new URL("/cloche/", location.href);
    const { runtime } = await import("/cloche/embed/elements.js");
    const { EmbedRuntime } = await import("/cloche/embed/embed-runtime.js");
    const { moduleWorkerSpawner } = await import("/cloche/app/worker-spawn.js");
    /** @type {Record<string, any>} */
    const runtimes = { framed: await runtime(), unframed: new EmbedRuntime({ baseURL: dist, spawn: moduleWorkerSpawner() }) };
    for (const embed of Object.values(runtimes)) {
      await embed.prepare(["text.stats"]);
      // Installed like any package the page adds: the host is told which tools to expect first.
      embed.specs.get("python-tools").expectedTools.push("hostile.attempt");
      await embed.host.request("python-tools", "cloche/install", { wheels: [wheel] });
    }
    window.attempt = async (/** @type {string} */ run, /** @type {string} */ name, /** @type {string} */ target) =>
      (await runtimes[run].host.callTool("hostile.attempt", { case: name, target }, { timeoutMs: 20_000 })).structuredContent;
    window.runtimes = runtimes;
  }, wheel);
});

test.afterAll(async () => {
  writeFileSync("test-output/security/static-host.json", `${JSON.stringify(results, null, 2)}\n`);
  const out = results.filter((r) => r.framed === "escaped").length;
  const policy = results.filter((r) => POLICY_ONLY.has(r.case) && r.unframed === "escaped").length;
  console.log(`security: ${results.length} escape cases on a static host, ${out} escapes from the embed's workers; ` +
    `without the policy frame, ${policy} of ${POLICY_ONLY.size} policy-only cases got out`);
  await page?.close();
  server?.kill();
});

for (const item of CASES.filter((c) => !SKIPPED.has(c.case))) {
  test(`static host: ${item.what}`, async () => {
    /** @type {Record<string, {verdict: string, detail: string}>} */
    const runs = {};
    for (const run of POLICY_ONLY.has(item.case) ? ["unframed", "framed"] : ["framed"]) {
      const path = `/hit/static-${item.case}/${run}`;
      const target = item.target ? item.target(run) : `${OUTSIDE}${path}`;
      const before = await page.evaluate(() => ({ broadcasts: window.broadcasts, spoofed: window.spoofed }));
      const outcome = await page.evaluate(([run, name, url]) => window.attempt(run, name, url), [run, item.case, target]);
      const judgedPath = item.target ? `/hit/${item.case}/${run}` : path;
      runs[run] = { verdict: await gotOut(page, item.judge, judgedPath, outcome, before) ? "escaped" : "blocked", detail: outcome.detail };
    }
    results.push({ case: item.case, what: item.what, framed: runs.framed.verdict, unframed: runs.unframed?.verdict ?? "-",
      detail: runs.framed.detail });
    if (runs.unframed) {
      expect(runs.unframed.verdict, `without the frame this must get out, or the frame proves nothing: ${runs.unframed.detail}`).toBe("escaped");
    }
    expect(runs.framed.verdict, `the embed's worker let it out: ${runs.framed.detail}`).toBe("blocked");
    const stats = await page.evaluate(() => window.runtimes.framed.host.callTool("text.stats", { text: "still here" }));
    expect(stats.isError).toBeFalsy();
  });
}
