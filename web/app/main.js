// The agent UI's entry: make the parts, show registry.json's tools at once, start the workers,
// and render the app whenever its state changes (at most once a frame).
import { WorkerHost } from "./worker-host.js";
import { moduleWorkerSpawner, DEFAULT_BOOT_TIMEOUT_MS } from "./worker-spawn.js";
import { PythonBootAssets } from "./python-boot-assets.js";
import { loadRegistry } from "./tool-workers.js";
import { wheelsAsked } from "./wheel-source.js";
import { ConversationStore } from "./conversations.js";
import { AppController, TOKEN_KEY } from "./app-controller.js";
import { Grants } from "./permissions.js";
import { PackageStore } from "./package-store.js";
import { pageServices } from "./package-services.js";
import { modelContext } from "./webmcp.js";
import { errorText } from "./error-text.js";
import { html, render } from "./ui/html.js";
import { App } from "./ui/app-view.js";

/** ?bootTimeout=SECONDS overrides the default boot timeout. */
function bootTimeoutMs() {
  const seconds = Number(new URLSearchParams(location.search).get("bootTimeout"));
  return seconds > 0 ? seconds * 1000 : DEFAULT_BOOT_TIMEOUT_MS;
}

const root = /** @type {HTMLElement} */ (document.getElementById("app"));
const base = new URL("./", location.href);
// Python workers start from Pyodide compiled once here and, after the first visit, from a memory
// snapshot (docs/performance.md); ?snapshots=off starts each afresh. Asked for at once, beside
// registry.json.
const bootAssets = new PythonBootAssets(base,
  { snapshots: new URLSearchParams(location.search).get("snapshots") !== "off" });
bootAssets.prepare().catch(() => {});
/** @type {AppController | undefined} */
let controller;
const grants = new Grants(localStorage);
const packageStore = new PackageStore();
const host = new WorkerHost({
  spawn: moduleWorkerSpawner({
    bootTimeoutMs: bootTimeoutMs(),
    bootAssets,
    onProgress: (worker, progress) => controller?.onBootProgress(worker, progress),
  }),
  // Packages a worker's code imports or asks micropip for: from this dist's lock, else through the
  // server's /packages routes (Pyodide's packages, PyPI if allowed); every file checked.
  wheels: (params) => wheelsAsked(params, { baseURL: base }),
  // A package's network and store, for the package of the worker that asks, as the user granted.
  services: pageServices({ registry: () => controller?.state.registry ?? null, baseURL: base, grants,
    store: packageStore, token: () => sessionStorage.getItem(TOKEN_KEY) || "" }),
});
controller = new AppController({
  host, conversations: new ConversationStore(), baseURL: base,
  session: sessionStorage, preferences: localStorage, grants, packageStore, modelContext: modelContext(),
});
const app = controller;

let scheduled = false;
const paint = () => {
  scheduled = false;
  render(html`<${App} state=${app.state} actions=${app} />`, root);
};
app.subscribe(() => {
  if (!scheduled) { scheduled = true; requestAnimationFrame(paint); }
});
paint();
// Tests and the curious reach the running app from the console.
Object.assign(window, { cloche: app, clocheBootAssets: bootAssets });

try {
  await app.start(await loadRegistry(new URL("registry.json", base)));
} catch (error) {
  app.state.problem = `Cloche could not start: ${errorText(error)}`;
  app.changed();
}
