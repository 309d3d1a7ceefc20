// What the app hands its Python workers so that they start fast (docs/performance.md): Pyodide's
// WebAssembly compiled once for all of them, and a memory snapshot of an interpreter with Cloche
// loaded, made on the first visit by a worker of its own (which runs no tool) and kept in
// IndexedDB for the next visits. The app's only (docs embeds start their workers plainly).
import { requestDone, transactionDone } from "./idb.js";
import { PYTHON_WORKER_URL } from "./tool-workers.js";

export const SNAPSHOT_DATABASE = "cloche-snapshots";
const STORE = "snapshots";

/**
 * @typedef {import("../workers/pyodide-boot.js").BootAssets} BootAssets
 * @typedef {{database?: string, snapshots?: boolean, fetchImpl?: typeof fetch,
 *            indexedDB?: IDBFactory, makeAfterMs?: number, makeTimeoutMs?: number}} AssetOptions
 *   snapshots: false boots every worker afresh (the page's ?snapshots=off, and tests comparing
 *   both ways)
 *   makeAfterMs: how long after the first worker started afresh the snapshot is made, so that it
 *   does not slow the workers the page is waiting for (default 1 s)
 */

export class PythonBootAssets {
  /**
   * @param {URL} baseURL  where build-info.json and the lock are
   * @param {AssetOptions} [options]
   */
  constructor(baseURL, options = {}) {
    this.baseURL = baseURL;
    this.snapshots = options.snapshots ?? true;
    this.database = options.database ?? SNAPSHOT_DATABASE;
    this.fetch = options.fetchImpl ?? fetch.bind(globalThis);
    this.indexedDB = options.indexedDB ?? globalThis.indexedDB;
    this.makeAfterMs = options.makeAfterMs ?? 1_000;
    this.makeTimeoutMs = options.makeTimeoutMs ?? 120_000;
    /** How the workers started: for the runtime panel, tests and the bench. */
    this.counts = { snapshot: 0, fresh: 0, made: 0, refused: 0 };
    /** @type {Promise<{module: Promise<WebAssembly.Module | null>, key: string}> | null} */
    this.prepared = null;
    /** @type {Promise<Uint8Array | null> | null} */
    this.kept = null;
    this.making = false;
  }

  /** Compile Pyodide's WebAssembly and find the snapshot, once: start this as early as possible. */
  prepare() {
    this.prepared ??= this.#prepare();
    return this.prepared;
  }

  async #prepare() {
    // Read at once, beside the fetches: one snapshot is kept, whose key is checked below.
    const stored = this.snapshots ? this.#readKept() : Promise.resolve(null);
    const infoText = await (await this.fetch(new URL("build-info.json", this.baseURL))).text();
    const info = JSON.parse(infoText);
    const wasm = new URL(`${info.pyodideIndexURL}pyodide.asm.wasm`, this.baseURL);
    // Started first, and not waited for here: workers start loading the rest meanwhile, and wait
    // for it only to instantiate (pyodide-boot.js fromModule).
    const module = WebAssembly.compileStreaming(this.fetch(wasm)).catch((error) => {
      // Each worker then compiles its own and reports what is wrong with the file.
      console.warn(`cloche: ${wasm.pathname} could not be compiled in the page: ${error}`);
      return null;
    });
    const lockText = await (await this.fetch(new URL(info.lockFileURL, this.baseURL))).text();
    // A snapshot is good for this exact build: the core's version and file sizes, and every
    // wheel's sha256 in the lock.
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${infoText}\n${lockText}`));
    const key = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    // Another build's snapshot is not used; the next one made replaces it.
    const kept = this.kept ??= stored.then((record) => (record?.key === key ? record.snapshot : null));
    // With no snapshot this is likely a first visit: the rest of the core, which the workers fetch
    // themselves (pyodide-boot.js downloadCore), is asked for now, to be in the HTTP cache by then.
    kept.then((snapshot) => {
      if (snapshot) return;
      for (const name of Object.keys(info.coreFiles).filter((n) => !n.endsWith(".wasm"))) {
        this.fetch(new URL(`${info.pyodideIndexURL}${name}`, this.baseURL)).then((r) => r.arrayBuffer()).catch(() => {});
      }
    });
    return { module, key };
  }

  /**
   * What the next Python worker's cloche/init carries as `boot`; the module is a promise, which
   * the spawner sends on when it settles.
   * @returns {Promise<{module: Promise<WebAssembly.Module | null>, snapshot?: Uint8Array}>}
   */
  async forWorker() {
    const { module } = await this.prepare();
    if (!this.snapshots) return { module };
    const snapshot = await this.kept;
    return snapshot ? { module, snapshot } : { module };
  }

  /**
   * How a worker started (its cloche/ready info). A snapshot Pyodide refused, or one a worker
   * failed to start from, is dropped. Without a snapshot, one is made in the background.
   * @param {{started?: string, snapshotProblem?: string} | undefined} info
   * @param {{snapshot?: Uint8Array}} assets  what it was given
   */
  started(info, assets) {
    if (info?.started === "snapshot") this.counts.snapshot++;
    else this.counts.fresh++;
    if (assets.snapshot && info?.started !== "snapshot") this.drop(info?.snapshotProblem ?? "the worker did not start from it");
    if (info?.started !== "snapshot") this.#makeSoon();
  }

  #makeSoon() {
    if (!this.snapshots || this.making) return;
    this.making = true;
    setTimeout(() => this.#make().finally(() => { this.making = false; }), this.makeAfterMs);
  }

  /**
   * Make a snapshot in a worker of its own: a Python worker told to make one loads Cloche, hands
   * the snapshot back and serves nothing (web/workers/python-worker.js). No tool code ever runs in
   * the interpreter a snapshot is taken of.
   */
  async #make() {
    const { module } = await this.prepare();
    if (await this.kept) return;
    const worker = new Worker(new URL(PYTHON_WORKER_URL, this.baseURL), { type: "module", name: "cloche-snapshot" });
    try {
      const snapshot = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`none came within ${this.makeTimeoutMs / 1000} s`)), this.makeTimeoutMs);
        worker.onmessage = (event) => {
          if (event.data?.type === "cloche/snapshot" && event.data.snapshot instanceof Uint8Array) resolve(event.data.snapshot);
          else if (event.data?.type === "cloche/failed") reject(new Error(event.data.message));
          else return;
          clearTimeout(timer);
        };
        worker.onerror = (event) => { clearTimeout(timer); reject(new Error(event.message || "the worker failed to load")); };
        module.then((compiled) => worker.postMessage(
          { type: "cloche/init", options: {}, boot: { makeSnapshot: true, ...compiled ? { module: compiled } : {} } }));
      });
      await this.keep(snapshot);
    } catch (error) {
      console.warn(`cloche: no Python snapshot was made: ${error instanceof Error ? error.message : error}`);
    } finally {
      worker.terminate();
    }
  }

  /**
   * Keep a snapshot for the workers after it and for the next visits.
   * @param {Uint8Array} snapshot
   */
  async keep(snapshot) {
    const { key } = await this.prepare();
    this.counts.made++;
    this.kept = Promise.resolve(snapshot);
    await this.#write(key, snapshot).catch((error) =>
      console.warn(`cloche: the Python snapshot could not be kept for the next visit: ${error}`));
  }

  /** @param {string} reason */
  drop(reason) {
    this.counts.refused++;
    console.warn(`cloche: the Python snapshot was dropped: ${reason}`);
    this.kept = Promise.resolve(null);
    this.prepare().then(({ key }) => this.#delete(key)).catch(() => {});
  }

  /** @returns {Promise<IDBDatabase>} */
  async #open() {
    const request = this.indexedDB.open(this.database, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    return requestDone(request);
  }

  /** The snapshot kept, with its key. @returns {Promise<{key: string, snapshot: Uint8Array} | null>} */
  async #readKept() {
    try {
      const db = await this.#open();
      try {
        const cursor = await requestDone(db.transaction(STORE).objectStore(STORE).openCursor());
        return cursor && cursor.value instanceof Uint8Array ? { key: String(cursor.key), snapshot: cursor.value } : null;
      } finally {
        db.close();
      }
    } catch (error) {
      console.warn(`cloche: no Python snapshot could be read: ${error}`);
      return null;
    }
  }

  /** One snapshot is kept: the current build's. @param {string} key @param {Uint8Array} snapshot */
  async #write(key, snapshot) {
    const db = await this.#open();
    try {
      const transaction = db.transaction(STORE, "readwrite");
      const store = transaction.objectStore(STORE);
      store.clear();
      store.put(snapshot, key);
      await transactionDone(transaction);
    } finally {
      db.close();
    }
  }

  /** @param {string} key */
  async #delete(key) {
    const db = await this.#open();
    try {
      const transaction = db.transaction(STORE, "readwrite");
      transaction.objectStore(STORE).delete(key);
      await transactionDone(transaction);
    } finally {
      db.close();
    }
  }
}
