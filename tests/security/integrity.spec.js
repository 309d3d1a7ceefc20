// Integrity cases: hostile tool code (tests/fixtures/hostile_tools, installed through cloche/install)
// that tries to make the host believe what it did not ask: a forged reply to another call, a tool
// of its own invention, a tool the host put there made to vanish. Each runs twice in a real Python
// worker: as the control, against a host with the check switched off (the worker's spec without
// `oneCallAtATime` or `expectedTools`, and with `keepAfterCancel`), where it must work; then
// against the host as the page sets it up, where it must not.
import { test, expect } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";

const WHEEL = "cloche_hostile_tools-1.0-py3-none-any.whl";
const HOSTILE_TOOLS = ["hostile.attempt"];
/** @type {{case: string, control: string, checked: string}[]} */
const results = [];
/** @type {import("@playwright/test").Page} */
let page;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto("/healthz");
  const wheel = { fileName: WHEEL, base64: readFileSync(`test-output/fixtures/${WHEEL}`).toString("base64") };
  await page.evaluate(async ({ wheel, expected }) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const url = new URL("/workers/python-worker.js", location.href);
    const tools = ["text.stats", ...expected];
    /** Two hosts, each with one Python worker holding the hostile package: the control's spec trusts the worker. */
    const start = async (/** @type {boolean} */ checked) => {
      const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 1_000 });
      const events = [];
      host.onWorkerEvent = (event) => events.push(event);
      await host.addWorker({ name: "python-tools", url, interruptible: true, options: { packages: ["cloche-tools-text"] },
        ...checked ? { oneCallAtATime: true, expectedTools: tools } : { keepAfterCancel: true } });
      // With replay: a worker the host restarts gets the package again.
      await host.request("python-tools", "cloche/install", { wheels: [wheel] }, { replay: true });
      await new Promise((resolve) => setTimeout(resolve, 300));  // the tools/list_changed refresh
      return { host, events };
    };
    window.hosts = { control: await start(false), checked: await start(true) };
    window.attempt = (/** @type {string} */ run, /** @type {string} */ name, /** @type {string} */ target) =>
      window.hosts[run].host.callTool("hostile.attempt", { case: name, target }, { timeoutMs: 20_000 })
        .then((r) => r.structuredContent ?? r.content?.[0]?.text, (e) => `error: ${e.message}`);
  }, { wheel, expected: HOSTILE_TOOLS });
});

test.afterAll(async () => {
  writeFileSync("test-output/security/integrity.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`security: ${results.length} integrity cases, ` +
    `${results.filter((r) => r.control === "worked").length} controls worked as they should, ` +
    `${results.filter((r) => r.checked === "worked").length} got past the host's checks`);
  await page?.close();
});

test("integrity: a forged reply answers another call in flight", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {"control" | "checked"} */ which) => {
      const victim = window.attempt(which, "nap", "1");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const forger = window.attempt(which, "forge_replies", "");
      const [napped] = await Promise.all([victim, forger]);
      return napped;
    };
    return { control: await run("control"), checked: await run("checked") };
  });
  const worked = (/** @type {any} */ napped) => JSON.stringify(napped).includes("forged");
  results.push({ case: "forged reply to another call", control: worked(outcome.control) ? "worked" : "failed",
    checked: worked(outcome.checked) ? "worked" : "refused" });
  expect(worked(outcome.control), `the control: ${JSON.stringify(outcome.control)}`).toBe(true);
  expect(outcome.checked).toEqual({ completed: true, detail: "woke up" });
});

test("integrity: a tool of the worker's own invention is offered", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {"control" | "checked"} */ which) => {
      await window.attempt(which, "inject_tool", "");
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { host, events } = window.hosts[which];
      return { listed: host.tools.some((t) => t.name === "web.fetch_anything"),
        refused: events.filter((e) => e.type === "refused-tools").flatMap((e) => e.tools) };
    };
    return { control: await run("control"), checked: await run("checked") };
  });
  results.push({ case: "injected tool", control: outcome.control.listed ? "worked" : "failed",
    checked: outcome.checked.listed ? "worked" : "refused" });
  expect(outcome.control.listed).toBe(true);
  expect(outcome.checked.listed).toBe(false);
  expect(outcome.checked.refused).toContain("web.fetch_anything");
});

test("integrity: a tool the host put there is made to vanish", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {"control" | "checked"} */ which) => {
      await window.attempt(which, "hide_tool", "text.stats");
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { host, events } = window.hosts[which];
      const after = await host.callTool("text.stats", { text: "a b" }).then(() => "answered", (e) => `error: ${e.message}`);
      return { after, restarted: events.filter((e) => e.type === "restarted").map((e) => e.reason) };
    };
    return { control: await run("control"), checked: await run("checked") };
  });
  results.push({ case: "hidden tool", control: outcome.control.after !== "answered" ? "worked" : "failed",
    checked: outcome.checked.after !== "answered" ? "worked" : "refused" });
  expect(outcome.control.after).toContain('unknown tool "text.stats"');
  expect(outcome.checked.after).toBe("answered");
  expect(outcome.checked.restarted.join(" ")).toContain("stopped offering text.stats");
});

test("integrity: a loop that swallows its cancellation runs on after its call failed", async () => {
  const outcome = await page.evaluate(async () => {
    const run = async (/** @type {"control" | "checked"} */ which) => {
      const { host } = window.hosts[which];
      const failed = await host.callTool("hostile.attempt", { case: "swallow_cancellation", target: "" }, { timeoutMs: 1_000 })
        .then(() => "finished", (e) => e.message);
      const running = await host.request("python-tools", "cloche/running", {});
      return { failed, running: running.calls };
    };
    return { control: await run("control"), checked: await run("checked") };
  });
  results.push({ case: "a loop that swallows its cancellation", control: outcome.control.running > 0 ? "worked" : "failed",
    checked: outcome.checked.running > 0 ? "worked" : "refused" });
  expect(outcome.control.running, outcome.control.failed).toBeGreaterThan(0);
  expect(outcome.checked.failed).toContain("its code kept running after it was cancelled, so its worker was restarted");
  expect(outcome.checked.running).toBe(0);
});
