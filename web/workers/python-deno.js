// The Deno process of `cloche mcp` (py_runtime/cloche_server/mcp/pyodide_process.py): MCP as
// newline-delimited JSON-RPC on stdin and stdout, bridged to a Worker that runs Pyodide with the
// tool packages named on the command line (python-deno-worker.js):
//
//   deno run --allow-read=<dist> [--allow-net=<hosts>] --no-prompt ... <dist>/workers/python-deno.js <packages...>
//
// Deno's permissions are the boundary: tool code can read the dist and reach only the granted
// hosts. This thread holds stdin and stdout, which no tool code reaches (it runs in the Worker),
// and the interrupt buffer, so that a busy loop can be interrupted while Python holds its thread.
// stdout carries protocol lines only; everything else goes to stderr.
//
// Of the requests Python sends its host, this thread answers `cloche/fetch` itself, with Deno's
// fetch (deno-fetch.js): the hosts Deno lets this process reach are the ones a tool's fetches
// reach, and the server never fetches for tool code. The others (store, installs) go out on
// stdout, where the server refuses them.
import { hostFetch } from "./deno-fetch.js";

/** @type {any} Deno's namespace, untyped here (tsc checks this file against the worker globals). */
const Deno = /** @type {any} */ (globalThis).Deno;

const READY = "notifications/cloche/ready";
const FAILED = "notifications/cloche/failed";
/** Handled here, not by Python: `{}` raises KeyboardInterrupt in running Python code, `{clear: true}`
 * takes back one that found no Python code running (as the page's host does after a ping). */
const INTERRUPT = "notifications/cloche/interrupt";
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const FETCH = "cloche/fetch";
const INVALID_PARAMS = -32602;  // what the page's host answers a refused service request with

const stdout = Deno.stdout;
const encoder = new TextEncoder();

/** One protocol line, written whole before anything else runs on this thread. @param {string} text */
function writeLine(text) {
  const bytes = encoder.encode(`${text}\n`);
  try {
    for (let written = 0; written < bytes.length;) written += stdout.writeSync(bytes.subarray(written));
  } catch {
    Deno.exit(0);  // the reading side is gone: nobody is left to serve
  }
}

/** @param {string} phase @param {string} message */
function fail(phase, message) {
  writeLine(JSON.stringify({ jsonrpc: "2.0", method: FAILED, params: { phase, message } }));
  Deno.exit(1);
}

/**
 * Lines of text from a byte stream, as they complete. A line can be megabytes (a tool's
 * arguments): only each new chunk is searched for its end.
 * @param {ReadableStream<Uint8Array>} stream
 */
async function* linesOf(stream) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  /** @type {string[]} */
  let parts = [];
  for (;;) {
    const { done, value } = await reader.read();
    let text = done ? decoder.decode() : decoder.decode(value, { stream: true });
    let end;
    while ((end = text.indexOf("\n")) >= 0) {
      parts.push(text.slice(0, end));
      yield parts.join("").replace(/\r$/, "");
      parts = [];
      text = text.slice(end + 1);
    }
    if (text) parts.push(text);
    if (done) break;
  }
  if (parts.length) yield parts.join("");
}

/**
 * Whether `line` was an interrupt notification (then handled here).
 * @param {string} line @param {Int32Array} interrupt
 */
function interrupted(line, interrupt) {
  if (!line.includes(INTERRUPT)) return false;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return false;
  }
  if (message?.method !== INTERRUPT || "id" in message) return false;
  Atomics.store(interrupt, 0, message.params?.clear ? 0 : 2);  // Pyodide raises on 2, then clears it
  return true;
}

/**
 * Whether `text`, a message of Python's, was a `cloche/fetch` request (then answered here, to
 * the worker, once the fetch is done).
 * @param {string} text @param {Worker} worker
 */
function fetchedHere(text, worker) {
  if (!text.includes(`"${FETCH}"`)) return false;
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return false;
  }
  if (message?.method !== FETCH || !("id" in message)) return false;
  const id = message.id;
  hostFetch(message.params).then(
    (result) => ({ jsonrpc: "2.0", id, result }),
    (error) => ({ jsonrpc: "2.0", id, error: { code: INVALID_PARAMS, message: error instanceof Error ? error.message : String(error) } }),
  ).then((reply) => worker.postMessage(JSON.stringify(reply)));
  return true;
}

const packages = Deno.args;
const wrong = packages.filter((/** @type {string} */ name) => !PACKAGE_NAME.test(name));
if (wrong.length) fail("arguments", `not package names: ${wrong.join(", ")}`);

const interrupt = new Int32Array(new SharedArrayBuffer(4));
const worker = new Worker(new URL("./python-deno-worker.js", import.meta.url), { type: "module" });
let ready = false;
worker.onmessage = (/** @type {MessageEvent} */ event) => {
  const data = event.data;
  if (typeof data === "string") {
    if (!fetchedHere(data, worker)) writeLine(data);
  } else if (data?.type === "cloche/ready" && !ready) {
    ready = true;
    // Since this process started: what a caller waits for.
    const info = { ...data.info, bootMs: Math.round(performance.now()) };
    writeLine(JSON.stringify({ jsonrpc: "2.0", method: READY, params: info }));
  } else if (data?.type === "cloche/failed" && !ready) {
    fail(String(data.phase ?? "boot"), String(data.message ?? "the Python worker failed"));
  }
};
worker.onerror = (/** @type {ErrorEvent} */ event) => {
  event.preventDefault();
  const message = `the Python worker stopped: ${event.message}`;
  if (!ready) fail("boot", message);
  console.error(`cloche: ${message}`);
  Deno.exit(1);
};
worker.postMessage({ type: "cloche/init", packages, interruptBuffer: interrupt });

// Each message goes on as it arrives, not after the one before is answered, so that a
// cancellation reaches the call it cancels. The end of stdin ends the process.
for await (const line of linesOf(Deno.stdin.readable)) {
  if (!line.trim() || interrupted(line, interrupt)) continue;
  worker.postMessage(line);
}
Deno.exit(0);
