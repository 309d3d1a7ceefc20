// McpClient over a MessageChannel: MCP 2026-07-28 first (against the WASM worker's own server, on a
// stand-in runtime), the 2025 handshake for a worker that does not speak it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { McpClient, CLIENT_INFO } from "../../web/app/mcp-client.js";
import { MessagePortTransport } from "../../web/app/transports.js";
import { ErrorCode } from "../../web/app/jsonrpc.js";
import { WasmMcpServer } from "../../web/workers/wasm-mcp.js";
import {
  CLIENT_INFO_KEY, LOG_LEVEL_KEY, SUBSCRIPTION_ID_KEY, checkEnvelope, isModern,
} from "../../web/app/mcp-era.js";
import { fakeWorker } from "./fake-worker.js";

/** A runtime with one tool, echo.say, whose packages load at once. */
function standInRuntime() {
  const loaded = new Set(["echo"]);
  return {
    listTools: () => [...loaded].map((name) => ({ name: `${name}.say`, inputSchema: { type: "object" } })),
    call: (/** @type {string} */ _name, /** @type {any} */ args) => args,
    load: async (/** @type {string} */ url) => { loaded.add(url); return { name: url }; },
    unload: (/** @type {string} */ name) => loaded.delete(name),
  };
}

/**
 * A client whose server end is `serve(message, reply)`; every message the client sent is kept.
 * @param {(message: any, reply: (answer: object) => void, text: string) => void} serve
 */
function linked(serve) {
  const { port1, port2 } = new MessageChannel();
  /** @type {any[]} */
  const received = [];
  port2.onmessage = (event) => {
    const message = JSON.parse(event.data);
    received.push(message);
    serve(message, (answer) => port2.postMessage(JSON.stringify(answer)), event.data);
  };
  const client = new McpClient(new MessagePortTransport(port1));
  return { client, received, port: port2 };
}

/**
 * The WASM worker's server, with `before` answering some messages in its place (returning true).
 * @param {(message: any, reply: (answer: object) => void) => boolean} [before]
 */
function wasmServer(before = () => false) {
  /** @type {WasmMcpServer | undefined} */
  let server;
  const link = linked((message, reply, text) => { if (!before(message, reply)) server?.receive(text); });
  server = new WasmMcpServer(/** @type {any} */ (standInRuntime()), (text) => link.port.postMessage(text));
  return { ...link, server };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test("a worker that speaks 2026-07-28: every request carries the envelope, and results read as in 2025", async () => {
  const { client, received, server } = wasmServer();
  await client.connect();
  try {
    assert.equal(client.era, "modern");
    assert.equal(client.protocolVersion, "2026-07-28");
    assert.deepEqual(client.serverInfo, { name: "cloche-wasm", version: "0.1.0" });
    assert.deepEqual((await client.listTools()).map((t) => t.name), ["echo.say"]);
    const result = await client.callTool("echo.say", { text: "hi" }, { onProgress: () => {} });
    assert.deepEqual(result.structuredContent, { text: "hi" });
    assert.equal("resultType" in result, false, "the wire's resultType is the client's, not the caller's");
    assert.equal("_meta" in result, false, "nor is the server's signature");
    assert.deepEqual(await client.request("cloche/load", { manifestURL: "more" }), { packages: ["more"] });
    await client.ping();
    const requests = received.filter((m) => "id" in m);
    assert.deepEqual(requests.map((m) => m.method), ["server/discover", "subscriptions/listen", "tools/list",
      "tools/call", "cloche/load", "server/discover"], "no initialize, no ping: 2026-07-28 has neither");
    for (const request of requests) {
      assert.ok(isModern(request), request.method);
      assert.equal(checkEnvelope(request.params).protocolVersion, "2026-07-28");
      assert.deepEqual(request.params._meta[CLIENT_INFO_KEY], CLIENT_INFO);
    }
    const call = requests[3].params._meta;
    assert.equal(call[LOG_LEVEL_KEY], "info", "a call asks for its logs");
    assert.equal(call.progressToken, "p1", "and keeps its progress token");
    assert.equal(requests[2].params._meta[LOG_LEVEL_KEY], undefined);
    assert.equal(server.subscriptions.size, 1);
  } finally {
    await client.close();
  }
  await settle();
  const listen = received.find((m) => m.method === "subscriptions/listen");
  assert.deepEqual(received.at(-1), { jsonrpc: "2.0", method: "notifications/cancelled",
    params: { requestId: listen.id, reason: "the client closed the connection" } });
  assert.equal(server.subscriptions.size, 0, "closing the client ended its subscription");
});

test("tool list changes reach the client through its subscription only", async () => {
  const { client, port } = wasmServer();
  await client.connect();
  let changes = 0;
  client.onToolsChanged = () => { changes++; };
  try {
    // The WASM server tells a 2025 session too (untagged): that is not this client's.
    await client.request("cloche/load", { manifestURL: "more" });
    await settle();
    assert.equal(changes, 1);
    port.postMessage(JSON.stringify({ jsonrpc: "2.0", method: "notifications/tools/list_changed",
      params: { _meta: { [SUBSCRIPTION_ID_KEY]: "someone else's" } } }));
    await settle();
    assert.equal(changes, 1);
  } finally { await client.close(); }
});

test("a worker that speaks only 2025 gets the initialize handshake, and no envelope", async () => {
  const counter = {};
  const handle = fakeWorker(["a.echo"], counter);
  const client = new McpClient(new MessagePortTransport(handle.port));
  await client.connect();
  try {
    assert.equal(client.era, "legacy");
    assert.equal(client.protocolVersion, "2025-11-25");
    assert.deepEqual(client.serverInfo, { name: "fake", version: "1" });
    const changed = new Promise((resolve) => { client.onToolsChanged = () => resolve(0); });
    await client.request("cloche/install", { requirements: ["b.echo"] });
    await changed;
    assert.deepEqual((await client.listTools()).map((t) => t.name), ["a.echo", "b.echo"]);
    assert.equal((await client.callTool("b.echo", { x: 1 })).content[0].text, '{"x":1}');
    await client.ping();
    assert.equal(client.inFlight, 0);
  } finally { await client.close(); handle.terminate(); }
});

test("a worker that does not answer the probe at all gets the 2025 handshake once the probe times out", async () => {
  const { client, received } = linked((message, reply) => {
    if (message.method === "initialize") {
      reply({ jsonrpc: "2.0", id: message.id, result: { protocolVersion: "2025-06-18", capabilities: {}, serverInfo: { name: "old", version: "1" } } });
    } else if (message.method === "tools/list") {
      reply({ jsonrpc: "2.0", id: message.id, result: { tools: [] } });
    }
  });
  await client.connect({ timeoutMs: 50 });
  try {
    assert.equal(client.era, "legacy");
    assert.equal(client.protocolVersion, "2025-06-18");
    await client.listTools();
    assert.deepEqual(received.map((m) => m.method), ["server/discover", "notifications/cancelled", "initialize",
      "notifications/initialized", "tools/list"]);
    assert.equal(received.at(-1).params._meta, undefined);
  } finally { await client.close(); }
});

test("-32022 naming a version the client speaks is tried once more; one naming none means 2025", async () => {
  let refusals = 0;
  const retried = wasmServer((message, reply) => {
    if (message.method !== "server/discover" || refusals++ > 0) return false;
    reply({ jsonrpc: "2.0", id: message.id, error: { code: -32022, message: "Unsupported protocol version",
      data: { supported: ["2027-01-01", "2026-07-28"], requested: "2026-07-28" } } });
    return true;
  });
  await retried.client.connect();
  assert.equal(retried.client.era, "modern");
  assert.deepEqual(retried.received.filter((m) => "id" in m).map((m) => m.method),
    ["server/discover", "server/discover", "subscriptions/listen"]);
  await retried.client.close();

  const newer = wasmServer((message, reply) => {
    if (message.method !== "server/discover") return false;
    reply({ jsonrpc: "2.0", id: message.id, error: { code: -32022, message: "Unsupported protocol version",
      data: { supported: ["2027-01-01"], requested: "2026-07-28" } } });
    return true;
  });
  await newer.client.connect();
  assert.equal(newer.client.era, "legacy");
  assert.deepEqual(newer.received.filter((m) => "id" in m).map((m) => m.method), ["server/discover", "initialize"]);
  await newer.client.close();
});

test("a result the client cannot take (input_required) is refused with a clear error", async () => {
  const { client } = wasmServer((message, reply) => {
    if (message.method !== "tools/call") return false;
    reply({ jsonrpc: "2.0", id: message.id, result: { resultType: "input_required", inputRequests: {} } });
    return true;
  });
  await client.connect();
  try {
    await assert.rejects(client.callTool("echo.say", {}), (error) => error.code === ErrorCode.InternalError
      && /answered tools\/call with resultType "input_required", which this client does not take/.test(error.message));
  } finally { await client.close(); }
});

test("a modern worker that will not subscribe the client fails the connect, saying why", async () => {
  const { client } = wasmServer((message, reply) => {
    if (message.method !== "subscriptions/listen") return false;
    reply({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found: subscriptions/listen" } });
    return true;
  });
  await assert.rejects(client.connect(), (error) => error.code === -32601 &&
    error.message === "the server did not subscribe this client to tool list changes: Method not found: subscriptions/listen");
  assert.equal(client.peer.closed, true);
});
