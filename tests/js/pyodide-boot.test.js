// The worker's boot phases, with a fake fetch: errors name the asset, progress adds up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contentTypeProblem, downloadCore, BootError } from "../../web/workers/pyodide-boot.js";
import { heapUsage, MEASURE_IN_USE_AFTER_BYTES } from "../../web/workers/pyodide-boot.js";

const index = new URL("http://127.0.0.1/pyodide/v1/");
const files = { "pyodide.asm.wasm": 6, "pyodide.mjs": 4 };

/** @param {Record<string, {status?: number, type: string, body: string}>} table */
const fakeFetch = (table) => async (/** @type {URL} */ url) => {
  const name = url.pathname.split("/").pop() || "";
  const entry = table[name];
  if (!entry) return new Response("nope", { status: 404, statusText: "Not Found" });
  return new Response(entry.body, { status: entry.status ?? 200, headers: { "content-type": entry.type } });
};

test("content types that Pyodide needs", () => {
  assert.equal(contentTypeProblem("x/pyodide.asm.wasm", "application/wasm"), null);
  assert.equal(contentTypeProblem("pyodide.mjs", "text/javascript; charset=utf-8"), null);
  assert.equal(contentTypeProblem("python_stdlib.zip", "application/zip"), null);
  assert.match(contentTypeProblem("pyodide.asm.wasm", "text/plain") || "",
    /pyodide\.asm\.wasm is served as text\/plain; it must be application\/wasm/);
  assert.match(contentTypeProblem("pyodide.mjs", null) || "", /served as no content type/);
});

test("download reports progress up to the total", async () => {
  const seen = [];
  await downloadCore(index, files, (p) => seen.push(p), fakeFetch({
    "pyodide.asm.wasm": { type: "application/wasm", body: "abcdef" },
    "pyodide.mjs": { type: "text/javascript", body: "abcd" },
  }));
  assert.deepEqual(seen.at(-1), { phase: "download", done: 10, total: 10 });
  assert.ok(seen.every((p) => p.phase === "download" && (p.done ?? 0) <= 10));
});

test("a missing asset fails the download phase and names the path and status", async () => {
  await assert.rejects(
    downloadCore(index, files, () => {}, fakeFetch({ "pyodide.mjs": { type: "text/javascript", body: "x" } })),
    (error) => error instanceof BootError && error.phase === "download" &&
      /\/pyodide\/v1\/pyodide\.asm\.wasm is missing: the server answered 404 Not Found/.test(error.message),
  );
});

test("a wasm with the wrong MIME type fails before Pyodide could hang on it", async () => {
  await assert.rejects(
    downloadCore(index, files, () => {}, fakeFetch({
      "pyodide.asm.wasm": { type: "application/octet-stream", body: "abcdef" },
      "pyodide.mjs": { type: "text/javascript", body: "abcd" },
    })),
    /pyodide\.asm\.wasm is served as application\/octet-stream/,
  );
});

/** A stand-in for Pyodide's Emscripten module: a heap, a stack, and dlmalloc's mallinfo. */
function fakePyodide(heapBytes, inUseBytes) {
  const buffer = new ArrayBuffer(4096);
  let stack = 4096;
  const calls = [];
  const module = {
    HEAPU8: { length: heapBytes },
    HEAPU32: new Uint32Array(buffer),
    stackSave: () => stack,
    stackAlloc: (/** @type {number} */ size) => (stack -= size),
    stackRestore: (/** @type {number} */ top) => { stack = top; },
    _mallinfo: (/** @type {number} */ at) => {
      calls.push(at);
      module.HEAPU32.set([heapBytes, 3, 0, 0, 0, 0, 0, inUseBytes, heapBytes - inUseBytes, 0], at >> 2);
    },
  };
  return { pyodide: { _module: module }, calls, stackTop: () => stack };
}

test("heap usage: the size always, what is in use only once the heap grew far past boot", () => {
  const boot = 30 * 2 ** 20;
  const small = fakePyodide(boot + MEASURE_IN_USE_AFTER_BYTES, 12 * 2 ** 20);
  assert.deepEqual(heapUsage(small.pyodide, boot), { bytes: boot + MEASURE_IN_USE_AFTER_BYTES });
  assert.deepEqual(heapUsage(small.pyodide), { bytes: boot + MEASURE_IN_USE_AFTER_BYTES });
  assert.equal(small.calls.length, 0);  // mallinfo walks the heap: not on every reply

  const grown = fakePyodide(2 ** 31 - 2 ** 24, 40 * 2 ** 20);
  assert.deepEqual(heapUsage(grown.pyodide, boot), { bytes: 2 ** 31 - 2 ** 24, inUseBytes: 40 * 2 ** 20 });
  assert.equal(grown.calls.length, 1);
  assert.equal(grown.stackTop(), 4096);  // the struct's stack space is given back
});
