// Escape cases: hostile tool code (a real tool package, tests/fixtures/hostile_tools, installed the
// normal way) tries each way out of the sandbox. Each case runs twice: first as the control, in a
// plain Pyodide worker without Cloche's worker policy and lockdown, where it must get out (else the
// case could not catch anything); then in Cloche's own Python worker, where it must not. Whether
// it got out is judged from outside the worker: a request recorded by a server on another origin,
// a marker in the page's storage, a message on the page's BroadcastChannel or global channel.
import { test, expect } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";
import { APP_PORT, OUTSIDE_PORT } from "./playwright.config.js";

const APP = `http://127.0.0.1:${APP_PORT}`;
const OUTSIDE = `http://127.0.0.1:${OUTSIDE_PORT}`;
const WHEEL = "cloche_hostile_tools-1.0-py3-none-any.whl";

/**
 * Each case: how to judge that it got out. "outside": the other origin recorded a request on the
 * case's own path; "completed": the attempt finished (it reached the relay, or a nested worker
 * answered); "storage" / "broadcast" / "spoof": the page found the marker or the message.
 * @type {{case: string, judge: string, target?: (run: string) => string, what: string}[]}
 */
const CASES = [
  { case: "fetch", judge: "outside", what: "fetch to another origin" },
  { case: "pyfetch", judge: "outside", what: "pyodide.http.pyfetch to another origin" },
  { case: "xhr_sync", judge: "outside", what: "synchronous XMLHttpRequest to another origin" },
  { case: "xhr_async", judge: "outside", what: "XMLHttpRequest to another origin" },
  { case: "websocket", judge: "outside", what: "WebSocket to another origin",
    target: (run) => `ws://127.0.0.1:${OUTSIDE_PORT}/hit/websocket/${run}` },
  { case: "eventsource", judge: "outside", what: "EventSource to another origin",
    target: (run) => `${OUTSIDE}/hit/eventsource/${run}` },
  { case: "dynamic_import", judge: "outside", what: "dynamic import() of a module on another origin",
    target: (run) => `${OUTSIDE}/hit/dynamic_import/${run}.js` },
  { case: "load_package_url", judge: "outside", what: "pyodide.loadPackage(url) from tool code",
    target: (run) => `${OUTSIDE}/hit/load_package_url/${run}/evil-1.0-py3-none-any.whl` },
  { case: "micropip_url", judge: "outside", what: "micropip.install(url) from tool code",
    target: (run) => `${OUTSIDE}/hit/micropip_url/${run}/evil-1.0-py3-none-any.whl` },
  { case: "saved_references", judge: "outside",
    what: "a kept fetch through globalThis, prototypes, an interface, or a function's constructor" },
  { case: "relay_models", judge: "completed", what: "GET /v1/models on the app's relay",
    target: () => `${APP}/v1/models` },
  { case: "relay_chat", judge: "completed", what: "POST /v1/chat/completions on the app's relay (the operator's key)",
    target: () => `${APP}/v1/chat/completions` },
  { case: "proxy_direct", judge: "outside", what: "POST to the app's fetch proxy (open to the other origin) with a grant of its own" },
  { case: "nested_worker", judge: "completed", what: "a nested Worker from a blob: URL" },
  { case: "indexeddb", judge: "storage", what: "a marker written to IndexedDB, read by the page" },
  { case: "cache_storage", judge: "storage", what: "a marker written to Cache Storage, read by the page" },
  { case: "opfs", judge: "storage", what: "a file in the origin-private file system, read by the page" },
  { case: "broadcast", judge: "broadcast", what: "a BroadcastChannel message to the page" },
  { case: "spoof_host", judge: "spoof", what: "postMessage on the worker's own global, to spoof the host" },
];

/** @type {{case: string, what: string, control: string, locked: string, controlDetail: string, lockedDetail: string}[]} */
const results = [];
/** @type {Record<string, import("@playwright/test").Page>} the page of each run */
const pages = {};

test.describe.configure({ mode: "serial" });

/**
 * The page's own listeners: messages that pretend to come from the host's side of a worker's
 * global channel, and messages on the page's BroadcastChannel.
 * @param {import("@playwright/test").Page} page
 */
async function listen(page) {
  page.on("console", (message) => { if (message.type() === "error") console.log(`page: ${message.text()}`); });
  await page.goto("/healthz");
  await page.evaluate(() => {
    window.spoofed = 0;
    const Original = Worker;
    window.Worker = class extends Original {
      /** @param {any[]} args */
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (event) => { if (event.data?.info?.spoofed) window.spoofed++; });
      }
    };
    window.broadcasts = 0;
    new BroadcastChannel("cloche-escape").onmessage = () => { window.broadcasts++; };
  });
}

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
  // packages the user granted: the hostile one has no grant.
  pages.locked = await browser.newPage();
  await listen(pages.locked);
  await pages.locked.evaluate(async (wheel) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const { loadRegistry } = await import("/app/tool-workers.js");
    const { Grants } = await import("/app/permissions.js");
    const { PackageStore } = await import("/app/package-store.js");
    const { pageServices } = await import("/app/package-services.js");
    const base = new URL("/", location.href);
    const registry = await loadRegistry(new URL("registry.json", base));
    const services = pageServices({ registry: () => registry, baseURL: base, grants: new Grants(localStorage),
      store: new PackageStore() });
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), services });
    await host.addWorker({ name: "python-tools", url: new URL("/workers/python-worker.js", location.href),
      interruptible: true, options: { packages: ["cloche-tools-text"] } });
    // Another worker, whose tools must keep answering whatever the hostile one tries.
    await host.addWorker({ name: "wasm", url: new URL("/workers/wasm-worker.js", location.href),
      options: { manifests: ["/wasm/hash/manifest.json"] } });
    await host.request("python-tools", "cloche/install", { wheels: [wheel] });
    window.attempt = async (/** @type {string} */ name, /** @type {string} */ target) =>
      (await host.callTool("hostile.attempt", { case: name, target }, { timeoutMs: 20_000 })).structuredContent;
    window.host = host;
  }, wheel);
});

test.afterAll(async () => {
  const escaped = results.filter((r) => r.locked === "escaped").length;
  const controls = results.filter((r) => r.control === "escaped").length;
  writeFileSync("test-output/security/escapes.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`security: ${results.length} escape cases, ${controls} controls escaped as they should, ` +
    `${escaped} escapes from the locked-down worker`);
  await pages.control?.context().close();
  await pages.locked?.close();
});

/**
 * Whether the attempt just made got out, judged from outside the worker.
 * @param {import("@playwright/test").Page} page  the page whose worker made it
 * @param {string} judge
 * @param {string} path  the case's own path on the other origin
 * @param {{completed: boolean, detail: string}} outcome
 * @param {{broadcasts: number, spoofed: number}} before
 */
async function gotOut(page, judge, path, outcome, before) {
  if (judge === "outside") {
    const hits = await (await fetch(`${OUTSIDE}/__hits`)).json();
    return hits.some((hit) => hit.startsWith(path));
  }
  if (judge === "completed") return outcome.completed;
  const seen = await page.evaluate(async () => {
    const idb = (await indexedDB.databases()).some((d) => d.name === "cloche-escape");
    const cache = await caches.has("cloche-escape");
    const root = await navigator.storage.getDirectory();
    const opfs = await root.getFileHandle("cloche-escape.txt").then(() => true, () => false);
    // Clean up, so the next run starts with nothing.
    await new Promise((resolve) => { const r = indexedDB.deleteDatabase("cloche-escape"); r.onsuccess = r.onerror = resolve; });
    await caches.delete("cloche-escape");
    await root.removeEntry("cloche-escape.txt").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));  // a broadcast takes a task to arrive
    return { idb, cache, opfs, broadcasts: window.broadcasts, spoofed: window.spoofed };
  });
  if (judge === "storage") return seen.idb || seen.cache || seen.opfs;
  if (judge === "broadcast") return seen.broadcasts > before.broadcasts;
  return seen.spoofed > before.spoofed;
}

for (const item of CASES) {
  test(`escape: ${item.what}`, async () => {
    /** @type {Record<string, {verdict: string, detail: string}>} */
    const runs = {};
    for (const run of ["control", "locked"]) {
      const path = `/hit/${item.case}/${run}`;
      const target = item.target ? item.target(run) : `${OUTSIDE}${path}`;
      const page = pages[run];
      const before = await page.evaluate(() => ({ broadcasts: window.broadcasts, spoofed: window.spoofed }));
      const outcome = await page.evaluate(([name, url]) => window.attempt(name, url), [item.case, target]);
      runs[run] = { verdict: await gotOut(page, item.judge, path, outcome, before) ? "escaped" : "blocked", detail: outcome.detail };
    }
    results.push({ case: item.case, what: item.what, control: runs.control.verdict, locked: runs.locked.verdict,
      controlDetail: runs.control.detail, lockedDetail: runs.locked.detail });
    expect(runs.control.verdict, `the control must get out, or this case proves nothing: ${runs.control.detail}`).toBe("escaped");
    expect(runs.locked.verdict, `Cloche's worker let it out: ${runs.locked.detail}`).toBe("blocked");
    expect(runs.locked.detail, "a clear error says why").toMatch(/not available to tool code|Content Security Policy|refused|violates/i);
    // The page, the worker the attempt ran in, and the other worker still answer.
    const after = await pages.locked.evaluate(async () => ({
      stats: await window.host.callTool("text.stats", { text: "still here" }),
      hash: await window.host.callTool("hash.sha256", { text: "abc" }),
    }));
    expect(after.stats.isError).toBeFalsy();
    expect(after.hash.structuredContent.hex).toMatch(/^ba7816bf/);
  });
}
