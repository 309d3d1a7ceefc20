// The WASM worker's MCP server over JSON text, on a stand-in runtime: the protocol it speaks, not
// the tools (wasm-runtime.test.js runs the real runtime through it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmMcpServer } from "../../web/workers/wasm-mcp.js";
import { InvalidParams } from "../../web/workers/wasm-runtime.js";
import { PROTOCOL_FAULTS, expectedReply } from "./jsonrpc-faults.js";

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
