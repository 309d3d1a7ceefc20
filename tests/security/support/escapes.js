// The escape cases of the hostile-tool suite, shared by escape.spec.js (Cloche's worker against a
// plain Pyodide worker) and static-host.spec.js (the docs embed on a static host, against the same
// embed without its policy frame): what each case tries, and how to judge from outside the
// worker whether it got out.
import { APP_PORT, OUTSIDE_PORT } from "../playwright.config.js";

const APP = `http://127.0.0.1:${APP_PORT}`;
export const OUTSIDE = `http://127.0.0.1:${OUTSIDE_PORT}`;

/**
 * Each case: how to judge that it got out. "outside": the other origin recorded a request on the
 * case's own path; "completed": the attempt finished (it reached the relay, or a nested worker
 * answered); "storage" / "broadcast" / "spoof": the page found the marker or the message.
 * @type {{case: string, judge: string, target?: (run: string) => string, what: string}[]}
 */
export const CASES = [
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

/**
 * The page's own listeners: messages that pretend to come from the host's side of a worker's
 * global channel, and messages on the page's BroadcastChannel.
 * @param {import("@playwright/test").Page} page
 * @param {string} [url]  the page to open (the app's own origin by default)
 */
export async function listen(page, url = "/healthz") {
  page.on("console", (message) => { if (message.type() === "error") console.log(`page: ${message.text()}`); });
  await page.goto(url);
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

/**
 * Whether the attempt just made got out, judged from outside the worker.
 * @param {import("@playwright/test").Page} page  the page whose worker made it
 * @param {string} judge
 * @param {string} path  the case's own path on the other origin
 * @param {{completed: boolean, detail: string}} outcome
 * @param {{broadcasts: number, spoofed: number}} before
 */
export async function gotOut(page, judge, path, outcome, before) {
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

