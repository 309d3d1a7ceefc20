// Integrity cases on a worker's channels (issue 12): tool code that reached its worker's global
// channel and MCP port (tests/security/support/rogue-worker.js stands in for it) forges boot
// messages after boot, or floods the host with a tool list of its own invention. Each runs twice:
// as the control, against a host with the check switched off (the spawner's `trustAfterBoot`, no
// caps on tools/list), where it must work; then against the host as the page sets it up, where it
// must not.
import { test, expect } from "@playwright/test";
import { serveRogueWorker } from "./support/rogue.js";
import { writeFileSync } from "node:fs";

/** @type {{case: string, control: string, checked: string}[]} */
const results = [];
/** @type {import("@playwright/test").Page} */
let page;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await serveRogueWorker(page);
  await page.goto("/healthz");
  await page.evaluate(async () => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    /** A host with one rogue worker; the control's spawner and tool-list caps trust the worker. */
    window.startHost = async (/** @type {boolean} */ checked) => {
      /** @type {string[]} */
      const progress = [];
      /** @type {any[]} */
      const events = [];
      const spawn = moduleWorkerSpawner({ onProgress: (_, p) => progress.push(p.phase),
        ...checked ? {} : { trustAfterBoot: true } });
      const host = new WorkerHost({ spawn, graceMs: 1_000,
        ...checked ? {} : { listLimits: { pages: Infinity, tools: Infinity, characters: Infinity } } });
      host.onWorkerEvent = (event) => events.push(event);
      await host.addWorker({ name: "rogue", url: new URL("/workers/__test__/rogue-worker.js", location.href),
        callTimeoutMs: 3_000 });
      progress.length = 0;  // from here on, any progress is tool code's
      return { host, events, progress };
    };
    window.call = (/** @type {any} */ host, /** @type {string} */ name) => host.callTool(name, {}).then(
      (/** @type {any} */ r) => ({ ok: true, text: r.content?.[0]?.text }),
      (/** @type {any} */ e) => ({ ok: false, text: String(e.message) }));
    window.sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
  });
});

test.afterAll(async () => {
  writeFileSync("test-output/security/integrity-messages.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`security: ${results.length} integrity cases on the worker's channels, ` +
    `${results.filter((r) => r.control === "worked").length} controls worked as they should, ` +
    `${results.filter((r) => r.checked === "worked").length} got past the host's checks`);
  await page?.close();
});

test("integrity: progress and failure forged on the global channel after boot", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {boolean} */ checked) => {
      const { host, events, progress } = await window.startHost(checked);
      const handle = host.workers.get("rogue").handle;
      const forged = await window.call(host, "rogue.forge");
      await window.sleep(300);
      const seen = [...progress];
      // A worker the forged failure terminated answers nothing: this call runs into its deadline,
      // its ping fails, and the host restarts the worker.
      const next = await window.call(host, "rogue.fine");
      const after = await window.call(host, "rogue.fine");
      await host.close();
      return { forged, progress: seen, ignored: handle.ignoredMessages ?? 0, next, after,
        restarted: events.filter((e) => e.type === "restarted").map((e) => e.reason) };
    };
    return { control: await run(false), checked: await run(true) };
  });
  const { control, checked } = outcome;
  const believed = (/** @type {any} */ run) => [run.progress.includes("forged"), run.restarted.length > 0];
  results.push({ case: "progress and failure forged on the global channel after boot",
    control: believed(control).every(Boolean) ? "worked" : "failed",
    checked: believed(checked).some(Boolean) ? "worked" : "refused" });
  expect(control.progress, JSON.stringify(control)).toContain("forged");
  expect(control.restarted.length, `the forged failure terminated the control's worker: ${JSON.stringify(control)}`)
    .toBeGreaterThan(0);
  expect(control.restarted.join(" ")).toMatch(/did not stop within 1000 ms/);
  expect(control.after).toEqual({ ok: true, text: "fine" });
  expect(checked.progress, JSON.stringify(checked)).toEqual([]);
  expect(checked.ignored).toBeGreaterThanOrEqual(2);
  expect(checked.forged).toEqual({ ok: true, text: "forged and answered" });
  expect(checked.next).toEqual({ ok: true, text: "fine" });
  expect(checked.restarted).toEqual([]);
});

test("integrity: a tools/list flood of made-up pages", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {boolean} */ checked) => {
      const { host, events } = await window.startHost(checked);
      const before = host.tools.map((/** @type {any} */ t) => t.name);
      let changed = false;
      host.onToolsChanged = () => { changed = true; };
      const flood = await window.call(host, "rogue.flood");
      // The host's refresh ends by taking the new list (onToolsChanged) or by refusing it, after
      // which the worker is asked for no more pages (none for a second).
      let pages = -1;
      for (let i = 0, still = 0; i < 240 && !changed && still < 4; i++) {
        await window.sleep(250);
        const now = Number((await window.call(host, "rogue.pages")).text);
        still = now > 0 && now === pages ? still + 1 : 0;
        pages = now;
      }
      const served = Number((await window.call(host, "rogue.pages")).text);
      const after = host.tools.map((/** @type {any} */ t) => t.name);
      // The same list asked for again, to see what the host says of it.
      const relisted = await host.workers.get("rogue").client.listTools()
        .then((/** @type {any[]} */ tools) => `listed ${tools.length} tools`, (/** @type {any} */ e) => String(e.message));
      await host.close();
      return { flood, before, after: after.length, unchanged: JSON.stringify(after) === JSON.stringify(before),
        served, relisted, restarted: events.filter((e) => e.type === "restarted").length };
    };
    return { control: await run(false), checked: await run(true) };
  });
  const { control, checked } = outcome;
  const summary = (/** @type {any} */ run) => ({ ...run, before: run.before.length });
  results.push({ case: "a tools/list flood of made-up pages", control: control.after >= 15_000 ? "worked" : "failed",
    checked: checked.unchanged ? "refused" : "worked" });
  expect(control.flood.ok && checked.flood.ok).toBe(true);
  expect(control.served, JSON.stringify(summary(control))).toBe(300);
  expect(control.after, "the control lists every made-up tool").toBe(control.before.length + 15_000);
  expect(control.relisted).toBe(`listed ${control.after} tools`);
  expect(checked.unchanged, `the checked host's tools stay as they were: ${JSON.stringify(summary(checked))}`).toBe(true);
  expect(checked.served, "the checked host stops following pages at its cap").toBeLessThanOrEqual(21);
  expect(checked.relisted).toMatch(/over the page's caps \(20 pages, 1000 tools, 4194304 characters\).*refused/);
  expect(checked.restarted).toBe(0);
  expect(checked.before).toContain("rogue.fine");
});
