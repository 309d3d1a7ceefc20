// The JSON-RPC core both ends share: what a message is, the messages, answering from a method
// table; and the page's peer answering what a worker sends it.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ErrorCode, JsonRpcError, JsonRpcPeer, answer, classify, decode, errorResponse, notification, request,
} from "../../web/app/jsonrpc.js";
import { PROTOCOL_FAULTS, expectedReply } from "./jsonrpc-faults.js";

/** A transport that keeps what the peer sends; `receive` hands it a message from the far end. */
function recordingTransport() {
  /** @type {any[]} */
  const sent = [];
  const transport = {
    sent,
    /** @type {((message: any) => void) | undefined} */
    onmessage: undefined,
    async start() {},
    async send(/** @type {any} */ message) { sent.push(message); },
    async close() {},
    /** @param {unknown} message */
    async receive(message) {
      transport.onmessage?.(message);
      await new Promise((resolve) => setImmediate(resolve));  // the peer answers asynchronously
    },
  };
  return transport;
}

async function pingingPeer() {
  const transport = recordingTransport();
  const peer = new JsonRpcPeer(transport);
  /** @type {Error[]} */
  const errors = [];
  peer.onerror = (error) => errors.push(error);
  peer.setRequestHandler("ping", () => ({}));
  await peer.start();
  return { transport, peer, errors };
}

test("text that is not JSON is a parse error, answered with a null id", () => {
  for (const [text, reason] of [["{not json", /^Parse error: \S/], [42, /^Parse error: a message must be JSON text$/]]) {
    const { kind, error, reply } = decode(text);
    assert.equal(kind, "invalid");
    assert.match(error.message, reason);
    assert.deepEqual(reply, { jsonrpc: "2.0", id: null, error: { code: ErrorCode.ParseError, message: error.message } });
  }
});

test("requests, notifications and responses are told apart; absent params are an empty object", () => {
  assert.deepEqual(decode('{"jsonrpc":"2.0","id":7,"method":"tools/list"}'),
    { kind: "request", id: 7, method: "tools/list", params: {} });
  assert.deepEqual(classify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7 } }),
    { kind: "notification", method: "notifications/cancelled", params: { requestId: 7 } });
  const reply = { jsonrpc: "2.0", id: 7, result: { tools: [] } };
  assert.deepEqual(classify(reply), { kind: "response", message: reply });
  // A message with a method is a request even if it also carries a result.
  assert.equal(classify({ jsonrpc: "2.0", id: 1, method: "ping", result: 1 }).kind, "request");
});

test("a request is answered from the method table: its result, its JsonRpcError, or an internal error", async () => {
  const handlers = new Map(Object.entries({
    echo: (/** @type {any} */ params) => ({ echoed: params.text }),
    nothing: () => undefined,
    refuse: () => { throw new JsonRpcError(-32000, "not loaded", { manifestURL: "m.json" }); },
    crash: async () => { throw new TypeError("boom"); },
  }));
  const ask = (/** @type {string} */ method) => answer(handlers, { kind: "request", id: 1, method, params: { text: "hi" } });
  assert.deepEqual(await ask("echo"), { jsonrpc: "2.0", id: 1, result: { echoed: "hi" } });
  assert.deepEqual(await ask("nothing"), { jsonrpc: "2.0", id: 1, result: {} });
  assert.deepEqual(await ask("refuse"),
    { jsonrpc: "2.0", id: 1, error: { code: -32000, message: "not loaded", data: { manifestURL: "m.json" } } });
  assert.deepEqual(await ask("crash"), { jsonrpc: "2.0", id: 1, error: { code: -32603, message: "Internal error: boom" } });
  assert.deepEqual(await ask("missing"), { jsonrpc: "2.0", id: 1, error: { code: -32601, message: "Method not found: missing" } });
});

test("messages leave out params when there are none, and an error's data when it has none", () => {
  assert.deepEqual(request(3, "ping"), { jsonrpc: "2.0", id: 3, method: "ping" });
  assert.deepEqual(notification("notifications/progress", { progress: 1 }),
    { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } });
  assert.deepEqual(errorResponse(null, new JsonRpcError(-32600, "Invalid Request")),
    { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request" } });
});

for (const [name, message, expected] of PROTOCOL_FAULTS) {
  test(`the peer answers as the WASM worker does: ${name}`, async () => {
    const { transport } = await pingingPeer();
    await transport.receive(message);
    assert.deepEqual(transport.sent, expected ? [expectedReply(expected)] : []);
  });
}

test("the peer reports a message it refuses, with the message's start", async () => {
  const { transport, errors } = await pingingPeer();
  await transport.receive({ jsonrpc: "1.0", id: 1, result: "forged" });
  await transport.receive({ jsonrpc: "2.0", id: null, method: "ping" });
  assert.deepEqual(errors.map((e) => [/** @type {JsonRpcError} */ (e).code, e.message]), [
    [-32600, 'Invalid Request: {"jsonrpc":"1.0","id":1,"result":"forged"}'],
    [-32600, 'Invalid Request: bad id: {"jsonrpc":"2.0","id":null,"method":"ping"}'],
  ]);
});

test("the peer hands a worker's request and notification their params, an empty object when absent", async () => {
  const { transport, peer } = await pingingPeer();
  /** @type {unknown[]} */
  const seen = [];
  peer.setRequestHandler("cloche/fetch", (params) => { seen.push(params); return { status: 200 }; });
  peer.setNotificationHandler("notifications/cloche/heap", (params) => seen.push(params));
  await transport.receive({ jsonrpc: "2.0", id: "w1", method: "cloche/fetch", params: { url: "https://x.test/" } });
  await transport.receive({ jsonrpc: "2.0", method: "notifications/cloche/heap" });
  assert.deepEqual(seen, [{ url: "https://x.test/" }, {}]);
  assert.deepEqual(transport.sent, [{ jsonrpc: "2.0", id: "w1", result: { status: 200 } }]);
});
