// The WASM worker's MCP server, transport-agnostic: `receive(text)` takes one JSON-RPC message
// as JSON text and answers through `send(text)`. DOM-free. The JSON-RPC part (what a message is,
// the standard errors, answering from a method table) is the page's: web/app/jsonrpc.js.
import { ErrorCode, JsonRpcError, answer, decode, isRequestId, notification } from "../app/jsonrpc.js";
import { InvalidParams, ToolFailed } from "./wasm-runtime.js";
import { mcpError, mcpResult } from "./wasm-outcome.js";

export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
/** Cloche's own: `cloche/load` could not load the package. */
const LOAD_FAILED = -32000;

/**
 * @typedef {import("./wasm-runtime.js").WasmRuntime} WasmRuntime
 * @typedef {import("../app/jsonrpc.js").RequestId} RequestId
 * @typedef {import("../app/jsonrpc.js").Handler} Handler
 */

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
    /** @type {Set<RequestId>} requests being answered */
    this.running = new Set();
    /** @type {Set<RequestId>} running requests the client cancelled: they get no reply */
    this.cancelled = new Set();
    this.logLevel = "info";
    /** @type {Map<string, Handler>} */
    this.methods = new Map(Object.entries({
      initialize: (params) => this.#initialize(params),
      ping: () => ({}),
      "tools/list": () => ({ tools: this.runtime.listTools() }),
      "tools/call": (params) => this.#call(params),
      "logging/setLevel": (params) => {
        this.logLevel = String(params.level);
        return {};
      },
      "cloche/load": (params) => this.#load(params),
      "cloche/unload": (params) => this.#unload(params),
    }));
  }

  /** Handle one message; never throws. @param {unknown} text */
  async receive(text) {
    const message = decode(text);
    if (message.kind === "invalid") {
      if (message.reply) this.#send(message.reply);
    } else if (message.kind === "notification") {
      // notifications/initialized needs nothing; unknown notifications are ignored.
      const { requestId } = message.params;
      if (message.method === "notifications/cancelled" && isRequestId(requestId) && this.running.has(requestId)) {
        this.cancelled.add(requestId);
      }
    } else if (message.kind === "request") {
      this.running.add(message.id);
      const reply = await answer(this.methods, message);
      this.running.delete(message.id);
      if (!this.cancelled.delete(message.id)) this.#send(reply);
    }
    // A response: this server sends no requests, so none is awaited.
  }

  /** @param {Record<string, any>} params */
  #initialize(params) {
    const wanted = params.protocolVersion;
    return {
      protocolVersion: PROTOCOL_VERSIONS.includes(wanted) ? wanted : PROTOCOL_VERSIONS[0],
      capabilities: { tools: { listChanged: true }, logging: {} },
      serverInfo: this.info,
    };
  }

  /** @param {Record<string, any>} params */
  #call(params) {
    if (typeof params.name !== "string") throw new JsonRpcError(ErrorCode.InvalidParams, "tools/call needs a name");
    const args = params.arguments ?? {};
    if (typeof args !== "object" || Array.isArray(args)) {
      throw new JsonRpcError(ErrorCode.InvalidParams, "tools/call arguments must be an object");
    }
    try {
      return mcpResult(this.runtime.call(params.name, args));
    } catch (error) {
      if (error instanceof InvalidParams) throw new JsonRpcError(ErrorCode.InvalidParams, error.message);
      if (error instanceof ToolFailed) return mcpError(error.message);
      throw error;
    }
  }

  /** @param {Record<string, any>} params */
  async #load(params) {
    if (typeof params.manifestURL !== "string") {
      throw new JsonRpcError(ErrorCode.InvalidParams, "cloche/load needs a manifestURL");
    }
    let manifest;
    try {
      manifest = await this.runtime.load(params.manifestURL);
    } catch (error) {
      throw new JsonRpcError(LOAD_FAILED, /** @type {Error} */ (error).message,
        { manifestURL: params.manifestURL });
    }
    this.#send(notification("notifications/tools/list_changed"));
    return { packages: [manifest.name] };
  }

  /** @param {Record<string, any>} params */
  #unload(params) {
    const name = params.package;
    if (typeof name !== "string" || !this.runtime.unload(name)) {
      throw new JsonRpcError(ErrorCode.InvalidParams, `cloche/unload: package ${name} is not loaded`);
    }
    this.#send(notification("notifications/tools/list_changed"));
    return { packages: [name] };
  }

  /** @param {object} message */
  #send(message) {
    this.send(JSON.stringify(message));
  }
}
