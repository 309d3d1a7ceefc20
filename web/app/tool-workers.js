// Which workers the page starts for the packages in registry.json. No DOM here.
import { asksConsent, permissionsOf } from "./permissions.js";

export const PYTHON_WORKER_URL = "workers/python-worker.js";
export const WASM_WORKER_URL = "workers/wasm-worker.js";
/**
 * Packages whose namespace is here get a Python worker of their own: python.run executes any code
 * it is given, which must be able to neither patch nor stall the other tools.
 */
export const ISOLATED_NAMESPACES = new Set(["python"]);
/**
 * Packages whose calls get an interpreter no other session's code ran in (WorkerHost's
 * `isolateCalls`), by namespace: python.run runs whatever code it is given, so a call must not be
 * able to leave anything behind for a call of another session, or one with none.
 * @type {Record<string, import("./worker-host.js").CallIsolation>}
 */
export const CALL_ISOLATION = { python: { session: "session", reset: "reset", maxSessions: 4 } };
/** What every Python worker loads at boot besides its packages (web/workers/python-worker.js). */
export const PYTHON_BASE_PACKAGES = ["micropip", "cloche"];

/**
 * @typedef {{name: string, version: string, runtime: string, namespaces?: string[], boot?: boolean,
 *            permissions?: Partial<import("./permissions.js").Permissions>,
 *            tools: import("./mcp-client.js").Tool[]}} RegistryPackage
 * @typedef {{name: string, version?: string, manifest: string, boot?: boolean,
 *            permissions?: Partial<import("./permissions.js").Permissions>,
 *            tools: import("./mcp-client.js").Tool[]}} WasmPackage
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
 * The packages the page loads at boot: all but those the registry marks `"boot": false`.
 * @param {Registry} registry
 */
export function bootPackages(registry) {
  return [...registry.packages, ...registry.wasmPackages ?? []].filter((p) => p.boot !== false).map((p) => p.name);
}

/**
 * A Python package that gets a worker of its own: python.run's (ISOLATED_NAMESPACES), and every
 * package that declares network, storage or memory. The host tells which package asks for the
 * network or its store by the worker the request comes from, so packages with different grants
 * never share one; a memory limit is the limit of a whole worker.
 * @param {RegistryPackage} p
 */
const isIsolated = (p) => (p.namespaces ?? []).some((n) => ISOLATED_NAMESPACES.has(n)) ||
  asksConsent(permissionsOf(p)) || permissionsOf(p).memoryBytes !== undefined;

/**
 * The package a worker runs alone and which declares network or storage, or null: the one whose
 * grant a request from that worker is checked against. The shared worker and the WASM worker
 * have none, so their requests for the network or a store are refused.
 * @param {Registry} registry
 * @param {string} worker
 */
export function packageOfWorker(registry, worker) {
  if (worker === "python-tools" || worker === "wasm") return null;
  return registry.packages.find((p) => p.runtime === "python" && isIsolated(p) &&
    workerOfPackage(registry, p.name) === worker) ?? null;
}

/**
 * The worker a package's tools run in.
 * @param {Registry} registry
 * @param {string} name
 */
export function workerOfPackage(registry, name) {
  if ((registry.wasmPackages ?? []).some((p) => p.name === name)) return "wasm";
  const python = registry.packages.find((p) => p.name === name);
  if (!python) throw new Error(`the dist has no package named ${name}`);
  return isIsolated(python) ? `python-${(python.namespaces ?? [python.name])[0]}` : "python-tools";
}

/**
 * One shared worker for the ordinary Python packages (started even with none of them loaded, so
 * that one can be installed), one for each isolated package that is loaded. A spec's options are
 * read again whenever its worker restarts: change them to change what a restart loads.
 * @param {Registry} registry
 * @param {URL} baseURL
 * @param {Iterable<string>} loaded  package names to load (default: the boot packages)
 * @returns {import("./worker-host.js").WorkerSpec[]}
 */
export function pythonWorkerSpecs(registry, baseURL, loaded = bootPackages(registry)) {
  const url = new URL(PYTHON_WORKER_URL, baseURL);
  const wanted = new Set(loaded);
  const python = registry.packages.filter((p) => p.runtime === "python");
  const shared = python.filter((p) => !isIsolated(p));
  const isolated = python.filter((p) => isIsolated(p) && wanted.has(p.name));
  return [
    // One call at a time in a Python worker: tool code can reach its worker's port, so only the
    // call it runs for may be in flight there (docs/security.md, "Integrity").
    ...(shared.length ? [{ name: "python-tools", url, runtime: /** @type {const} */ ("python"), interruptible: true, oneCallAtATime: true, standby: true,
      options: { packages: shared.filter((p) => wanted.has(p.name)).map((p) => p.name) },
      expectedTools: toolsOf(registry, shared.filter((p) => wanted.has(p.name)).map((p) => p.name)) }] : []),
    ...isolated.map((p) => {
      const namespace = (p.namespaces ?? [p.name])[0];
      const { memoryBytes } = permissionsOf(p);
      return {
        name: workerOfPackage(registry, p.name), url, runtime: /** @type {const} */ ("python"), interruptible: true, oneCallAtATime: true,
        options: { packages: [p.name] }, expectedTools: toolsOf(registry, [p.name]),
        ...memoryBytes ? { memoryLimitBytes: memoryBytes } : {},
        ...CALL_ISOLATION[namespace] ? { isolateCalls: CALL_ISOLATION[namespace] } : {},
      };
    }),
  ];
}

/**
 * The spec of an isolated package's own worker, to start it when the package is installed.
 * @param {Registry} registry
 * @param {URL} baseURL
 * @param {string} name
 */
export function isolatedWorkerSpec(registry, baseURL, name) {
  return pythonWorkerSpecs(registry, baseURL, [name]).find((spec) => spec.name !== "python-tools");
}

/**
 * One WASM worker for every WASM package (each call gets a fresh instance, so they share
 * nothing), started whenever the dist has any, so that one can be loaded later.
 * @param {Registry} registry
 * @param {URL} baseURL
 * @param {Iterable<string>} loaded
 * @returns {import("./worker-host.js").WorkerSpec[]}
 */
export function wasmWorkerSpecs(registry, baseURL, loaded = bootPackages(registry)) {
  const packages = registry.wasmPackages ?? [];
  if (!packages.length) return [];
  const wanted = new Set(loaded);
  const present = packages.filter((p) => wanted.has(p.name));
  const manifests = present.map((p) => manifestURL(p, baseURL));
  return [{ name: "wasm", url: new URL(WASM_WORKER_URL, baseURL), runtime: /** @type {const} */ ("wasm"), options: { manifests },
    expectedTools: toolsOf(registry, present.map((p) => p.name)) }];
}

/** @param {WasmPackage} wasmPackage @param {URL} baseURL */
export function manifestURL(wasmPackage, baseURL) {
  return new URL(wasmPackage.manifest, baseURL).href;
}

/**
 * The tools registry.json lists for these packages: what their worker may offer.
 * @param {Registry} registry
 * @param {string[]} names
 */
export function toolsOf(registry, names) {
  return [...registry.packages, ...registry.wasmPackages ?? []]
    .filter((p) => names.includes(p.name)).flatMap((p) => p.tools.map((tool) => tool.name));
}
