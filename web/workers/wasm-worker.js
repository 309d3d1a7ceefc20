// The WASM worker's entry (docs/worker-protocol.md): on cloche/init, load the manifests named in
// options.manifests, report progress, then serve MCP on the transferred port. It never loads
// Pyodide: WASI comes from the vendored @bjorn3/browser_wasi_shim.
// @ts-ignore: the build copies the shim here (dist/vendor/browser_wasi_shim/); types are below.
import * as vendoredShim from "../vendor/browser_wasi_shim/index.js";
import { WasmRuntime } from "./wasm-runtime.js";
import { WasmMcpServer } from "./wasm-mcp.js";
import { lockDown } from "./lockdown.js";

/** @type {import("./wasm-runtime.js").Shim} */
const shim = vendoredShim;

// Kept before the lockdown replaces the global one (see python-worker.js).
const postToHost = self.postMessage.bind(self);
/** @param {any} message */
const post = (message) => postToHost(message);

self.addEventListener("message", async (/** @type {MessageEvent} */ event) => {
  if (event.data?.type !== "cloche/init") return;
  /** @type {MessagePort} */
  const port = event.data.port;
  const options = event.data.options ?? {};
  // Relative manifest URLs are relative to the dist root (this file is dist/workers/...).
  // Relative to this module, not to `location`: started from another origin, the worker is a
  // blob: module that imports this one (web/app/worker-spawn.js).
  const baseURL = new URL(options.baseURL ?? "../", import.meta.url).href;
  const manifests = (options.manifests ?? []).map((/** @type {string} */ url) => new URL(url, baseURL).href);
  // The loader keeps its own fetch (the worker's policy limits it to /wasm/); modules reach
  // nothing but their WASI imports, and the globals are closed all the same.
  const runtime = new WasmRuntime(shim, { fetch: self.fetch.bind(self), crypto: self.crypto, baseURL });
  lockDown(self);
  try {
    for (const [done, url] of manifests.entries()) {
      post({ type: "cloche/progress", phase: "modules", done, total: manifests.length, detail: url });
      await runtime.load(url);
    }
  } catch (error) {
    post({ type: "cloche/failed", phase: "modules", message: /** @type {Error} */ (error).message });
    return;
  }
  const server = new WasmMcpServer(runtime, (text) => port.postMessage(text));
  port.onmessage = (message) => server.receive(message.data);
  post({
    type: "cloche/ready",
    info: {
      runtime: "wasm",
      packages: [...runtime.packages.keys()],
      crossOriginIsolated: self.crossOriginIsolated,
    },
  });
}, { once: true });
