// What a JSON-RPC end answers to each malformed or unanswerable message, written once and run
// against both ends built on web/app/jsonrpc.js: the page's JsonRpcPeer (jsonrpc.test.js) and the
// WASM worker's MCP server (wasm-mcp.test.js). Each end knows `ping`; `null` means no reply.

/** @type {[string, unknown, null | {id: unknown, code?: number, message?: string, result?: unknown}][]} */
export const PROTOCOL_FAULTS = [
  ["a batch is refused", [{ jsonrpc: "2.0", id: 1, method: "ping" }],
    { id: null, code: -32600, message: "Invalid Request" }],
  ["an empty batch is refused", [], { id: null, code: -32600, message: "Invalid Request" }],
  ["a string is not a message", "hello", { id: null, code: -32600, message: "Invalid Request" }],
  ["another JSON-RPC version", { jsonrpc: "1.0", id: 1, method: "ping" },
    { id: 1, code: -32600, message: "Invalid Request" }],
  ["a null id", { jsonrpc: "2.0", id: null, method: "ping" },
    { id: null, code: -32600, message: "Invalid Request: bad id" }],
  ["a fractional id", { jsonrpc: "2.0", id: 1.5, method: "ping" },
    { id: null, code: -32600, message: "Invalid Request: bad id" }],
  ["a boolean id", { jsonrpc: "2.0", id: true, method: "ping" },
    { id: null, code: -32600, message: "Invalid Request: bad id" }],
  ["a method that is not a string", { jsonrpc: "2.0", id: 1, method: 5 },
    { id: 1, code: -32600, message: "Invalid Request" }],
  ["no method, no result", { jsonrpc: "2.0", id: 2 }, { id: 2, code: -32600, message: "Invalid Request" }],
  ["params by position", { jsonrpc: "2.0", id: 3, method: "ping", params: [1] },
    { id: 3, code: -32602, message: "params must be an object" }],
  ["an unknown method", { jsonrpc: "2.0", id: "x", method: "nope/nope" },
    { id: "x", code: -32601, message: "Method not found: nope/nope" }],
  ["a notification with params by position", { jsonrpc: "2.0", method: "ping", params: [1] }, null],
  ["an unknown notification", { jsonrpc: "2.0", method: "notifications/nope" }, null],
  ["a response of another version", { jsonrpc: "1.0", id: 4, result: {} }, null],
  ["a response to nothing in flight", { jsonrpc: "2.0", id: 5, error: { code: 1, message: "m" } }, null],
  ["null params are none", { jsonrpc: "2.0", id: "p", method: "ping", params: null }, { id: "p", result: {} }],
];

/**
 * The expected reply as a message, for deepEqual.
 * @param {{id: unknown, code?: number, message?: string, result?: unknown}} expected
 */
export function expectedReply({ id, code, message, result }) {
  return code === undefined ? { jsonrpc: "2.0", id, result } : { jsonrpc: "2.0", id, error: { code, message } };
}
