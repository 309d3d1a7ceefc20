// The WASM worker's MCP server, transport-agnostic: `receive(text)` takes one JSON-RPC message
// as JSON text and answers through `send(text)`. DOM-free.
import { InvalidParams, ToolFailed } from "./wasm-runtime.js";
import { mcpError, mcpResult } from "./wasm-outcome.js";

export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
const LOAD_FAILED = -32000;

/** @typedef {import("./wasm-runtime.js").WasmRuntime} WasmRuntime */
/** @typedef {string | number} RequestId */

class RpcError extends Error {
  /** @param {number} code @param {string} message @param {unknown} [data] */
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

export class WasmMcpServer {
  /**
   * @param {WasmRuntime} runtime
   * @param {(text: string) => void} send
   * @param {{name?: string, version?: string}} [info]
   */
  constructor(runtime, send, info = {}) {
    this.runtime = runtime;
    this.send = send;
    this.info = { name: info.name ?? "cloche-wasm", version: info.version ?? "0.1.0" };
    /** @type {Set<RequestId>} requests cancelled while they were still waiting */
    this.cancelled = new Set();
    this.logLevel = "info";
  }

  /** Handle one message; never throws. @param {unknown} text */
  async receive(text) {
    let message;
    try {
      if (typeof text !== "string") throw new Error("a message must be JSON text");
      message = JSON.parse(text);
    } catch (error) {
      this.#reply(null, undefined, new RpcError(-32700, `Parse error: ${/** @type {Error} */ (error).message}`));
      return;
    }
    if (!isObject(message) || message.jsonrpc !== "2.0" || typeof message.method !== "string") {
      if (isObject(message) && ("result" in message || "error" in message)) return; // a response
      const id = isObject(message) && isId(message.id) ? message.id : null;
      this.#reply(id, undefined, new RpcError(-32600, "Invalid Request"));
      return;
    }
    const isRequest = "id" in message;
    if (isRequest && !isId(message.id)) {
      this.#reply(null, undefined, new RpcError(-32600, "Invalid Request: bad id"));
      return;
    }
    const params = message.params ?? {};
    try {
      const result = await this.#dispatch(message.method, params, isRequest);
      if (isRequest && !this.cancelled.delete(message.id)) this.#reply(message.id, result);
    } catch (error) {
      if (!isRequest || this.cancelled.delete(message.id)) return;
      const rpc = error instanceof RpcError ? error
        : new RpcError(-32603, `Internal error: ${/** @type {Error} */ (error)?.message ?? error}`);
      this.#reply(message.id, undefined, rpc);
    }
  }

  /** @param {string} method @param {any} params @param {boolean} isRequest */
  async #dispatch(method, params, isRequest) {
    if (!isObject(params)) throw new RpcError(-32602, "params must be an object");
    switch (method) {
      case "initialize": {
        const wanted = params.protocolVersion;
        return {
          protocolVersion: PROTOCOL_VERSIONS.includes(wanted) ? wanted : PROTOCOL_VERSIONS[0],
          capabilities: { tools: { listChanged: true }, logging: {} },
          serverInfo: this.info,
        };
      }
      case "ping":
        return {};
      case "tools/list":
        return { tools: this.runtime.listTools() };
      case "tools/call":
        return this.#call(params);
      case "logging/setLevel":
        this.logLevel = String(params.level);
        return {};
      case "cloche/load":
        return this.#load(params);
      case "cloche/unload": {
        const name = params.package;
        if (typeof name !== "string" || !this.runtime.unload(name)) {
          throw new RpcError(-32602, `cloche/unload: package ${name} is not loaded`);
        }
        this.#notify("notifications/tools/list_changed");
        return { packages: [name] };
      }
      case "notifications/cancelled":
        if (isId(params.requestId)) this.cancelled.add(params.requestId);
        return undefined;
      default:
        if (!isRequest) return undefined; // notifications/initialized and unknown notifications
        throw new RpcError(-32601, `Method not found: ${method}`);
    }
  }

  /** @param {Record<string, any>} params */
  #call(params) {
    if (typeof params.name !== "string") throw new RpcError(-32602, "tools/call needs a name");
    const args = params.arguments ?? {};
    if (!isObject(args)) throw new RpcError(-32602, "tools/call arguments must be an object");
    try {
      return mcpResult(this.runtime.call(params.name, args));
    } catch (error) {
      if (error instanceof InvalidParams) throw new RpcError(-32602, error.message);
      if (error instanceof ToolFailed) return mcpError(error.message);
      throw error;
    }
  }

  /** @param {Record<string, any>} params */
  async #load(params) {
    if (typeof params.manifestURL !== "string") {
      throw new RpcError(-32602, "cloche/load needs a manifestURL");
    }
    let manifest;
    try {
      manifest = await this.runtime.load(params.manifestURL);
    } catch (error) {
      throw new RpcError(LOAD_FAILED, /** @type {Error} */ (error).message,
        { manifestURL: params.manifestURL });
    }
    this.#notify("notifications/tools/list_changed");
    return { packages: [manifest.name] };
  }

  /** @param {string} method @param {Record<string, unknown>} [params] */
  #notify(method, params) {
    this.send(JSON.stringify(params ? { jsonrpc: "2.0", method, params } : { jsonrpc: "2.0", method }));
  }

  /** @param {RequestId | null} id @param {unknown} result @param {RpcError} [error] */
  #reply(id, result, error) {
    const message = error
      ? { jsonrpc: "2.0", id, error: { code: error.code, message: error.message,
        ...(error.data === undefined ? {} : { data: error.data }) } }
      : { jsonrpc: "2.0", id, result };
    this.send(JSON.stringify(message));
  }
}

/** @param {unknown} id @returns {id is RequestId} */
function isId(id) {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}
