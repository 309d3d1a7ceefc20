// Escape cases: hostile tool code (a real tool package, tests/fixtures/hostile_tools, installed the
// normal way) tries each way out of the sandbox. Each case runs twice: first as the control, in a
// plain Pyodide worker without Cloche's worker policy and lockdown, where it must get out (else the
// case could not catch anything); then in Cloche's own Python worker, where it must not, started
// in both ways the app starts one (afresh, and restored from a memory snapshot). Whether
// it got out is judged from outside the worker: a request recorded by a server on another origin,
// a marker in the page's storage, a message on the page's BroadcastChannel or global channel.
import { test, expect } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";
import { CASES, OUTSIDE, listen, gotOut } from "./support/escapes.js";

const WHEEL = "cloche_hostile_tools-1.0-py3-none-any.whl";
/** How Cloche's worker under test started: afresh, or restored from a memory snapshot. */
const BOOTS = /** @type {const} */ (["fresh", "restored"]);

/** @type {Record<string, string>[]} case, what, control and each boot's verdict, with their details */
const results = [];
/** @type {Record<string, import("@playwright/test").Page>} the page of each run */
const pages = {};

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  const wheel = { fileName: WHEEL, base64: readFileSync(`test-output/fixtures/${WHEEL}`).toString("base64") };

  // The control: a plain module worker booting Pyodide as Cloche does, with no worker policy and
  // no lockdown. A blob: worker takes its page's policy, and this page's is switched off.
  const controlContext = await browser.newContext({ bypassCSP: true });
  pages.control = await controlContext.newPage();
  await listen(pages.control);
  const source = readFileSync("tests/security/support/plain-worker.js", "utf8");
  await pages.control.evaluate(async ({ source, wheel }) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const control = new Worker(url, { type: "module" });
    await new Promise((resolve, reject) => {
      control.onmessage = (event) => (event.data.type === "ready" ? resolve(null) : reject(new Error(event.data.message)));
      control.postMessage({ type: "boot", origin: location.origin, wheel });
    });
    let next = 0;
    window.attempt = (/** @type {string} */ name, /** @type {string} */ target) => new Promise((resolve) => {
      const id = ++next;
      const answer = (/** @type {MessageEvent} */ event) => {
        if (event.data.id !== id) return;
        control.removeEventListener("message", answer);
        resolve(event.data.outcome);
      };
      control.addEventListener("message", answer);
      control.postMessage({ type: "case", id, case: name, target });
    });
  }, { source, wheel });

  // Cloche: its own Python worker, as the page starts it, the hostile package installed through
  // cloche/install like any other, and the host answering for the network and stores as the page
  // does (through the server's proxy, which its operator opened to the other origin), for the
  // packages the user granted: the hostile one has no grant. Twice: started afresh (a first
  // visit), and restored from a memory snapshot (a repeat visit; docs/performance.md).
  for (const boot of BOOTS) {
    pages[boot] = await browser.newPage();
    await listen(pages[boot]);
    const started = await pages[boot].evaluate(async ({ wheel, boot }) => {
      const { WorkerHost } = await import("/app/worker-host.js");
      const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
      const { PythonBootAssets } = await import("/app/python-boot-assets.js");
      const { loadRegistry } = await import("/app/tool-workers.js");
      const { Grants } = await import("/app/permissions.js");
      const { PackageStore } = await import("/app/package-store.js");
      const { pageServices } = await import("/app/package-services.js");
      const base = new URL("/", location.href);
      const registry = await loadRegistry(new URL("registry.json", base));
      const services = pageServices({ registry: () => registry, baseURL: base, grants: new Grants(localStorage),
        store: new PackageStore() });
      const bootAssets = boot === "fresh" ? undefined : new PythonBootAssets(base, { makeAfterMs: 0 });
      const host = new WorkerHost({ spawn: moduleWorkerSpawner({ bootAssets }), services });
      const python = { url: new URL("/workers/python-worker.js", location.href), runtime: /** @type {const} */ ("python"),
        interruptible: true, options: { packages: ["cloche-tools-text"] } };
      if (boot === "restored") {
        // The first worker starts afresh, and the page makes a snapshot; the one under test
        // starts from it.
        await host.addWorker({ ...python, name: "first" });
        while (!bootAssets?.counts.made) await new Promise((resolve) => setTimeout(resolve, 50));
        await host.removeWorker("first");
      }
      const info = await host.addWorker({ ...python, name: "python-tools" });
      // Another worker, whose tools must keep answering whatever the hostile one tries.
      await host.addWorker({ name: "wasm", url: new URL("/workers/wasm-worker.js", location.href),
        options: { manifests: ["/wasm/hash/manifest.json"] } });
      await host.request("python-tools", "cloche/install", { wheels: [wheel] });
      window.attempt = async (/** @type {string} */ name, /** @type {string} */ target) =>
        (await host.callTool("hostile.attempt", { case: name, target }, { timeoutMs: 20_000 })).structuredContent;
      window.host = host;
      return { started: info.started, made: bootAssets?.counts.made ?? 0 };
    }, { wheel, boot });
    expect(started, `the ${boot} worker starts as it should`).toEqual(
      { fresh: { started: "fresh", made: 0 }, restored: { started: "snapshot", made: 1 } }[boot]);
  }
});

test.afterAll(async () => {
  const escaped = results.filter((r) => BOOTS.some((boot) => r[boot] === "escaped")).length;
  const controls = results.filter((r) => r.control === "escaped").length;
  writeFileSync("test-output/security/escapes.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`security: ${results.length} escape cases, ${controls} controls escaped as they should, ` +
    `${escaped} escapes from the locked-down worker (started afresh, and restored from a snapshot)`);
  await pages.control?.context().close();
  for (const boot of BOOTS) await pages[boot]?.close();
});

for (const item of CASES) {
  test(`escape: ${item.what}`, async () => {
    /** @type {Record<string, {verdict: string, detail: string}>} */
    const runs = {};
    for (const run of ["control", ...BOOTS]) {
      const path = `/hit/${item.case}/${run}`;
      const target = item.target ? item.target(run) : `${OUTSIDE}${path}`;
      const page = pages[run];
      const before = await page.evaluate(() => ({ broadcasts: window.broadcasts, spoofed: window.spoofed }));
      const outcome = await page.evaluate(([name, url]) => window.attempt(name, url), [item.case, target]);
      runs[run] = { verdict: await gotOut(page, item.judge, path, outcome, before) ? "escaped" : "blocked", detail: outcome.detail };
    }
    results.push({ case: item.case, what: item.what, control: runs.control.verdict, controlDetail: runs.control.detail,
      ...Object.fromEntries(BOOTS.flatMap((boot) => [[boot, runs[boot].verdict], [`${boot}Detail`, runs[boot].detail]])) });
    expect(runs.control.verdict, `the control must get out, or this case proves nothing: ${runs.control.detail}`).toBe("escaped");
    for (const boot of BOOTS) {
      expect(runs[boot].verdict, `Cloche's worker (${boot}) let it out: ${runs[boot].detail}`).toBe("blocked");
      expect(runs[boot].detail, "a clear error says why").toMatch(/not available to tool code|Content Security Policy|refused|violates/i);
      // The page, the worker the attempt ran in, and the other worker still answer.
      const after = await pages[boot].evaluate(async () => ({
        stats: await window.host.callTool("text.stats", { text: "still here" }),
        hash: await window.host.callTool("hash.sha256", { text: "abc" }),
      }));
      expect(after.stats.isError).toBeFalsy();
      expect(after.hash.structuredContent.hex).toMatch(/^ba7816bf/);
    }
    // The same outcome, word for word, however the worker started.
    expect(runs.restored.detail).toBe(runs.fresh.detail.replaceAll("/fresh", "/restored"));
  });
}
