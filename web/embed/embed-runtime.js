// The one runtime a documentation page shares among its demos (<cloche-tool>, <cloche-python>):
// one WorkerHost, registry.json read once (titles and forms show before any worker boots), and
// each worker started only when a demo that needs it is about to be used, with the packages the
// page's demos name; a package wanted later is installed into the running worker. A page with
// only WASM demos never starts Python. No DOM here.
import { WorkerHost } from "../app/worker-host.js";
import { pythonWorkerSpecs, wasmWorkerSpecs, manifestURL, toolsOf, PYTHON_BASE_PACKAGES } from "../app/tool-workers.js";
import { registryOf, describeTool } from "./embed-registry.js";
import { wheelsAsked, wheelsFor } from "../app/wheel-source.js";

/**
 * @typedef {import("../app/tool-workers.js").Registry} Registry
 * @typedef {import("../app/worker-host.js").WorkerSpec} WorkerSpec
 * @typedef {import("./embed-registry.js").ToolInfo} ToolInfo
 */

export class EmbedRuntime {
  /**
   * @param {{baseURL: URL, spawn: import("../app/worker-host.js").Spawn,
   *          wheelsFor?: typeof wheelsFor, callTimeoutMs?: number, beforeStart?: () => Promise<void>}} parts
   *   baseURL: the dist's root (where registry.json is)
   *   beforeStart: waited for before a worker starts (the embed makes its policy frame then)
   */
  constructor(parts) {
    this.baseURL = parts.baseURL;
    this.beforeStart = parts.beforeStart ?? (async () => {});
    this.wheelsFor = parts.wheelsFor ?? wheelsFor;
    this.host = new WorkerHost({
      spawn: parts.spawn, callTimeoutMs: parts.callTimeoutMs,
      wheels: (params) => wheelsAsked(params, { baseURL: this.baseURL }),
    });
    /** @type {Map<string, WorkerSpec>} */
    this.specs = new Map();
    /** @type {Map<string, Promise<void>>} worker -> the last change to it (start, install), in order */
    this.turns = new Map();
    /** @type {Set<string>} packages loaded or being loaded */
    this.loaded = new Set();
  }

  /** registry.json, fetched once per page. */
  registry() {
    return registryOf(this.baseURL);
  }

  /**
   * What the registry says of a tool, before any worker boots.
   * @param {string} name  its qualified name
   * @returns {Promise<ToolInfo>}
   */
  async describe(name) {
    return describeTool(await this.registry(), name);
  }

  /**
   * Start the workers these tools need, with their packages, unless they run already. Runs one
   * change per worker at a time.
   * @param {string[]} names  qualified tool names
   */
  async prepare(names) {
    const registry = await this.registry();
    const infos = await Promise.all(names.map((name) => this.describe(name)));
    /** @type {Map<string, string[]>} worker -> packages to add */
    const wanted = new Map();
    for (const { pkg, worker } of infos) {
      if (this.loaded.has(pkg.name)) continue;
      this.loaded.add(pkg.name);
      wanted.set(worker, [...wanted.get(worker) ?? [], pkg.name]);
    }
    await Promise.all([...wanted].map(([worker, packages]) => this.#turn(worker, () => this.#load(registry, worker, packages))));
    // Another demo's change to the same worker may still run: wait for it too.
    await Promise.all(infos.map(({ worker }) => this.turns.get(worker)));
  }

  /**
   * Call a tool; its worker is started first if it is not running.
   * @param {string} name
   * @param {object} args
   * @param {import("../app/worker-host.js").CallOptions} [options]
   */
  async callTool(name, args, options = {}) {
    await this.prepare([name]);
    return this.host.callTool(name, args, options);
  }

  /** Workers started so far, by name. */
  get workers() {
    return [...this.specs.keys()];
  }

  close() {
    return this.host.close();
  }

  /**
   * @param {string} worker
   * @param {() => Promise<void>} change
   */
  #turn(worker, change) {
    const next = (this.turns.get(worker) ?? Promise.resolve()).catch(() => {}).then(change);
    this.turns.set(worker, next);
    return next;
  }

  /**
   * @param {Registry} registry
   * @param {string} worker
   * @param {string[]} packages
   */
  async #load(registry, worker, packages) {
    const spec = this.specs.get(worker);
    if (!spec) {
      const specs = worker === "wasm" ? wasmWorkerSpecs(registry, this.baseURL, packages)
        : pythonWorkerSpecs(registry, this.baseURL, packages);
      const own = /** @type {WorkerSpec} */ (specs.find((s) => s.name === worker));
      this.specs.set(worker, own);
      try {
        await this.beforeStart();
        await this.host.addWorker(own);
      } catch (error) {
        // Tried again by the next demo that needs it.
        this.specs.delete(worker);
        for (const name of packages) this.loaded.delete(name);
        throw error;
      }
      return;
    }
    spec.expectedTools = [...spec.expectedTools ?? [], ...toolsOf(registry, packages)];
    if (worker === "wasm") {
      for (const name of packages) {
        const wasm = /** @type {import("../app/tool-workers.js").WasmPackage} */ (
          (registry.wasmPackages ?? []).find((p) => p.name === name));
        const url = manifestURL(wasm, this.baseURL);
        await this.host.request(worker, "cloche/load", { manifestURL: url });
        spec.options.manifests = [...spec.options.manifests, url];
      }
      return;
    }
    const wheels = await this.wheelsFor(packages, { baseURL: this.baseURL, have: [...PYTHON_BASE_PACKAGES, ...spec.options.packages] });
    await this.host.request(worker, "cloche/install", { wheels });
    spec.options.packages = [...spec.options.packages, ...packages];
  }
}

/** @type {Map<string, EmbedRuntime>} one runtime per dist a page uses */
const runtimes = new Map();

/**
 * The page's runtime for the dist at `baseURL`, made on first use.
 * @param {URL} baseURL
 * @param {() => Omit<ConstructorParameters<typeof EmbedRuntime>[0], "baseURL">} makeParts
 */
export function runtimeFor(baseURL, makeParts) {
  let runtime = runtimes.get(baseURL.href);
  if (!runtime) {
    runtime = new EmbedRuntime({ baseURL, ...makeParts() });
    runtimes.set(baseURL.href, runtime);
  }
  return runtime;
}
