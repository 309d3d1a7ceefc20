// The docs embed's workers live under a Content-Security-Policy even where the docs' host sends
// none: a hidden, same-origin frame carries the policy in a <meta> tag, and workers started there
// as blob: modules inherit it for their whole life, tool code included. It is the policy
// `cloche serve` sends with the worker scripts (py_runtime/cloche_server/worker_policy.py), by
// path under the dist: scripts from the worker modules, Pyodide and the vendored WASI shim;
// connections to Pyodide's files, the build facts, the lock, the dist's own wheels and the WASM
// packages; nothing else. So tool code cannot `import()` a module from elsewhere, nor eval.

/**
 * The policy for workers of the dist at `dist`.
 * @param {URL} dist
 * @param {string[]} wheels  file names of the wheels at the dist's root
 */
export function workerPolicy(dist, wheels) {
  const at = (/** @type {string} */ path) => new URL(path, dist).href;
  // The WASM worker imports the page's JSON-RPC core (and the transport module it imports) and
  // the MCP era rules it shares with the page's client.
  const modules = ["workers/", "vendor/", "app/jsonrpc.js", "app/transports.js", "app/mcp-era.js"]
    .map(at).join(" ");
  const scripts = ["workers/", "pyodide/", "vendor/"].map(at).join(" ");
  const connects = ["pyodide/", "build-info.json", "pyodide-lock.json", "wasm/", ...wheels].map(at).join(" ");
  return [
    "default-src 'none'",
    `script-src ${scripts} 'wasm-unsafe-eval'`,
    `connect-src ${connects}`,
    // A worker's own module graph counts as worker scripts; the frame makes them from blob: URLs.
    `worker-src ${modules} blob:`,
    "base-uri 'none'",
  ].join("; ");
}

/**
 * The wheels the dist's lock names at its root (what a Python worker loads at boot), or none
 * when the dist has no Python.
 * @param {URL} dist
 */
async function rootWheels(dist) {
  const response = await fetch(new URL("pyodide-lock.json", dist)).catch(() => null);
  if (!response?.ok) return [];
  const lock = await response.json();
  return Object.values(lock.packages ?? {}).map((p) => /** @type {any} */ (p).file_name)
    .filter((name) => typeof name === "string" && !name.includes("/"));
}

/**
 * A hidden frame with the workers' policy, added to the page once.
 * @param {URL} dist
 * @returns {Promise<Window>}
 */
export async function policyFrame(dist) {
  const policy = workerPolicy(dist, await rootWheels(dist));
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.setAttribute("aria-hidden", "true");
  frame.title = "Cloche's tool workers";
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replaceAll("\"", "&quot;")}">`;
  frame.srcdoc = `<!doctype html><html><head>${meta}</head></html>`;
  const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
  document.body.append(frame);
  await loaded;
  return /** @type {Window} */ (frame.contentWindow);
}
