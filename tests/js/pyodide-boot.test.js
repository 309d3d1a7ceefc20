// The worker's boot phases, with a fake fetch: errors name the asset, progress adds up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contentTypeProblem, downloadCore, BootError } from "../../web/workers/pyodide-boot.js";

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
