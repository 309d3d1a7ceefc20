// Page side of the Python worker's boot: fetch the build facts, start the worker, time it out.
// No DOM access, so node --test can import it.

/** Boot timeout when the page does not set one: a cold boot takes about 3 s here. */
export const DEFAULT_BOOT_TIMEOUT_MS = 60_000;

/**
 * @typedef {{python: string, cloche: string, crossOriginIsolated: boolean}} PythonInfo
 * @typedef {{phase: string, done?: number, total?: number, detail?: string}} BootProgress
 */

export class PythonBootError extends Error {
  /**
   * @param {string} phase
   * @param {string} message
   */
  constructor(phase, message) {
    super(message);
    this.name = "PythonBootError";
    this.phase = phase;
  }
}

/**
 * Start a Python worker and resolve once Python answers, or reject with a PythonBootError that
 * names what failed. The worker is terminated on failure and on timeout.
 * @param {{baseURL: string | URL, timeoutMs?: number, onProgress?: (p: BootProgress) => void,
 *          workerURL?: string | URL}} options
 * @returns {Promise<{worker: Worker, info: PythonInfo}>}
 */
export async function startPythonWorker(options) {
  const { baseURL, onProgress = () => {} } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  const buildInfoURL = new URL("build-info.json", baseURL);
  let response;
  try {
    response = await fetch(buildInfoURL);
  } catch (error) {
    throw new PythonBootError("download", `${buildInfoURL.pathname} could not be fetched: ${error}`);
  }
  if (!response.ok) {
    throw new PythonBootError("download",
      `${buildInfoURL.pathname} is missing (HTTP ${response.status}): the dist is not built or not served whole.`);
  }
  const buildInfo = await response.json();
  const workerURL = options.workerURL ?? new URL("workers/python-worker.js", baseURL);
  const worker = new Worker(workerURL, { type: "module", name: "cloche-python" });

  let phase = "download";
  return new Promise((resolve, reject) => {
    /** @param {PythonBootError} error */
    const fail = (error) => {
      clearTimeout(timer);
      worker.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new PythonBootError(phase,
      `Python did not start within ${Math.round(timeoutMs / 1000)} s (stuck in the ${phase} phase). ` +
      "A slow network may need a longer boot timeout (?bootTimeout=SECONDS).")), timeoutMs);
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      fail(new PythonBootError(phase, event.message ||
        `the Python worker (${new URL(workerURL).pathname}) failed to load or crashed.`));
    });
    worker.addEventListener("message", (event) => {
      const message = event.data;
      if (message.type === "progress") {
        phase = message.phase;
        onProgress(message);
      } else if (message.type === "failed") {
        fail(new PythonBootError(message.phase, message.message));
      } else if (message.type === "ready") {
        clearTimeout(timer);
        const { python, cloche, crossOriginIsolated } = message;
        resolve({ worker, info: { python, cloche, crossOriginIsolated } });
      }
    });
    worker.postMessage({ type: "boot", buildInfo, buildInfoURL: buildInfoURL.href });
  });
}
