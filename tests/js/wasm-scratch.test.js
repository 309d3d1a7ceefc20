// "scratchDir" (docs/wasm-tools.md, "WASI imports"): a module whose manifest asks for one gets an
// empty, writable directory at that path for one call, discarded after it, and nothing else; a
// module whose manifest does not ask has no file system at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as shim from "../../web/node_modules/@bjorn3/browser_wasi_shim/dist/index.js";
import { ToolFailed, WasmRuntime } from "../../web/workers/wasm-runtime.js";

const manifestURL = new URL("../../tests/wasm_fixtures/scratch/manifest.json", import.meta.url).href;

/** A runtime with the scratch fixture loaded, its manifest changed by `edit`. */
async function scratch(edit = (manifest) => manifest) {
  const manifest = JSON.parse(await readFile(fileURLToPath(manifestURL), "utf8"));
  const fetch = async (url) => new Response(url === manifestURL
    ? JSON.stringify(edit(manifest)) : await readFile(fileURLToPath(url)));
  const wasm = new WasmRuntime(shim, { fetch, crypto: globalThis.crypto });
  await wasm.load(manifestURL);
  return wasm;
}

/** `call` fails as a tool error (isError) whose message starts with `start`. */
function failsWith(call, start) {
  assert.throws(call, (error) => error instanceof ToolFailed && error.message.startsWith(start), start);
}

test("a tool writes a file in its scratch directory and reads it back within one call", async () => {
  const wasm = await scratch();
  const text = "héllo\nwörld ".repeat(1000);
  assert.deepEqual(wasm.call("scratch.write", { path: "/tmp/note.txt", text }), { path: "/tmp/note.txt", text });
});

test("every call starts with an empty scratch directory: nothing persists", async () => {
  const wasm = await scratch();
  assert.deepEqual(wasm.call("scratch.list", { path: "/tmp" }), { names: [] });
  wasm.call("scratch.write", { path: "/tmp/note.txt", text: "first call" });
  assert.deepEqual(wasm.call("scratch.read", { path: "/tmp/note.txt" }),
    { found: false, reason: "No such file or directory" });
  assert.deepEqual(wasm.call("scratch.list", { path: "/tmp" }), { names: [] });
});

test("the scratch directory is all of the file system a tool sees", async () => {
  const wasm = await scratch();
  for (const path of ["/etc/hostname", "/tmp/../etc/hostname", "/tmp/../../../etc/hostname"]) {
    assert.equal(wasm.call("scratch.read", { path }).found, false, path);
  }
  failsWith(() => wasm.call("scratch.list", { path: "/" }), "cannot list /: ");
  failsWith(() => wasm.call("scratch.write", { path: "/etc/note.txt", text: "x" }), "cannot write /etc/note.txt: ");
});

test("a scratchDir elsewhere than /tmp is honoured", async () => {
  const wasm = await scratch((manifest) => ({ ...manifest, scratchDir: "/data/scratch" }));
  assert.deepEqual(wasm.call("scratch.write", { path: "/data/scratch/a.txt", text: "a" }), { path: "/data/scratch/a.txt", text: "a" });
  failsWith(() => wasm.call("scratch.write", { path: "/tmp/a.txt", text: "a" }), "cannot write /tmp/a.txt: ");
});

test("without scratchDir a tool has no file system", async () => {
  const wasm = await scratch(({ scratchDir, ...manifest }) => manifest);
  failsWith(() => wasm.call("scratch.write", { path: "/tmp/note.txt", text: "x" }), "cannot write /tmp/note.txt: ");
  failsWith(() => wasm.call("scratch.list", { path: "/tmp" }), "cannot list /tmp: ");
});
