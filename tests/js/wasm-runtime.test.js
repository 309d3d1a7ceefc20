// The WASM worker's DOM-free core under node: the same modules, manifests and shim as the browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as shim from "../../web/node_modules/@bjorn3/browser_wasi_shim/dist/index.js";
import { WasmRuntime, InvalidParams, ToolFailed, ModuleRefused } from "../../web/workers/wasm-runtime.js";
import { WasmMcpServer } from "../../web/workers/wasm-mcp.js";
import { capMemory } from "../../web/workers/wasm-memory-cap.js";
import { parseManifest, ManifestError } from "../../web/workers/wasm-manifest.js";
import { checkSchema, isBase64 } from "../../web/workers/wasm-schema.js";

const root = new URL("../../", import.meta.url);
const toolURL = (name) => new URL(`tool_packages/wasm/${name}/manifest.json`, root).href;
const misbehaveURL = new URL("tests/wasm_fixtures/misbehave/manifest.json", root).href;
const TOOLS = ["codec", "grep", "hash", "primes", "textstats"];

/** fetch over file: URLs, with some URLs answered from `overrides` instead. */
function fakeFetch(overrides = {}) {
  return async (url) => {
    if (url in overrides) return new Response(overrides[url]);
    try {
      return new Response(await readFile(fileURLToPath(url)));
    } catch {
      return new Response("missing", { status: 404 });
    }
  };
}

const runtime = (overrides) => new WasmRuntime(shim, { fetch: fakeFetch(overrides), crypto: globalThis.crypto });

test("every first-party tool answers like the CPython runner's known answers", async () => {
  const wasm = runtime();
  for (const name of TOOLS) await wasm.load(toolURL(name));
  const sha = createHash("sha256").update("héllo").digest("hex");
  assert.deepEqual(wasm.call("hash.sha256", { text: "héllo" }), { algorithm: "sha256", hex: sha, bytes: 6 });
  assert.equal(wasm.call("hash.md5", { base64: "YWJj" }).hex, "900150983cd24fb0d6963f7d28e17f72");
  assert.deepEqual(wasm.call("grep.search", { pattern: "([0-9]+)-([0-9]+)", text: "é 10-20" }).matches,
    [{ start: 2, end: 7, match: "10-20", groups: ["10", "20"] }]);
  assert.equal(wasm.call("textstats.analyze", { text: "a b a\nc" }).words, 4);
  assert.deepEqual(wasm.call("codec.hex_decode", { hex: "6869" }), { text: "hi", base64: "aGk=", bytes: 2 });
  assert.deepEqual(wasm.call("primes.count", { limit: 1_000_000 }), { limit: 1_000_000, count: 78498, largest: 999983 });
  assert.deepEqual(wasm.call("primes.factor", { n: 600851475143 }).factors, [71, 839, 1471, 6857]);
  assert.deepEqual(wasm.call("primes.check", { numbers: [561, 9007199254740881] }),
    { results: [{ n: 561, prime: false }, { n: 9007199254740881, prime: true }], primes: 1 });
  assert.equal(wasm.listTools().length, 12);
  assert.equal(wasm.listTools().find((t) => t.name === "primes.count")._meta["cloche/deadlineMs"], 30000);
});

test("misbehaving tools fail their call with a clear message, and the next call works", async () => {
  const wasm = runtime();
  await wasm.load(misbehaveURL);
  const cases = {
    trap: /^the tool crashed: wasm trap: unreachable/,
    grow: /^the tool ran out of memory \(limit 16 MiB\)/,
    bad_json: /^the tool wrote invalid JSON on stdout/,
    not_object: /^the tool's result is not a JSON object/,
    flood: /^the tool's output exceeded its limit of 65536 bytes/,
    exit_silently: /^the tool exited with status 3 without an error message/,
    fail: /^failed on purpose$/,
  };
  for (const [tool, message] of Object.entries(cases)) {
    assert.throws(() => wasm.call(`misbehave.${tool}`, {}), (error) =>
      error instanceof ToolFailed && message.test(error.message), tool);
    assert.deepEqual(wasm.call("misbehave.echo", { text: tool }), { text: tool });
  }
});

test("unknown tools and invalid arguments are refused before any module runs", async () => {
  const wasm = runtime();
  await wasm.load(toolURL("hash"));
  assert.throws(() => wasm.call("hash.nope", {}), InvalidParams);
  assert.throws(() => wasm.call("nope", {}), InvalidParams);
  assert.throws(() => wasm.call("hash.sha256", { text: 1 }), /text must be string, not integer/);
  assert.throws(() => wasm.call("hash.sha256", { colour: "red" }), /colour is not an accepted property/);
  assert.throws(() => wasm.call("hash.sha256", { base64: "***" }), (error) => error instanceof InvalidParams &&
    /invalid arguments for hash\.sha256: base64 is not valid base64: expected the bytes base64-encoded/.test(error.message));
});

test("a string with contentEncoding base64 must be standard, padded base64", () => {
  // The same cases as the CPython runner's test (test_wasm_tools.py): both checkers agree.
  for (const good of ["", "YQ==", "YWI=", "YWJj", "QR==", "/+8A", "aGVsbG8gd29ybGQ="]) {
    assert.equal(isBase64(good), true, good);
  }
  for (const bad of ["YQ", "YQ=", "YQ===", "Y Q==", "YQ==\n", "-_8A", "YW=j", "YQ==YQ==", "a", "héllo==="]) {
    assert.equal(isBase64(bad), false, bad);
  }
  const schema = { type: "object", properties: { file: { type: "string", contentEncoding: "base64" } } };
  assert.deepEqual(checkSchema(schema, { file: "YWJj" }), []);
  assert.deepEqual(checkSchema(schema, { file: "YWJ" }), ["file is not valid base64: expected the bytes "
    + "base64-encoded (A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters, no spaces or line breaks)"]);
  assert.deepEqual(checkSchema({ type: "string", contentMediaType: "text/csv" }, "not base64 at all"), []);
});

test("a 7 MB base64 value is checked quickly", () => {
  const big = Buffer.alloc(5 * 2 ** 20, 7).toString("base64");
  const started = performance.now();
  assert.equal(isBase64(big), true);
  assert.ok(performance.now() - started < 1000);
});

test("a module whose sha256 does not match is refused, and so is an invalid manifest", async () => {
  const manifest = JSON.parse(await readFile(fileURLToPath(toolURL("hash")), "utf8"));
  const wrong = { ...manifest, sha256: "0".repeat(64) };
  const wasm = runtime({ [toolURL("hash")]: JSON.stringify(wrong) });
  await assert.rejects(wasm.load(toolURL("hash")), (error) =>
    error instanceof ModuleRefused && /package hash: .*hash\.wasm has sha256 [0-9a-f]{64}, but the manifest says 0{64}/.test(error.message));
  const invalid = runtime({ [toolURL("hash")]: JSON.stringify({ ...manifest, limits: { memoryBytes: 5 } }) });
  await assert.rejects(invalid.load(toolURL("hash")), /limits\.memoryBytes must be an integer/);
  await assert.rejects(runtime().load(new URL("nowhere/manifest.json", root).href), /HTTP 404/);
  assert.equal(wasm.listTools().length, 0);
});

test("a module that does not compile is refused with the reason", async () => {
  const manifest = JSON.parse(await readFile(fileURLToPath(misbehaveURL), "utf8"));
  const broken = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]);
  const sha256 = createHash("sha256").update(broken).digest("hex");
  const moduleURL = new URL("misbehave.wasm", misbehaveURL).href;
  const wasm = runtime({ [misbehaveURL]: JSON.stringify({ ...manifest, sha256 }), [moduleURL]: broken });
  await assert.rejects(wasm.load(misbehaveURL), /package misbehave: .* does not compile/);
});

test("capMemory gives a wasi-libc module the limit as its maximum", async () => {
  const module = new Uint8Array(await readFile(new URL("tool_packages/wasm/hash/hash.wasm", root)));
  const capped = capMemory(module, 16 * 65536);
  const memory = new WebAssembly.Instance(new WebAssembly.Module(capped), {
    wasi_snapshot_preview1: new Proxy({}, { get: () => () => 0 }),
  }).exports.memory;
  assert.equal(memory.grow(0) <= 16, true);
  assert.throws(() => memory.grow(17), RangeError);
  assert.equal(capped.length, module.length + 1); // one more byte: the maximum
});

test("manifest problems name their fields", () => {
  assert.throws(() => parseManifest({ manifestVersion: 1, name: "x", tools: [{}] }), (error) =>
    error instanceof ManifestError &&
    ["version", "module", "sha256", "tools[0].name", "tools[0].description", "tools[0].inputSchema"]
      .every((field) => error.problems.some((p) => p.startsWith(field))));
});

test("a manifest may say it gets no network or storage, and nothing more, as in the Python check", async () => {
  const manifest = JSON.parse(await readFile(fileURLToPath(toolURL("hash")), "utf8"));
  assert.equal(parseManifest({ ...manifest, permissions: { network: [], storage: false } }).name, "hash");
  const problems = (/** @type {any} */ permissions) => {
    try {
      parseManifest({ ...manifest, permissions });
      return [];
    } catch (error) {
      return /** @type {ManifestError} */ (error).problems;
    }
  };
  assert.deepEqual(problems({ network: ["https://*"], storage: true, files: 1 }), [
    "permissions.files is not a known field (network, storage)",
    "permissions.network must be empty: WASI preview 1 modules get no network or storage; components will get wasi:http grants",
    "permissions.storage must be false: WASI preview 1 modules get no network or storage; components will get wasi:http grants",
  ]);
  assert.deepEqual(problems("all"), ["permissions must be an object"]);
});

test("manifests accept contentEncoding base64 and a contentMediaType on strings, and nothing else", async () => {
  const manifest = JSON.parse(await readFile(fileURLToPath(toolURL("hash")), "utf8"));
  assert.deepEqual(manifest.tools.map((t) => t.inputSchema.properties.base64.contentEncoding), ["base64", "base64", "base64"]);
  const withFile = (file) => ({ ...manifest, tools: [{ ...manifest.tools[0],
    inputSchema: { type: "object", properties: { file, files: { type: "array", items: file } } } }] });
  const csv = { type: "string", contentEncoding: "base64", contentMediaType: "text/csv" };
  assert.equal(parseManifest(withFile(csv)).tools[0].inputSchema.properties.file, csv);
  const where = "tools[0].inputSchema.properties.file";
  const cases = [
    [{ type: "string", contentEncoding: "base32" }, `${where}.contentEncoding must be "base64"`],
    [{ type: "string", contentMediaType: 7 }, `${where}.contentMediaType must be a string`],
    [{ type: "integer", contentEncoding: "base64" }, `${where}.contentEncoding needs "type": "string"`],
    [{ contentMediaType: "text/csv" }, `${where}.contentMediaType needs "type": "string"`],
    [{ type: "strin" }, `${where}.type: unknown type 'strin'`],
  ];
  for (const [file, problem] of cases) {
    assert.throws(() => parseManifest(withFile(file)), (error) =>
      error instanceof ManifestError && error.problems.some((p) => p.startsWith(problem)), problem);
  }
  assert.throws(() => parseManifest(withFile({ type: "string", contentEncoding: "hex" })), (error) =>
    error.problems.some((p) => p.startsWith(`${where.replace(".file", ".files")}.items.contentEncoding must be "base64"`)));
});

test("the MCP server negotiates, lists, calls, loads and unloads over JSON text", async () => {
  const sent = [];
  const server = new WasmMcpServer(runtime(), (text) => {
    assert.equal(typeof text, "string");
    sent.push(JSON.parse(text));
  });
  const ask = async (id, method, params) => {
    await server.receive(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return sent.find((m) => m.id === id);
  };
  assert.equal((await ask(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {},
    clientInfo: { name: "t", version: "1" } })).result.protocolVersion, "2025-06-18");
  assert.equal((await ask(2, "initialize", { protocolVersion: "1999-01-01" })).result.protocolVersion, "2025-11-25");
  await server.receive(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  assert.deepEqual((await ask(3, "ping")).result, {});
  assert.deepEqual((await ask(4, "tools/list")).result.tools, []);
  assert.deepEqual((await ask(5, "cloche/load", { manifestURL: toolURL("hash") })).result, { packages: ["hash"] });
  assert.ok(sent.some((m) => m.method === "notifications/tools/list_changed"));
  assert.equal((await ask(6, "tools/list")).result.tools.length, 3);
  const call = (await ask(7, "tools/call", { name: "hash.sha1", arguments: { text: "abc" } })).result;
  assert.equal(call.structuredContent.hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.deepEqual(JSON.parse(call.content[0].text), call.structuredContent);
  assert.equal((await ask(8, "tools/call", { name: "hash.nope", arguments: {} })).error.code, -32602);
  assert.equal((await ask(9, "tools/call", { name: "hash.sha1", arguments: { text: 5 } })).error.code, -32602);
  assert.equal((await ask(10, "tools/call", { name: "hash.sha1", arguments: { text: "a", base64: "YQ==" } })).result.isError, true);
  assert.equal((await ask(11, "nope/nope")).error.code, -32601);
  const refused = (await ask(12, "cloche/load", { manifestURL: toolURL("missing") })).error;
  assert.match(refused.message, /HTTP 404/);
  assert.deepEqual((await ask(13, "cloche/unload", { package: "hash" })).result, { packages: ["hash"] });
  assert.deepEqual((await ask(14, "tools/list")).result.tools, []);
  assert.equal((await ask(15, "cloche/unload", { package: "hash" })).error.code, -32602);
  await server.receive("{not json");
  assert.equal(sent.at(-1).error.code, -32700);
});
