// The tool runtimes behind the page: which workers run with which packages, each worker's state
// for the runtime panel (starting with its boot phases, ready, busy, restarting, failed), the tools
// they offer, and installing or removing a package while the page runs. The user's choices are
// remembered in `storage`. No DOM here.
import {
  bootPackages, PYTHON_BASE_PACKAGES, pythonWorkerSpecs, toolsOf, wasmWorkerSpecs, isolatedWorkerSpec, workerOfPackage, manifestURL,
} from "./tool-workers.js";
import { errorText } from "./error-text.js";
import { untilAborted } from "./until-aborted.js";
import { wheelsFor } from "./wheel-source.js";
import { permissionsOf } from "./permissions.js";

/** localStorage key of the user's package choices: `{added: string[], removed: string[]}`. */
export const PACKAGES_KEY = "cloche.packages";
const BOOT_PHASES = ["download", "boot", "packages"];

/**
 * @typedef {import("./tool-workers.js").Registry} Registry
 * @typedef {import("./worker-host.js").WorkerSpec} WorkerSpec
 * @typedef {{state: "starting" | "ready" | "failed" | "restarting", kind: "python" | "wasm",
 *            phase?: string, fraction?: number, detail?: string, message?: string, info?: any,
 *            busy?: number, sessions?: string[]}} WorkerState
 *   sessions: for a worker whose calls are isolated (python.run's), the sessions that have their
 *   own interpreter now, least recently used first
 * @typedef {{name: string, title?: string, description?: string, inputSchema: any,
 *            annotations?: any, worker: string}} ListedTool
 * @typedef {{name: string, version: string, runtime: "python" | "wasm", worker: string, boot: boolean,
 *            tools: string[], state: "loaded" | "available" | "installing" | "removing",
 *            message: string, permissions: import("./permissions.js").Permissions,
 *            grant: import("./permissions.js").GrantStatus["state"]}} PackageState
 *   grant: where the user stands on what it asks for ("none" when it asks for nothing)
 * @typedef {(pkg: import("./tool-workers.js").RegistryPackage,
 *            status: Extract<import("./permissions.js").GrantStatus, {state: "ask"}>) => Promise<"allow" | "deny">} AskConsent
 * @typedef {{added: string[], removed: string[]}} PackageChoices
 */

/**
 * What the user installed or removed earlier, on this browser.
 * @param {Pick<Storage, "getItem">} storage
 * @returns {PackageChoices}
 */
export function readChoices(storage) {
  try {
    const parsed = JSON.parse(storage.getItem(PACKAGES_KEY) || "{}");
    const names = (/** @type {unknown} */ list) =>
      Array.isArray(list) ? list.filter((n) => typeof n === "string") : [];
    return { added: names(parsed.added), removed: names(parsed.removed) };
  } catch {
    return { added: [], removed: [] };
  }
}

/**
 * The packages to load at start: the registry's boot packages, less those the user removed, plus
 * those the user installed (names the registry no longer has are ignored).
 * @param {Registry} registry
 * @param {PackageChoices} choices
 */
export function packagesAtStart(registry, choices) {
  const known = new Set([...registry.packages, ...registry.wasmPackages ?? []].map((p) => p.name));
  const removed = new Set(choices.removed);
  const loaded = new Set(bootPackages(registry).filter((name) => !removed.has(name)));
  for (const name of choices.added) if (known.has(name)) loaded.add(name);
  return loaded;
}

export class Runtimes {
  /**
   * @param {{host: import("./worker-host.js").WorkerHost, baseURL: URL, storage: Storage,
   *          onChange: () => void, wheelsFor?: typeof wheelsFor,
   *          grants?: import("./permissions.js").Grants, askConsent?: AskConsent}} parts
   *   askConsent: asks the user about a package that wants network or storage, before its first
   *   call or its install; without it, such a package keeps what was decided before (if nothing,
   *   its requests are refused)
   */
  constructor(parts) {
    this.host = parts.host;
    this.grants = parts.grants;
    this.askConsent = parts.askConsent;
    /** @type {Map<string, Promise<void>>} package -> the question being asked */
    this.asking = new Map();
    this.grants?.subscribe(() => this.#refresh());
    this.wheelsFor = parts.wheelsFor ?? wheelsFor;
    this.baseURL = parts.baseURL;
    this.storage = parts.storage;
    this.onChange = parts.onChange;
    /** @type {Registry | null} */
    this.registry = null;
    /** @type {Record<string, WorkerState>} */
    this.workers = {};
    /** @type {ListedTool[]} */
    this.tools = [];
    /** @type {PackageState[]} */
    this.packages = [];
    /** @type {Set<string>} */
    this.loaded = new Set();
    /** @type {Map<string, WorkerSpec>} */
    this.specs = new Map();
    /** @type {Map<string, Promise<unknown>>} worker name -> its start */
    this.starting = new Map();
    this.host.onToolsChanged = () => this.#refresh();
    this.host.onWorkerEvent = (event) => {
      if (event.session) return;  // one python.run session's own worker: the worker itself is as it was
      if (event.type === "restarting") this.#setWorker(event.worker, { state: "restarting", message: event.reason });
      if (event.type === "restarted") this.#setWorker(event.worker, { state: "ready", message: "" });
      if (event.type === "failed") this.#setWorker(event.worker, { state: "failed", message: event.reason });
    };
  }

  /**
   * List the registry's tools at once and start the workers with the packages to load.
   * @param {Registry} registry
   */
  start(registry) {
    this.registry = registry;
    this.loaded = packagesAtStart(registry, readChoices(this.storage));
    const specs = [...wasmWorkerSpecs(registry, this.baseURL, this.loaded),
      ...pythonWorkerSpecs(registry, this.baseURL, this.loaded)];
    for (const spec of specs) this.#startWorker(spec);
    this.#refresh();
  }

  /** @param {string} name  a tool's qualified name */
  workerOf(name) {
    return this.tools.find((tool) => tool.name === name)?.worker;
  }

  /**
   * Boot progress from the spawner.
   * @param {string} worker
   * @param {import("./worker-spawn.js").BootProgress} progress
   */
  onBootProgress(worker, progress) {
    const current = this.workers[worker];
    if (!current || current.state !== "starting") return;
    const index = Math.max(0, BOOT_PHASES.indexOf(progress.phase));
    const within = progress.total && (progress.phase === "download" || progress.phase === "modules")
      ? (progress.done || 0) / progress.total : 0;
    const fraction = current.kind === "wasm" ? within : (index + within) / BOOT_PHASES.length;
    this.#setWorker(worker, { phase: progress.phase, fraction, detail: bootDetail(progress) });
  }

  /** Start again the workers that failed to boot. */
  retry() {
    for (const spec of this.specs.values()) {
      if (this.workers[spec.name]?.state === "failed") this.#startWorker(spec);
    }
  }

  /**
   * Call a tool by name; one whose worker is still starting is called once it is up. While it
   * runs, its worker counts as busy.
   * @param {string} name
   * @param {object} args
   * @param {{onProgress?: (p: any) => void, signal?: AbortSignal, timeoutMs?: number}} [options]
   */
  async callTool(name, args, options = {}) {
    const worker = this.workerOf(name);
    const owner = [...this.registry?.packages ?? [], ...this.registry?.wasmPackages ?? []]
      .find((p) => p.tools.some((tool) => tool.name === name));
    if (!worker && owner && !this.loaded.has(owner.name)) {
      throw new Error(`${name} is in the package ${owner.name}, which is not loaded: install it under Runtimes in the Tools panel`);
    }
    if (owner && this.askConsent && this.grants?.status(owner).state === "ask") {
      await untilAborted(this.consent(owner.name), options.signal);
    }
    const starting = worker ? this.starting.get(worker) : undefined;
    if (starting && worker && ["starting", "restarting"].includes(this.workers[worker]?.state)) {
      await untilAborted(starting.catch(() => {}), options.signal);
    }
    if (worker && this.workers[worker]?.state === "failed") {
      throw new Error(`${name} is not available: its worker failed to start (${this.workers[worker].message}). ` +
        "Use Retry in the Tools panel.");
    }
    const busy = worker && this.workers[worker];
    if (busy) this.#setWorker(/** @type {string} */ (worker), { busy: (busy.busy ?? 0) + 1 });
    try {
      return await this.host.callTool(name, args, options);
    } finally {
      const now = worker && this.workers[worker];
      if (now) {
        this.#setWorker(/** @type {string} */ (worker), { busy: Math.max(0, (now.busy ?? 1) - 1),
          ...now.sessions ? { sessions: this.host.sessionsOf(/** @type {string} */ (worker)) } : {} });
      }
    }
  }

  /**
   * Ask the user about a package that wants network or storage and has no decision that covers
   * this version (once, however many calls wait for the answer). Denied, its tools still run, and
   * the host refuses their requests.
   * @param {string} name
   */
  async consent(name) {
    const pkg = this.registry?.packages.find((p) => p.name === name);
    if (!pkg || !this.grants || !this.askConsent) return;
    const status = this.grants.status(pkg);
    if (status.state !== "ask") return;
    let asking = this.asking.get(name);
    if (!asking) {
      const grants = this.grants;
      asking = this.askConsent(pkg, status).then((decision) => grants.decide(pkg, decision))
        .finally(() => this.asking.delete(name));
      this.asking.set(name, asking);
    }
    await asking;
  }

  /**
   * Install a package the dist offers: a Python package through `cloche/install` in its running
   * worker (an isolated one gets its own worker), a WASM package through `cloche/load`. Its
   * tools appear when the worker announces them. Remembered on this browser.
   * @param {string} name
   */
  async install(name) {
    const registry = this.#registry();
    const worker = workerOfPackage(registry, name);
    if (this.loaded.has(name)) return;
    await this.#change(name, "installing", async () => {
      await this.consent(name);
      const spec = this.specs.get(worker);
      if (!spec) {
        // An isolated package: its own worker, started with it; gone again if it cannot start.
        this.loaded.add(name);
        const own = /** @type {WorkerSpec} */ (isolatedWorkerSpec(registry, this.baseURL, name));
        try {
          await this.#startWorker(own);
        } catch (error) {
          this.loaded.delete(name);
          this.#forgetWorker(own.name);
          throw error;
        }
        this.#remember(name, true);
        return;
      }
      await this.#whenStarted(worker);
      if (spec.name === "wasm") {
        const wasm = /** @type {import("./tool-workers.js").WasmPackage} */ (
          (registry.wasmPackages ?? []).find((p) => p.name === name));
        const url = manifestURL(wasm, this.baseURL);
        spec.expectedTools = [...spec.expectedTools ?? [], ...toolsOf(registry, [name])];
        await this.host.request(worker, "cloche/load", { manifestURL: url });
        spec.options.manifests = [...spec.options.manifests, url];
      } else {
        // The worker has no network: the page fetches the wheel (and what it depends on) and
        // checks it against the lock's sha256 first.
        const wheels = await this.wheelsFor([name], {
          baseURL: this.baseURL, have: [...PYTHON_BASE_PACKAGES, ...spec.options.packages],
        });
        spec.expectedTools = [...spec.expectedTools ?? [], ...toolsOf(registry, [name])];
        await this.host.request(worker, "cloche/install", { wheels });
        spec.options.packages = [...spec.options.packages, name];
      }
      this.loaded.add(name);
      this.#remember(name, true);
    });
  }

  /**
   * Remove a loaded package: a WASM package is unloaded (`cloche/unload`); a Python package's
   * worker is restarted without it (Python cannot unimport a package cleanly), and an isolated
   * package's own worker is stopped. Remembered on this browser.
   * @param {string} name
   */
  async remove(name) {
    const registry = this.#registry();
    const worker = workerOfPackage(registry, name);
    if (!this.loaded.has(name)) return;
    await this.#change(name, "removing", async () => {
      const spec = /** @type {WorkerSpec} */ (this.specs.get(worker));
      if (spec.name === "wasm") {
        await this.#whenStarted(worker);
        const leaving = toolsOf(registry, [name]);
        spec.expectedTools = (spec.expectedTools ?? []).filter((tool) => !leaving.includes(tool));
        await this.host.request(worker, "cloche/unload", { package: name });
        const url = manifestURL(/** @type {any} */ ((registry.wasmPackages ?? []).find((p) => p.name === name)), this.baseURL);
        spec.options.manifests = spec.options.manifests.filter((/** @type {string} */ m) => m !== url);
        this.loaded.delete(name);
        this.#remember(name, false);
        return;
      }
      // Removed for good from here on, even if the restart below fails (Retry starts it again).
      this.loaded.delete(name);
      spec.options.packages = spec.options.packages.filter((/** @type {string} */ p) => p !== name);
      spec.expectedTools = toolsOf(registry, spec.options.packages);
      this.#remember(name, false);
      await this.host.removeWorker(worker);
      if (spec.name === "python-tools") {
        await this.#startWorker(spec);
        return;
      }
      // An isolated package's own worker goes with it.
      this.#forgetWorker(worker);
    });
  }

  /** @param {string} worker */
  #forgetWorker(worker) {
    this.specs.delete(worker);
    this.starting.delete(worker);
    this.workers = Object.fromEntries(Object.entries(this.workers).filter(([w]) => w !== worker));
  }

  #registry() {
    if (!this.registry) throw new Error("the runtimes have not started yet");
    return this.registry;
  }

  /**
   * Run one install or removal, showing its progress and any failure on the package's row.
   * @param {string} name
   * @param {"installing" | "removing"} state
   * @param {() => Promise<void>} work
   */
  async #change(name, state, work) {
    this.#setPackage(name, { state, message: "" });
    try {
      await work();
      this.#setPackage(name, { state: this.loaded.has(name) ? "loaded" : "available", message: "" });
    } catch (error) {
      this.#setPackage(name, { state: this.loaded.has(name) ? "loaded" : "available",
        message: `${state === "installing" ? "Installing" : "Removing"} ${name} failed: ${errorText(error)}` });
      this.#refresh();
      throw error;
    }
    this.#refresh();
  }

  /**
   * @param {string} name
   * @param {boolean} loaded
   */
  #remember(name, loaded) {
    const choices = readChoices(this.storage);
    const without = (/** @type {string[]} */ list) => list.filter((n) => n !== name);
    const boot = bootPackages(this.#registry()).includes(name);
    const next = {
      added: loaded && !boot ? [...without(choices.added), name] : without(choices.added),
      removed: !loaded && boot ? [...without(choices.removed), name] : without(choices.removed),
    };
    this.storage.setItem(PACKAGES_KEY, JSON.stringify(next));
  }

  /** @param {string} worker */
  async #whenStarted(worker) {
    await this.starting.get(worker)?.catch(() => {});  // a failed start is reported below
    if (this.workers[worker]?.state === "failed") {
      throw new Error(`its worker failed to start (${this.workers[worker].message}); use Retry first`);
    }
  }

  /** @param {WorkerSpec} spec */
  #startWorker(spec) {
    this.specs.set(spec.name, spec);
    const kind = spec.name === "wasm" ? "wasm" : "python";
    this.workers = { ...this.workers,
      [spec.name]: { state: "starting", kind, phase: kind === "wasm" ? "modules" : "download", fraction: 0, detail: "", busy: 0,
        ...spec.isolateCalls ? { sessions: [] } : {} } };
    const started = this.host.addWorker(spec).then(
      (info) => this.#setWorker(spec.name, { state: "ready", fraction: 1, detail: "", message: "", info }),
      (error) => {
        this.#setWorker(spec.name, { state: "failed", message: errorText(error), phase: error?.phase ?? "boot" });
        throw error;
      });
    started.catch(() => {});
    this.starting.set(spec.name, started);
    this.#refresh();
    return started;
  }

  /**
   * @param {string} name
   * @param {Partial<WorkerState>} patch
   */
  #setWorker(name, patch) {
    const current = this.workers[name];
    if (!current) return;
    this.workers = { ...this.workers, [name]: { ...current, ...patch } };
    this.onChange();
  }

  /**
   * @param {string} name
   * @param {Partial<PackageState>} patch
   */
  #setPackage(name, patch) {
    this.packages = this.packages.map((p) => (p.name === name ? { ...p, ...patch } : p));
    this.onChange();
  }

  /** The tools (the registry's for loaded packages, then what workers offer) and the packages. */
  #refresh() {
    const registry = this.registry;
    if (!registry) return;
    /** @type {Map<string, ListedTool>} */
    const tools = new Map();
    const all = [...registry.packages, ...registry.wasmPackages ?? []];
    for (const p of all) {
      if (!this.loaded.has(p.name)) continue;
      const worker = workerOfPackage(registry, p.name);
      for (const tool of p.tools) tools.set(tool.name, { ...tool, worker });
    }
    const unloaded = new Set(all.filter((p) => !this.loaded.has(p.name)).flatMap((p) => p.tools.map((t) => t.name)));
    for (const tool of this.host.tools) if (!unloaded.has(tool.name)) tools.set(tool.name, tool);
    this.tools = [...tools.values()];
    const previous = new Map(this.packages.map((p) => [p.name, p]));
    this.packages = all.map((p) => {
      const before = previous.get(p.name);
      const busy = before && (before.state === "installing" || before.state === "removing");
      return {
        name: p.name, version: p.version ?? "", runtime: registry.packages.includes(/** @type {any} */ (p)) ? "python" : "wasm",
        worker: workerOfPackage(registry, p.name), boot: p.boot !== false, tools: p.tools.map((t) => t.name),
        state: busy ? before.state : this.loaded.has(p.name) ? "loaded" : "available",
        message: before?.message ?? "",
        permissions: permissionsOf(p), grant: this.grants?.status(p).state ?? "none",
      };
    });
    this.onChange();
  }
}

/** @param {import("./worker-spawn.js").BootProgress} progress */
function bootDetail(progress) {
  if (progress.phase === "modules") {
    return progress.total ? `Loading WebAssembly modules: ${(progress.done ?? 0) + 1} of ${progress.total}` : "Loading WebAssembly modules…";
  }
  if (progress.phase === "download" && progress.total) {
    return `Downloading Python: ${megabytes(progress.done || 0)} of ${megabytes(progress.total)}`;
  }
  if (progress.phase === "download") return "Downloading Python…";
  if (progress.phase === "boot") return "Starting the Python interpreter…";
  return progress.detail ? `Loading packages: ${progress.detail}` : "Loading packages…";
}

/** @param {number} bytes */
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
