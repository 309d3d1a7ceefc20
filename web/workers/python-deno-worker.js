// The Pyodide side of `cloche mcp`'s Deno process (python-deno.js starts it as a Worker): boot
// Pyodide from the dist with the packages asked for, then bridge MCP between the process's main
// thread and cloche's PythonWorker, JSON text both ways, as python-worker.js does in a page.
//
// Deno's permissions (read the dist, reach granted hosts, nothing else) are the boundary here, not
// this file. What it closes is the protocol channel: stdout belongs to the main thread, so tool code
// (which can `import js`) finds no stdin or stdout here, and every console or Python output goes to
// stderr. Not a boundary either: Deno lets any code write to a file descriptor through node:fs.
import { bootPyodide, describePython, heapUsage, BootError, SNAPSHOT_PACKAGES } from "./pyodide-boot.js";
import { closeLoaders } from "./lockdown.js";

/** @type {any} Deno's namespace, untyped here (tsc checks this file against the worker globals). */
const Deno = /** @type {any} */ (globalThis).Deno;

// Kept in this module's scope before the globals are replaced: only this module talks to the main thread.
const toMain = self.postMessage.bind(self);
const stderr = Deno.stderr;
const encoder = new TextEncoder();
/** @param {string} text */
function writeStderr(text) {
  const bytes = encoder.encode(text.endsWith("\n") ? text : `${text}\n`);
  try {
    for (let written = 0; written < bytes.length;) written += stderr.writeSync(bytes.subarray(written));
  } catch {
    // stderr is gone: there is nowhere left to say so
  }
}

const WHY = "stdout is the MCP channel of `cloche mcp` and stdin its input; tool code prints to stderr";

/** @param {string} name */
function refusal(name) {
  return () => { throw new Error(`${name} is not available to tool code: ${WHY}`); };
}

/** Console output to stderr, from the start: Pyodide's own warnings included. */
function consoleToStderr() {
  const DenoConsole = Deno[Deno.internal]?.Console;
  const quiet = DenoConsole ? new DenoConsole((/** @type {string} */ text) => writeStderr(text)) : null;
  if (quiet) {
    Object.defineProperty(globalThis, "console", { value: quiet, writable: false, configurable: false });
  } else {
    const error = console.error.bind(console);
    for (const name of ["log", "info", "debug", "dir", "dirxml", "table", "group", "groupCollapsed"]) {
      /** @type {any} */ (console)[name] = error;
    }
  }
}

/**
 * After the boot (Pyodide's Node code path reads `process.stdin` then) and before any tool code
 * exists: no stdin or stdout, no posting to the main thread. A property that cannot be replaced is
 * left as it is, and said so on stderr.
 */
function closeStdio() {
  const seal = (/** @type {any} */ holder, /** @type {string} */ key, /** @type {PropertyDescriptor} */ how) => {
    try {
      Object.defineProperty(holder, key, { ...how, enumerable: false, configurable: false });
    } catch (error) {
      writeStderr(`cloche: ${key} stays reachable (${error})`);
    }
  };
  for (const name of ["stdin", "stdout"]) seal(Deno, name, { get: refusal(`Deno.${name}`) });
  const process = /** @type {any} */ (globalThis).process;
  if (process) {
    const stderrStream = process.stderr;
    seal(process, "stdout", { get: () => stderrStream });
    seal(process, "stdin", { get: refusal("process.stdin") });
  }
  // The main thread writes whatever this worker posts to stdout; `close` would leave it serving no one.
  seal(self, "postMessage", { value: refusal("postMessage"), writable: false });
  seal(self, "close", { value: refusal("close"), writable: false });
}

/** Serve the dist's `file:` URLs with the content types a web server would (pyodide-boot.js checks them). */
const CONTENT_TYPES = /** @type {Record<string, string>} */ ({
  ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
  ".json": "application/json", ".zip": "application/zip",
});

/** @type {typeof fetch} */
const fetchFiles = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.protocol !== "file:") return fetch(input, init);
  let file;
  try {
    file = await Deno.open(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Response(null, { status: 404, statusText: "Not Found" });
    if (error instanceof Deno.errors.NotCapable) return new Response(null, { status: 403, statusText: "Forbidden" });
    throw error;
  }
  const suffix = url.pathname.slice(url.pathname.lastIndexOf("."));
  return new Response(file.readable, {
    headers: { "content-type": CONTENT_TYPES[suffix] ?? "application/octet-stream" },
  });
};

// docs/worker-protocol.md, "Memory": wasm memory never shrinks, so the host watches the heap.
const heapNotice = (/** @type {any} */ pyodide, /** @type {number} */ bootBytes) => JSON.stringify(
  { jsonrpc: "2.0", method: "notifications/cloche/heap", params: heapUsage(pyodide, bootBytes) });

consoleToStderr();
// An error thrown in a callback or a promise dropped unhandled is tool code's own business, as in
// a page's worker, not a reason to end the process (Deno ends a worker on either by default).
self.addEventListener("error", (/** @type {ErrorEvent} */ event) => {
  event.preventDefault();
  writeStderr(`cloche: uncaught error in tool code: ${event.message}`);
});
self.addEventListener("unhandledrejection", (/** @type {PromiseRejectionEvent} */ event) => {
  event.preventDefault();
  writeStderr(`cloche: unhandled rejection in tool code: ${event.reason}`);
});

/** @type {((text: string) => void) | null} */
let handleMessage = null;
/** @type {string[]} messages that came before the runtime was ready */
const early = [];

self.addEventListener("message", async (/** @type {MessageEvent} */ event) => {
  if (typeof event.data === "string") {
    if (handleMessage) handleMessage(event.data);
    else early.push(event.data);
    return;
  }
  if (event.data?.type !== "cloche/init") return;
  const { packages = [], interruptBuffer } = event.data;
  const began = performance.now();
  const phases = /** @type {Record<string, number>} */ ({});
  try {
    const { pyodide } = await bootPyodide(
      new URL("../build-info.json", import.meta.url), [...SNAPSHOT_PACKAGES, ...packages], (progress) => {
        phases[progress.phase] ??= Math.round(performance.now() - began);
      }, {}, fetchFiles);
    // Before any tool code runs (importing the tool packages below runs theirs).
    closeStdio();
    pyodide.setStdout({ batched: (/** @type {string} */ line) => writeStderr(line) });
    pyodide.setStderr({ batched: (/** @type {string} */ line) => writeStderr(line) });
    pyodide.setStdin({ stdin: () => undefined });  // end of file: stdin is the protocol's
    if (interruptBuffer) pyodide.setInterruptBuffer(interruptBuffer);
    closeLoaders(pyodide);
    // Packages come from the dist by name, never from a URL tool code names. The network is
    // Deno's own: pyfetch is Deno's fetch here, and cloche.http.fetch's requests are answered by
    // the main thread with Deno's fetch (deno-fetch.js), never by the server; either way Deno lets
    // the process reach exactly the hosts granted to it.
    const worker = pyodide.pyimport("cloche.worker");
    worker.refuse_remote_installs();
    // The only Python object the worker holds; nothing but strings leaves this module.
    const runtime = worker.PythonWorker((/** @type {string} */ text) => toMain(text));
    const problems = runtime.problems.toJs();
    const bootHeap = heapUsage(pyodide).bytes;
    /** @param {string} text */
    const handle = async (text, retries = 1) => {
      try {
        const reply = await runtime.handle(text);
        if (typeof reply === "string") {
          // The heap's size goes ahead of each reply, for the caller to see when the call ends.
          toMain(heapNotice(pyodide, bootHeap));
          toMain(reply);
        }
      } catch (error) {
        // An interrupt meant for a tool that had just finished lands in the next message's
        // handling instead; it is spent now, so that message is handled again.
        if (retries > 0 && String(error).includes("KeyboardInterrupt")) return handle(text, retries - 1);
        writeStderr(`cloche: the Python worker failed to handle a message: ${error}`);
      }
    };
    toMain({
      type: "cloche/ready",
      info: { ...describePython(pyodide), pyodide: pyodide.version, deno: Deno.version.deno,
        packages, problems, heapBytes: bootHeap, interruptible: Boolean(interruptBuffer),
        phases: { ...phases, ready: Math.round(performance.now() - began) } },
    });
    handleMessage = (text) => { handle(text); };
    for (const text of early.splice(0)) handleMessage(text);
  } catch (error) {
    const phase = error instanceof BootError ? error.phase : "boot";
    toMain({ type: "cloche/failed", phase, message: String(error instanceof Error ? error.message : error) });
  }
});
