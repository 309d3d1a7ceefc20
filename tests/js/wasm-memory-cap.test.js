// The memories the ABI forbids (docs/wasm-tools.md, "Memory: capped before compiling"): an
// imported, second, shared or 64-bit memory, or a minimum above limits.memoryBytes, is refused
// before anything runs, with a message naming the problem; the runtime goes on working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as shim from "../../web/node_modules/@bjorn3/browser_wasi_shim/dist/index.js";
import { capMemory, ModuleRefused } from "../../web/workers/wasm-memory-cap.js";
import { WasmRuntime } from "../../web/workers/wasm-runtime.js";
import { assemble, forbiddenMemories, memorySection, sections } from "./wasm-module-bytes.js";

const root = new URL("../../", import.meta.url);
const LIMIT = 16 * 65536;
const hashModule = async () => new Uint8Array(await readFile(new URL("tool_packages/wasm/hash/hash.wasm", root)));

test("the crafted modules are the real module with only its memory changed", async () => {
  const module = await hashModule();
  assert.deepEqual(assemble(sections(module)), module);
  const forbidden = forbiddenMemories(module, LIMIT);
  assert.deepEqual(forbidden.map((f) => f.problem), ["imported", "two", "shared", "64-bit", "too big"]);
  // V8 alone would accept these three: only the cap keeps them out.
  for (const { problem, module: bytes } of forbidden.filter((f) => ["imported", "shared", "too big"].includes(f.problem))) {
    assert.ok(WebAssembly.validate(bytes), problem);
  }
});

test("capMemory refuses each forbidden memory of a wasi-libc module, naming the problem", async () => {
  for (const { problem, module, reason } of forbiddenMemories(await hashModule(), LIMIT)) {
    assert.throws(() => capMemory(module, LIMIT), (error) =>
      error instanceof ModuleRefused && error.message === reason, problem);
  }
});

test("capMemory refuses hand-written modules the same way as the CPython twin's tests", () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const module = (...bytes) => Uint8Array.from([...header, ...bytes]);
  // The bytes wat2wasm gives for the modules of tests/unit/test_wasm_memory_cap.py.
  const cases = [
    [module(2, 15, 1, 3, ...Buffer.from("env"), 6, ...Buffer.from("memory"), 2, 0, 1), /imports its memory/],
    [module(5, 5, 2, 0, 1, 0, 1), /defines 2 memories/],
    [module(5, 4, 1, 3, 1, 2), /memory is shared/],
    [module(5, 3, 1, 4, 1), /memory is 64-bit/],
    [module(5, 3, 1, 0, 20), /needs at least 1310720 bytes of memory, more than its limit of 1048576 bytes/],
    [module(5, 1, 0), /defines 0 memories/],
    [module(5, 4, 1, 0, 0x80, 0x80), /bad LEB128/],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(() => capMemory(bytes, LIMIT), (error) => error instanceof ModuleRefused && reason.test(error.message),
      String(reason));
  }
  const tiny = assemble([memorySection({ min: 1 })]);
  for (const { problem, module: bytes, reason } of forbiddenMemories(tiny, LIMIT)) {
    assert.throws(() => capMemory(bytes, LIMIT), { message: reason }, problem);
  }
});

test("a plain memory at the limit is kept, and a larger declared maximum is lowered to it", () => {
  const limitPages = LIMIT / 65536;
  const atLimit = capMemory(assemble([memorySection({ min: limitPages })]), LIMIT);
  assert.deepEqual(sections(atLimit), [{ id: 5, payload: Uint8Array.of(1, 1, limitPages, limitPages) }]);
  const big = capMemory(assemble([memorySection({ min: 1, max: 1000 })]), LIMIT);
  assert.deepEqual(sections(big), [{ id: 5, payload: Uint8Array.of(1, 1, 1, limitPages) }]);
});

test("the runtime refuses a package with a forbidden memory before it runs, and goes on working", async () => {
  const scratchURL = new URL("tests/wasm_fixtures/scratch/manifest.json", root).href;
  const manifest = JSON.parse(await readFile(fileURLToPath(scratchURL), "utf8"));
  const served = new Map();
  const fetch = async (url) => {
    if (served.has(url)) return new Response(served.get(url));
    return new Response(await readFile(fileURLToPath(url)));
  };
  const wasm = new WasmRuntime(shim, { fetch, crypto: globalThis.crypto });
  await wasm.load(new URL("tool_packages/wasm/hash/manifest.json", root).href);

  for (const { problem, module, reason } of forbiddenMemories(await hashModule(), manifest.limits.memoryBytes)) {
    const name = `bad-${problem.replace(/[^a-z0-9]/g, "")}`;
    const base = new URL(`forbidden/${name}/`, root).href;
    served.set(`${base}manifest.json`, JSON.stringify({ ...manifest, name, module: "bad.wasm",
      sha256: createHash("sha256").update(module).digest("hex") }));
    served.set(`${base}bad.wasm`, module);
    await assert.rejects(wasm.load(`${base}manifest.json`), (error) =>
      error instanceof ModuleRefused && error.message === `package ${name}: ${reason}`, problem);
  }
  assert.deepEqual([...wasm.packages.keys()], ["hash"]);
  assert.equal(wasm.call("hash.md5", { text: "abc" }).hex, "900150983cd24fb0d6963f7d28e17f72");
  await wasm.load(scratchURL);
  assert.deepEqual(wasm.call("scratch.list", { path: "/tmp" }), { names: [] });
});
