// The WASM worker's MCP server over JSON text, on a stand-in runtime: the protocol it speaks, not
// the tools (wasm-runtime.test.js runs the real runtime through it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmMcpServer } from "../../web/workers/wasm-mcp.js";
import { InvalidParams } from "../../web/workers/wasm-runtime.js";
import { PROTOCOL_FAULTS, expectedReply } from "./jsonrpc-faults.js";
import {
  CLIENT_CAPABILITIES_KEY, LOG_LEVEL_KEY, PROTOCOL_VERSION_KEY, SERVER_INFO_KEY, SUBSCRIPTION_ID_KEY,
} from "../../web/app/mcp-era.js";

/** A runtime with one package, "echo", whose loading waits until the test lets it finish. */
function standInRuntime() {
  /** @type {(() => void)[]} */
  const loading = [];
  const runtime = {
    loaded: new Set(["echo"]),
    listTools() {
      if (runtime.broken) throw new Error("the tool list is gone");
      return [...runtime.loaded].map((name) => ({ name: `${name}.say`, inputSchema: { type: "object" } }));
    },
    broken: false,
    call(/** @type {string} */ name, /** @type {any} */ args) {
      if (name !== "echo.say") throw new InvalidParams(`unknown tool ${name}`);
      return args;
    },
    async load(/** @type {string} */ url) {
      await new Promise((resolve) => loading.push(() => resolve(undefined)));
      runtime.loaded.add(url);
      return { name: url };
    },
    unload: (/** @type {string} */ name) => runtime.loaded.delete(name),
  };
  return { runtime, finishLoading: () => loading.splice(0).forEach((finish) => finish()) };
}

function serving() {
  const { runtime, finishLoading } = standInRuntime();
  /** @type {any[]} */
  const sent = [];
  const server = new WasmMcpServer(/** @type {any} */ (runtime), (text) => sent.push(JSON.parse(text)));
  const send = (/** @type {unknown} */ message) => server.receive(JSON.stringify(message));
  return { server, runtime, sent, send, finishLoading };
}

test("text that is not JSON gets a parse error with a null id", async () => {
  const { server, sent } = serving();
  await server.receive("{not json");
  await server.receive(/** @type {any} */ ({ jsonrpc: "2.0", id: 1, method: "ping" }));  // not text
  assert.deepEqual(sent.map((m) => [m.id, m.error.code]), [[null, -32700], [null, -32700]]);
  assert.match(sent[0].error.message, /^Parse error: /);
  assert.equal(sent[1].error.message, "Parse error: a message must be JSON text");
});

for (const [name, message, expected] of PROTOCOL_FAULTS) {
  test(`the WASM worker answers as the page's peer does: ${name}`, async () => {
    const { sent, send } = serving();
    await send(message);
    assert.deepEqual(sent, expected ? [expectedReply(expected)] : []);
  });
}

test("a failure outside any tool is an internal error; an unknown tool is invalid params", async () => {
  const { runtime, sent, send } = serving();
  runtime.broken = true;
  await send({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  await send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo.nope" } });
  await send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo.say", arguments: [1] } });
  assert.deepEqual(sent.map((m) => m.error), [
    { code: -32603, message: "Internal error: the tool list is gone" },
    { code: -32602, message: "unknown tool echo.nope" },
    { code: -32602, message: "tools/call arguments must be an object" },
  ]);
});

test("a request cancelled while it runs gets no reply; a cancel for nothing running changes nothing", async () => {
  const { sent, send, finishLoading } = serving();
  const load = send({ jsonrpc: "2.0", id: 1, method: "cloche/load", params: { manifestURL: "more" } });
  await send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, reason: "timed out" } });
  finishLoading();
  await load;
  assert.deepEqual(sent.map((m) => m.method ?? m.id), ["notifications/tools/list_changed"]);
  // A late cancel (the reply crossed it) must not swallow a later request that reuses the id.
  await send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } });
  await send({ jsonrpc: "2.0", id: 2, method: "ping" });
  assert.deepEqual(sent.at(-1), { jsonrpc: "2.0", id: 2, result: {} });
});

test("a request's method sent as a notification runs nothing", async () => {
  const { runtime, sent, send } = serving();
  await send({ jsonrpc: "2.0", method: "cloche/unload", params: { package: "echo" } });
  assert.deepEqual(sent, []);
  assert.deepEqual([...runtime.loaded], ["echo"]);
});

// MCP 2026-07-28 beside the 2025 revisions, on the same server.

const ENVELOPE = { [PROTOCOL_VERSION_KEY]: "2026-07-28", [CLIENT_CAPABILITIES_KEY]: {} };
const STAMP = { resultType: "complete", _meta: { [SERVER_INFO_KEY]: { name: "cloche-wasm", version: "0.1.0" } } };

/**
 * A 2026-07-28 request: the envelope (with `meta` over it) in params._meta.
 * @param {string | number} id @param {string} method @param {object} [params] @param {object} [meta]
 */
const modern = (id, method, params = {}, meta = {}) =>
  ({ jsonrpc: "2.0", id, method, params: { ...params, _meta: { ...ENVELOPE, ...meta } } });

test("server/discover: the versions, capabilities and cache hints, stamped with the server's info", async () => {
  const { sent, send } = serving();
  await send(modern(1, "server/discover"));
  assert.deepEqual(sent, [{ jsonrpc: "2.0", id: 1, result: {
    supportedVersions: ["2026-07-28"], capabilities: { tools: { listChanged: true }, logging: {} },
    ttlMs: 3_600_000, cacheScope: "private", ...STAMP,
  } }]);
});

/** @type {[string, object, number, RegExp][]} what a modern request lacks, and the first fault the ladder finds */
const ENVELOPE_FAULTS = [
  ["no params at all", { jsonrpc: "2.0", id: 1, method: "server/discover" }, -32602,
    /^Invalid params: params\._meta must be an object carrying 'io\.modelcontextprotocol\/protocolVersion'/],
  ["no client capabilities", { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { [PROTOCOL_VERSION_KEY]: "2026-07-28" } } },
    -32602, /^Invalid params: params\._meta is missing the required envelope key\(s\): io\.modelcontextprotocol\/clientCapabilities$/],
  ["no version (a modern-only method)", { jsonrpc: "2.0", id: 1, method: "subscriptions/listen", params: { _meta: { [CLIENT_CAPABILITIES_KEY]: {} } } },
    -32602, /missing the required envelope key\(s\): io\.modelcontextprotocol\/protocolVersion$/],
  ["a version that is not a string", modern(1, "tools/list", {}, { [PROTOCOL_VERSION_KEY]: 20260728 }), -32602,
    /io\.modelcontextprotocol\/protocolVersion must be a string/],
  ["a 2025 version in the envelope, with bad capabilities too", modern(1, "tools/list", {},
    { [PROTOCOL_VERSION_KEY]: "2025-11-25", [CLIENT_CAPABILITIES_KEY]: [] }), -32022,
    /^Unsupported protocol version: 2025-11-25; this server speaks 2026-07-28 \(stateless\) and 2025-11-25, 2025-06-18, 2025-03-26 through initialize$/],
  ["capabilities that are not an object", modern(1, "tools/list", {}, { [CLIENT_CAPABILITIES_KEY]: [] }), -32602,
    /io\.modelcontextprotocol\/clientCapabilities must be an object/],
  ["a log level that is none", modern(1, "tools/call", { name: "echo.say" }, { [LOG_LEVEL_KEY]: "loud" }), -32602,
    /io\.modelcontextprotocol\/logLevel "loud" is not a log level; use one of debug, info, notice, warning, error, critical, alert, emergency/],
  ["ping, which 2026-07-28 has not", modern(1, "ping"), -32601, /^Method not found: ping$/],
  ["logging/setLevel, which 2026-07-28 has not", modern(1, "logging/setLevel", { level: "debug" }), -32601,
    /^Method not found: logging\/setLevel$/],
];

for (const [name, message, code, text] of ENVELOPE_FAULTS) {
  test(`a modern request is refused, naming what is wrong: ${name}`, async () => {
    const { sent, send } = serving();
    await send(message);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].id, 1);
    assert.equal(sent[0].error.code, code);
    assert.match(sent[0].error.message, text);
  });
}

test("an unsupported version's error lists the versions a modern client can use", async () => {
  const { sent, send } = serving();
  await send(modern(1, "server/discover", {}, { [PROTOCOL_VERSION_KEY]: "2099-01-01" }));
  assert.deepEqual(sent[0].error.data, { supported: ["2026-07-28"], requested: "2099-01-01" });
});

test("modern tools/list and tools/call are stamped; tools/list is never cached; errors stay errors", async () => {
  const { sent, send } = serving();
  await send(modern(1, "tools/list", {}, { [LOG_LEVEL_KEY]: "debug" }));
  await send(modern(2, "tools/call", { name: "echo.say", arguments: { text: "hi" } }, { [LOG_LEVEL_KEY]: "info" }));
  await send(modern(3, "tools/call", { name: "echo.nope" }));
  assert.deepEqual(sent[0].result, {
    tools: [{ name: "echo.say", inputSchema: { type: "object" } }], ttlMs: 0, cacheScope: "private", ...STAMP,
  });
  assert.equal(sent[1].result.resultType, "complete");
  assert.deepEqual(sent[1].result.structuredContent, { text: "hi" });
  assert.deepEqual(sent[1].result._meta, STAMP._meta);
  assert.deepEqual(sent[2], { jsonrpc: "2.0", id: 3, error: { code: -32602, message: "unknown tool echo.nope" } });
});

test("a subscription is acknowledged, told of every tool list change by its id, and ends with no reply when cancelled", async () => {
  const { runtime, sent, send, finishLoading } = serving();
  const listening = send(modern("sub", "subscriptions/listen", { notifications: { toolsListChanged: true, promptsListChanged: true } }));
  assert.deepEqual(sent.splice(0), [{ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged",
    params: { _meta: { [SUBSCRIPTION_ID_KEY]: "sub" }, notifications: { toolsListChanged: true } } }]);
  const load = send(modern(2, "cloche/load", { manifestURL: "more" }));
  finishLoading();
  await load;
  await send({ jsonrpc: "2.0", id: 3, method: "cloche/unload", params: { package: "echo" } });  // a 2025 request
  const tagged = { jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { [SUBSCRIPTION_ID_KEY]: "sub" } } };
  const untagged = { jsonrpc: "2.0", method: "notifications/tools/list_changed" };
  assert.deepEqual(sent.splice(0), [
    untagged, tagged, { jsonrpc: "2.0", id: 2, result: { packages: ["more"], ...STAMP } },
    untagged, tagged, { jsonrpc: "2.0", id: 3, result: { packages: ["echo"] } },
  ]);
  await send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "sub" } });
  await listening;  // the request has ended...
  await send({ jsonrpc: "2.0", id: 4, method: "cloche/unload", params: { package: "more" } });
  assert.deepEqual(sent, [untagged, { jsonrpc: "2.0", id: 4, result: { packages: ["more"] } }], "...with no reply, and hears no more");
  assert.deepEqual([...runtime.loaded], []);
});

test("a subscription that asks for nothing the server has is acknowledged with nothing, and hears nothing", async () => {
  const { sent, send } = serving();
  void send(modern(7, "subscriptions/listen", { notifications: { resourcesListChanged: true } }));
  await send(modern(8, "cloche/unload", { package: "echo" }));
  await send(modern(9, "subscriptions/listen", {}));
  assert.deepEqual(sent.map((m) => m.method ?? m.result?.packages ?? m.error.message), [
    "notifications/subscriptions/acknowledged",
    "notifications/tools/list_changed",  // the 2025 session's, untagged as ever
    ["echo"],
    "Invalid params: subscriptions/listen needs notifications, an object",
  ]);
  assert.deepEqual(sent[0].params, { _meta: { [SUBSCRIPTION_ID_KEY]: 7 }, notifications: {} });
  assert.equal(sent[1].params, undefined);
});

test("a 2025 session on the same server is as it was: initialize, ping, logging/setLevel, unstamped results", async () => {
  const { sent, send } = serving();
  await send(modern(1, "server/discover"));
  await send({ jsonrpc: "2.0", id: 2, method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
  await send({ jsonrpc: "2.0", method: "notifications/initialized" });
  await send({ jsonrpc: "2.0", id: 3, method: "ping" });
  await send({ jsonrpc: "2.0", id: 4, method: "logging/setLevel", params: { level: "debug" } });
  await send({ jsonrpc: "2.0", id: 5, method: "tools/list" });
  assert.deepEqual(sent.slice(1), [
    { jsonrpc: "2.0", id: 2, result: { protocolVersion: "2025-06-18",
      capabilities: { tools: { listChanged: true }, logging: {} }, serverInfo: { name: "cloche-wasm", version: "0.1.0" } } },
    { jsonrpc: "2.0", id: 3, result: {} },
    { jsonrpc: "2.0", id: 4, result: {} },
    { jsonrpc: "2.0", id: 5, result: { tools: [{ name: "echo.say", inputSchema: { type: "object" } }] } },
  ]);
});

test("both eras at once: 2025 and 2026-07-28 requests answered while a modern load is in flight", async () => {
  const { sent, send, finishLoading } = serving();
  const load = send(modern("load", "cloche/load", { manifestURL: "more" }));
  await send({ jsonrpc: "2.0", id: "old", method: "tools/call", params: { name: "echo.say", arguments: { n: 1 } } });
  await send(modern("new", "tools/call", { name: "echo.say", arguments: { n: 2 } }));
  finishLoading();
  await load;
  const replies = Object.fromEntries(sent.filter((m) => "id" in m).map((m) => [m.id, m.result]));
  assert.deepEqual(Object.keys(replies), ["old", "new", "load"]);
  assert.equal(replies.old.resultType, undefined);
  assert.equal(replies.old._meta, undefined);
  assert.deepEqual(replies.old.structuredContent, { n: 1 });
  assert.equal(replies.new.resultType, "complete");
  assert.deepEqual(replies.new.structuredContent, { n: 2 });
  assert.deepEqual(replies.load, { packages: ["more"], ...STAMP });
});
