// Starting a tool worker in the browser, per docs/worker-protocol.md: a module Worker, a
// MessageChannel whose port it gets for MCP, progress until ready, and a boot timeout.

/** Boot timeout when the page does not set one: a cold Python boot takes about 3 s here. */
export const DEFAULT_BOOT_TIMEOUT_MS = 60_000;

export class WorkerBootError extends Error {
  /**
   * @param {string} worker
   * @param {string} phase
   * @param {string} message
   */
  constructor(worker, phase, message) {
    super(message);
    this.name = "WorkerBootError";
    this.worker = worker;
    this.phase = phase;
  }
}

/**
 * @typedef {{phase: string, done?: number, total?: number, detail?: string}} BootProgress
 * @typedef {{bootTimeoutMs?: number, onProgress?: (worker: string, p: BootProgress) => void,
 *            trustAfterBoot?: boolean, realm?: () => (Window | null),
 *            bootAssets?: import("./python-boot-assets.js").PythonBootAssets}} SpawnOptions
 *   trustAfterBoot: keep believing the global channel after cloche/ready, as before issue 12 (the
 *   check switched off: only the hostile-tool suite's controls set it)
 *   realm: a frame whose own Content-Security-Policy the workers should live under (the docs
 *   embed's policy frame, web/embed/policy-frame.js): they start there as blob: modules, which
 *   inherit the policy of the frame that made them
 *   bootAssets: what Python workers (specs with runtime "python") get to start fast: the page's
 *   compiled Pyodide and a memory snapshot (python-boot-assets.js); the app's only
 */

/**
 * A `spawn` for WorkerHost. Workers marked `interruptible` get a SharedArrayBuffer interrupt
 * buffer when the page is cross-origin isolated (Pyodide raises KeyboardInterrupt when it holds 2).
 * @param {SpawnOptions} [defaults]
 * @returns {import("./worker-host.js").Spawn}
 */
export function moduleWorkerSpawner(defaults = {}) {
  return (spec) => spawnModuleWorker(spec, defaults);
}

/**
 * @param {import("./worker-host.js").WorkerSpec} spec
 * @param {SpawnOptions} [options]
 * @returns {import("./worker-host.js").WorkerHandle}
 */
export function spawnModuleWorker(spec, options = {}) {
  if (!spec.url) throw new Error(`worker "${spec.name}" has no url`);
  const url = new URL(spec.url, location.href);
  const timeoutMs = options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  const onProgress = options.onProgress ?? (() => {});
  const realm = options.realm?.();
  const workerOptions = /** @type {WorkerOptions} */ ({ type: "module", name: `cloche-${spec.name}` });
  /** @type {Worker} */
  const worker = realm ? new (/** @type {any} */ (realm).Worker)(importingEntry(url, realm), workerOptions)
    : new Worker(url.origin === location.origin ? url : importingEntry(url, globalThis), workerOptions);
  const channel = new MessageChannel();
  const interruptBuffer = spec.interruptible && globalThis.crossOriginIsolated
    ? new Uint8Array(new SharedArrayBuffer(1)) : undefined;
  let phase = "download";
  let booted = false;
  // Python workers get the page's boot assets (python-boot-assets.js) in a message after
  // cloche/init, once they are ready: the worker starts loading meanwhile.
  /** @type {Promise<{module: WebAssembly.Module | null, snapshot?: Uint8Array} | undefined> | undefined} */
  const booting = spec.runtime === "python" && options.bootAssets
    ? options.bootAssets.forWorker()
      .then(async ({ module, snapshot }) => ({ module: await module, snapshot }))
      .catch((error) => {
        console.warn(`cloche: the ${spec.name} worker starts without the page's boot assets: ${error}`);
        return undefined;
      })
    : undefined;

  /** @type {import("./worker-host.js").WorkerHandle} */
  const handle = {
    port: channel.port1,
    ready: Promise.resolve(),
    terminate: () => worker.terminate(),
    interrupt: interruptBuffer ? () => { interruptBuffer[0] = 2; } : undefined,
    clearInterrupt: interruptBuffer ? () => { interruptBuffer[0] = 0; } : undefined,
  };
  handle.ready = new Promise((resolve, reject) => {
    /** @param {string} message */
    const fail = (message) => {
      clearTimeout(timer);
      booting?.then((boot) => { if (boot?.snapshot) options.bootAssets?.drop(`a worker failed to start from it: ${message}`); });
      worker.terminate();
      reject(new WorkerBootError(spec.name, phase, message));
    };
    const timer = setTimeout(() => fail(
      `the ${spec.name} worker did not start within ${Math.round(timeoutMs / 1000)} s ` +
      `(stuck in the ${phase} phase). A slow network may need a longer boot timeout.`), timeoutMs);
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      const message = event.message || `the ${spec.name} worker (${url.pathname}) failed to load or crashed`;
      if (booted) handle.onCrash?.(message); else fail(message);
    });
    worker.addEventListener("message", (event) => {
      const message = event.data;
      // The global channel is for start-up only: once the worker is ready, tool code may run in
      // it, and nothing it posts here is believed (its death shows as an `error` event, or a
      // failed ping). Such messages are counted, for tests and the curious.
      if (booted && !options.trustAfterBoot) {
        handle.ignoredMessages = (handle.ignoredMessages ?? 0) + 1;
        return;
      }
      if (message?.type === "cloche/progress") {
        phase = message.phase;
        onProgress(spec.name, message);
      } else if (message?.type === "cloche/failed") {
        fail(message.message);
      } else if (message?.type === "cloche/ready") {
        clearTimeout(timer);
        booted = true;
        booting?.then((boot) => { if (boot) options.bootAssets?.started(message.info, boot); });
        resolve(message.info);
      }
    });
  });
  worker.postMessage({ type: "cloche/init", port: channel.port2, options: spec.options ?? {}, interruptBuffer,
    ...booting ? { boot: { coming: true } } : {} }, [channel.port2]);
  booting?.then((boot) => worker.postMessage({ type: "cloche/boot", module: boot?.module ?? null, snapshot: boot?.snapshot }));
  return handle;
}

/**
 * A blob: module, made in `realm`, that imports the worker script. A worker script on another
 * origin (a dist on a CDN) cannot be started directly, and one started in a policy frame must be a
 * blob: of that frame to inherit its policy. Another origin must send CORS headers for the script
 * and everything the worker then fetches from there (docs/embedding.md).
 * @param {URL} url
 * @param {any} realm  a window (or the worker's global) whose URL and Blob make the entry
 */
function importingEntry(url, realm) {
  return realm.URL.createObjectURL(new realm.Blob([`import ${JSON.stringify(url.href)};\n`], { type: "text/javascript" }));
}
