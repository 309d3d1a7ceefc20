// Which workers the page starts for the packages in registry.json. No DOM here.

export const PYTHON_WORKER_URL = "workers/python-worker.js";
export const WASM_WORKER_URL = "workers/wasm-worker.js";
/**
 * Packages whose namespace is here get a Python worker of their own: python.run executes any code
 * it is given, which must be able to neither patch nor stall the other tools.
 */
export const ISOLATED_NAMESPACES = new Set(["python"]);

/**
 * @typedef {{name: string, version: string, runtime: string, namespaces?: string[],
 *            tools: import("./mcp-client.js").Tool[]}} RegistryPackage
 * @typedef {{name: string, manifest: string, tools: import("./mcp-client.js").Tool[]}} WasmPackage
 * @typedef {{registryVersion: number, packages: RegistryPackage[], wasmPackages?: WasmPackage[]}} Registry
 */

/** @param {URL} url @returns {Promise<Registry>} */
export async function loadRegistry(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url.pathname} is missing (HTTP ${response.status}): rebuild the dist with \`cloche build\``);
  }
  return response.json();
}

/**
 * One shared worker for the ordinary Python packages, one for each isolated package.
 * @param {Registry} registry
 * @param {URL} baseURL
 * @returns {import("./worker-host.js").WorkerSpec[]}
 */
export function pythonWorkerSpecs(registry, baseURL) {
  const url = new URL(PYTHON_WORKER_URL, baseURL);
  const python = registry.packages.filter((p) => p.runtime === "python");
  const isolated = python.filter((p) => (p.namespaces ?? []).some((n) => ISOLATED_NAMESPACES.has(n)));
  const shared = python.filter((p) => !isolated.includes(p));
  return [
    { name: "python-tools", url, interruptible: true, options: { packages: shared.map((p) => p.name) } },
    ...isolated.map((p) => ({
      name: `python-${(p.namespaces ?? [p.name])[0]}`, url, interruptible: true, options: { packages: [p.name] },
    })),
  ];
}

/**
 * One WASM worker for every WASM package: each call gets a fresh instance, so they share nothing.
 * @param {Registry} registry
 * @param {URL} baseURL
 * @returns {import("./worker-host.js").WorkerSpec[]}
 */
export function wasmWorkerSpecs(registry, baseURL) {
  const packages = registry.wasmPackages ?? [];
  if (!packages.length) return [];
  const manifests = packages.map((p) => new URL(p.manifest, baseURL).href);
  return [{ name: "wasm", url: new URL(WASM_WORKER_URL, baseURL), options: { manifests } }];
}
