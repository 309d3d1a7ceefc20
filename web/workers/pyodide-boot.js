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
 * (the core lives under a versioned, immutable path), where loadPyodide then finds them.
 * @param {URL} indexURL
 * @param {Record<string, number>} coreFiles  name -> size in bytes
 * @param {ProgressCallback} report
 * @param {typeof fetch} fetchImpl
 */
export async function downloadCore(indexURL, coreFiles, report, fetchImpl = fetch) {
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
 * Start the interpreter and load packages by name from the dist's lock, checking each arrived:
 * with a missing wheel loadPackage resolves to [] instead of throwing.
 * @param {URL} buildInfoURL
 * @param {string[]} packages
 * @param {ProgressCallback} report
 */
export async function bootPyodide(buildInfoURL, packages, report) {
  report({ phase: "download" });
  const info = await loadBuildInfo(buildInfoURL);
  const indexURL = new URL(info.pyodideIndexURL, buildInfoURL);
  await downloadCore(indexURL, info.coreFiles, report);

  report({ phase: "boot" });
  const stderr = /** @type {string[]} */ ([]);
  /** @type {any} */
  let pyodide;
  try {
    const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
    pyodide = await loadPyodide({
      indexURL: indexURL.href,
      lockFileURL: new URL(info.lockFileURL, buildInfoURL).href,
      stdout: () => {},
      stderr: (/** @type {string} */ line) => { stderr.push(line); },
    });
  } catch (error) {
    throw new BootError("boot", `Pyodide failed to start: ${error}`);
  }

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
  return pyodide;
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
