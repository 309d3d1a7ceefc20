// Booting Pyodide in phases: download the core, start the interpreter, load packages.
// No DOM and no worker globals here: the worker entry passes in what it needs.

/**
 * @typedef {{cloche: string, pyodide: string, pyodideIndexURL: string, lockFileURL: string,
 *            coreFiles: Record<string, number>}} BuildInfo
 * @typedef {{phase: "download" | "boot" | "packages", done?: number, total?: number,
 *            detail?: string}} Progress
 * @typedef {(progress: Progress) => void} ProgressCallback
 */

/** Content types Pyodide's core must be served with; anything else hangs or breaks the boot. */
export const REQUIRED_TYPES = {
  ".wasm": "application/wasm",
  ".mjs": "text/javascript",
};

/** An error that names the phase and the asset that failed, for the page to show as it is. */
export class BootError extends Error {
  /**
   * @param {string} phase
   * @param {string} message
   */
  constructor(phase, message) {
    super(message);
    this.name = "BootError";
    this.phase = phase;
  }
}

/**
 * @param {string} name
 * @param {string | null} contentType
 */
export function contentTypeProblem(name, contentType) {
  const suffix = name.slice(name.lastIndexOf("."));
  const required = REQUIRED_TYPES[/** @type {keyof typeof REQUIRED_TYPES} */ (suffix)];
  const actual = (contentType || "").split(";")[0].trim().toLowerCase();
  if (required && actual !== required) {
    return `${name} is served as ${actual || "no content type"}; it must be ${required}. ` +
      "Serve the dist with `cloche serve`, or fix the MIME types of your web server.";
  }
  return null;
}

/**
 * Fetch every core file once, checking status and content type, so that a broken server gives a
 * clear error naming the file instead of a boot that never ends. The bytes land in the HTTP cache
 * (the core lives under a versioned, immutable path), where loadPyodide then finds them. With
 * `checkOnly`, when the page has fetched the core already, only status and type are checked.
 * @param {URL} indexURL
 * @param {Record<string, number>} coreFiles  name -> size in bytes
 * @param {ProgressCallback} report
 * @param {typeof fetch} fetchImpl
 */
export async function downloadCore(indexURL, coreFiles, report, fetchImpl = fetch, { checkOnly = false } = {}) {
  const total = Object.values(coreFiles).reduce((a, b) => a + b, 0);
  let done = 0;
  report({ phase: "download", done, total });
  await Promise.all(Object.keys(coreFiles).map(async (name) => {
    const url = new URL(name, indexURL);
    let response;
    try {
      response = await fetchImpl(url);
    } catch (error) {
      throw new BootError("download", `${url.pathname} could not be fetched: ${error}`);
    }
    if (!response.ok) {
      throw new BootError("download",
        `${url.pathname} is missing: the server answered ${response.status} ${response.statusText}. ` +
        "Rebuild the dist (`cloche build`) and serve it whole.");
    }
    const problem = contentTypeProblem(url.pathname, response.headers.get("content-type"));
    if (problem) throw new BootError("download", problem);
    if (checkOnly) {
      await response.body?.cancel();
      return;
    }
    if (!response.body) return;
    const reader = response.body.getReader();
    for (;;) {
      const { done: finished, value } = await reader.read();
      if (finished) break;
      done += value.byteLength;
      report({ phase: "download", done: Math.min(done, total), total, detail: name });
    }
  }));
  report({ phase: "download", done: total, total });
}

/**
 * Read the build facts (where the core is, its file sizes, the lock) written by `cloche build`.
 * @param {URL} url
 * @returns {Promise<BuildInfo>}
 */
export async function loadBuildInfo(url, fetchImpl = fetch) {
  let response;
  try {
    response = await fetchImpl(url);
  } catch (error) {
    throw new BootError("download", `${url.pathname} could not be fetched: ${error}`);
  }
  if (!response.ok) {
    throw new BootError("download", `${url.pathname} is missing (HTTP ${response.status}): ` +
      "the dist is not built or not served whole. Rebuild it with `cloche build`.");
  }
  return response.json();
}

/**
 * What the page may hand a Python worker to start faster (docs/performance.md):
 * @typedef {{module?: WebAssembly.Module | Promise<WebAssembly.Module | null>,
 *            snapshot?: Uint8Array | Promise<Uint8Array | undefined>, makeSnapshot?: boolean}} BootAssets
 *   module: pyodide.asm.wasm, compiled once by the page for all its workers; while the page is
 *   still compiling it, a promise (null if the page could not: the worker then fetches its own)
 *   snapshot: a memory snapshot an earlier worker made (SNAPSHOT_PACKAGES loaded and imported), or
 *   the promise of one
 *   makeSnapshot: make one, and hand it back with the result
 * @typedef {{pyodide: any, restored: boolean, snapshot?: Uint8Array, snapshotProblem?: string}} Booted
 */

/** What a snapshot holds: the packages every Python worker loads, loaded and imported, no more. */
export const SNAPSHOT_PACKAGES = ["micropip", "cloche"];
/** Imported before the snapshot is taken: Cloche's own modules, which the worker imports anyway
 * (not micropip or pyodide.http: they hold JavaScript objects a snapshot cannot carry). */
const SNAPSHOT_IMPORTS = "import cloche.worker";

/**
 * Start the interpreter and load packages by name from the dist's lock, checking each arrived:
 * with a missing wheel loadPackage resolves to [] instead of throwing. From `assets.snapshot` when
 * there is one (falling back to a fresh start, with the reason, when Pyodide refuses it).
 * Outside a browser (Deno, for `cloche mcp`: web/workers/python-deno-worker.js) the dist is read
 * from `file:` URLs: `fetchImpl` then serves them with the content types a web server would.
 * @param {URL} buildInfoURL
 * @param {string[]} packages
 * @param {ProgressCallback} report
 * @param {BootAssets} [assets]
 * @param {typeof fetch} [fetchImpl]  for build-info.json and the core's check
 * @returns {Promise<Booted>}
 */
export async function bootPyodide(buildInfoURL, packages, report, assets = {}, fetchImpl = fetch) {
  report({ phase: "download" });
  const info = await loadBuildInfo(buildInfoURL, fetchImpl);
  const indexURL = new URL(info.pyodideIndexURL, buildInfoURL);
  // Files on disk: Pyodide reads them itself, so they are only checked here, not read twice.
  const onDisk = indexURL.protocol === "file:";
  let module;
  let snapshot = assets.module ? undefined : await assets.snapshot;
  if (assets.module) {
    // While the page compiles the WebAssembly, Pyodide's JavaScript loads here (loadPyodide
    // imports the same module, already evaluated then), and the rest of the core, which the page
    // has fetched, is checked.
    import(new URL("pyodide.asm.mjs", indexURL).href).catch(() => {});
    await downloadCore(indexURL, withoutWasm(info.coreFiles), report, fetchImpl, { checkOnly: true });
    module = await assets.module;
    snapshot = await assets.snapshot;
    // The page could not compile it: fetched here, so that the error names what is wrong.
    if (!module) await downloadCore(indexURL, onlyWasm(info.coreFiles), report, fetchImpl);
  } else {
    await downloadCore(indexURL, info.coreFiles, report, fetchImpl, { checkOnly: onDisk });
  }

  report({ phase: "boot" });
  const stderr = /** @type {string[]} */ ([]);
  /** @type {any} */
  let pyodide;
  let restored = false;
  let snapshotProblem;
  try {
    const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
    const options = {
      indexURL: pyodideLocation(indexURL),
      lockFileURL: pyodideLocation(new URL(info.lockFileURL, buildInfoURL)),
      stdout: () => {},
      stderr: (/** @type {string} */ line) => { stderr.push(line); },
    };
    if (snapshot) {
      try {
        pyodide = await fromModule(module, () => loadPyodide({ ...options, _loadSnapshot: snapshot }));
        restored = true;
      } catch (error) {
        snapshotProblem = `the snapshot was not restored (${error}); started afresh`;
      }
    }
    pyodide ??= await fromModule(module,
      () => loadPyodide({ ...options, ...assets.makeSnapshot ? { _makeSnapshot: true } : {} }));
  } catch (error) {
    throw new BootError("boot", `Pyodide failed to start: ${error}`);
  }

  let made;
  if (assets.makeSnapshot && !restored) {
    await loadPackages(pyodide, SNAPSHOT_PACKAGES, stderr, report);
    try {
      made = takeSnapshot(pyodide);
    } catch (error) {
      snapshotProblem = `no snapshot was made: ${error}`;
    }
  }
  // Those loaded for the snapshot are not loaded twice (loadPackage leaves them out of its answer).
  await loadPackages(pyodide, packages.filter((name) => !(name in pyodide.loadedPackages)), stderr, report);
  if (restored) pyodide.pyimport("cloche.worker").reseed_after_restore();
  return { pyodide, restored, snapshot: made, snapshotProblem };
}

/**
 * Where loadPyodide is to look: a URL in a browser; a path for a `file:` URL, since Pyodide takes
 * its Node code path under Deno (which has `process`) and reads files by path there.
 * @param {URL} url
 */
function pyodideLocation(url) {
  if (url.protocol !== "file:") return url.href;
  const path = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;  // /C:/dist/ on Windows
}

/** @param {Record<string, number>} coreFiles */
function withoutWasm(coreFiles) {
  return Object.fromEntries(Object.entries(coreFiles).filter(([name]) => !name.endsWith(".wasm")));
}

/** @param {Record<string, number>} coreFiles */
function onlyWasm(coreFiles) {
  return Object.fromEntries(Object.entries(coreFiles).filter(([name]) => name.endsWith(".wasm")));
}

/**
 * Run `start` (a loadPyodide) so that Pyodide instantiates `module` instead of compiling its own:
 * it instantiates pyodide.asm.wasm with WebAssembly.instantiateStreaming, which is swapped for
 * the time of the start only, before any tool code exists in this worker.
 * @param {WebAssembly.Module | null | undefined} module
 * @param {() => Promise<any>} start
 */
async function fromModule(module, start) {
  if (!module) return start();
  const { instantiateStreaming } = WebAssembly;
  WebAssembly.instantiateStreaming = async (_source, imports) =>
    ({ module, instance: await WebAssembly.instantiate(module, imports) });
  try {
    return await start();
  } finally {
    WebAssembly.instantiateStreaming = instantiateStreaming;
  }
}

/**
 * The heap after SNAPSHOT_IMPORTS, as Pyodide's makeMemorySnapshot gives it. The files packages
 * unpacked live outside the heap (Emscripten's in-memory file system), so a restored worker loads
 * its packages again: Pyodide's record of loaded packages is left out of the snapshot (it refuses
 * one taken with any) and put back after.
 * @param {any} pyodide
 * @returns {Uint8Array}
 */
function takeSnapshot(pyodide) {
  pyodide.runPython(SNAPSHOT_IMPORTS);
  const loaded = { ...pyodide.loadedPackages };
  for (const name of Object.keys(loaded)) delete pyodide.loadedPackages[name];
  try {
    return pyodide.makeMemorySnapshot();
  } finally {
    Object.assign(pyodide.loadedPackages, loaded);
  }
}

/**
 * @param {any} pyodide
 * @param {string[]} packages
 * @param {string[]} stderr  what Pyodide wrote there, for the reason of a failure
 * @param {ProgressCallback} report
 */
async function loadPackages(pyodide, packages, stderr, report) {
  report({ phase: "packages", detail: packages.join(", ") });
  const messages = /** @type {string[]} */ ([]);
  let loaded;
  try {
    loaded = await pyodide.loadPackage(packages, {
      messageCallback: () => {},
      errorCallback: (/** @type {string} */ line) => { messages.push(line); },
    });
  } catch (error) {
    messages.push(String(error));
  }
  const names = new Set((loaded || []).map((/** @type {{name: string}} */ p) => p.name));
  const missing = packages.filter((name) => !names.has(name));
  if (missing.length) {
    const why = [...messages, ...stderr].join(" ").trim() || "no reason given";
    throw new BootError("packages", `could not load ${missing.join(", ")} from the lock: ${why}`);
  }
}

/**
 * Facts computed inside the worker's Python, returned as JSON text (no PyProxy leaves here).
 * @param {any} pyodide
 */
export function describePython(pyodide) {
  const json = pyodide.runPython(
    "import json, sys, cloche\n" +
    "json.dumps({'python': '.'.join(map(str, sys.version_info[:3])), 'cloche': cloche.__version__})",
  );
  return JSON.parse(json);
}

/** Once the heap has grown this much past its boot size, the worker says how much of it is in use. */
export const MEASURE_IN_USE_AFTER_BYTES = 256 * 2 ** 20;

/**
 * The heap's size (Pyodide's wasm memory, which never shrinks) and, once it has grown more than
 * MEASURE_IN_USE_AFTER_BYTES past `bootBytes`, how much of it malloc has handed out: dlmalloc's
 * mallinfo().uordblks. mallinfo walks the whole heap (2-8 ms at 1 GiB), hence only then. The host
 * replaces a worker whose heap is mostly unused (docs/worker-protocol.md, "Memory").
 * @param {any} pyodide
 * @param {number} [bootBytes]
 * @returns {{bytes: number, inUseBytes?: number}}
 */
export function heapUsage(pyodide, bootBytes = Infinity) {
  const module = pyodide._module;
  const bytes = module.HEAPU8.length;
  if (!(bytes - bootBytes > MEASURE_IN_USE_AFTER_BYTES) || typeof module._mallinfo !== "function") {
    return { bytes };
  }
  // struct mallinfo is ten 32-bit size_t fields; on the stack, since malloc may be out of room.
  const top = module.stackSave();
  try {
    const info = module.stackAlloc(40);
    module._mallinfo(info);
    return { bytes, inUseBytes: module.HEAPU32[(info >> 2) + 7] };  // uordblks: bytes in use
  } finally {
    module.stackRestore(top);
  }
}
