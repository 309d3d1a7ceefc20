// The WASM worker's MCP server, transport-agnostic: `receive(text)` takes one JSON-RPC message
// as JSON text and answers through `send(text)`. DOM-free. The JSON-RPC part (what a message is,
// the standard errors, answering from a method table) is the page's: web/app/jsonrpc.js, and so
// is telling MCP's eras apart (web/app/mcp-era.js): it serves 2026-07-28 (stateless, each request
// carrying its envelope) beside the 2025 revisions' initialize session, on one connection.
import { ErrorCode, JsonRpcError, answer, decode, isRequestId, notification } from "../app/jsonrpc.js";
import {
  LEGACY_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS, SUBSCRIPTION_ID_KEY, checkEnvelope, isModern, stampResult,
} from "../app/mcp-era.js";
import { InvalidParams, ToolFailed } from "./wasm-runtime.js";
import { mcpError, mcpResult } from "./wasm-outcome.js";

/** Cloche's own: `cloche/load` could not load the package. */
const LOAD_FAILED = -32000;

/**
 * @typedef {import("./wasm-runtime.js").WasmRuntime} WasmRuntime
 * @typedef {import("../app/jsonrpc.js").RequestId} RequestId
 * @typedef {import("../app/jsonrpc.js").Handler} Handler
 * @typedef {import("../app/jsonrpc.js").IncomingRequest} IncomingRequest
 */

const CAPABILITIES = { tools: { listChanged: true }, logging: {} };

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
    /** @type {Map<RequestId, {tools: boolean, end: () => void}>} open subscriptions/listen requests */
    this.subscriptions = new Map();
    this.logLevel = "info";
    /** @type {Record<string, Handler>} */
    const both = {
      "tools/call": (params) => this.#call(params),
      "cloche/load": (params) => this.#load(params),
      "cloche/unload": (params) => this.#unload(params),
    };
    /** @type {Map<string, Handler>} the 2025 revisions' methods */
    this.methods = new Map(Object.entries({
      ...both,
      initialize: (params) => this.#initialize(params),
      ping: () => ({}),
      "tools/list": () => ({ tools: this.runtime.listTools() }),
      "logging/setLevel": (params) => {
        this.logLevel = String(params.level);
        return {};
      },
    }));
    /** @type {Map<string, Handler>} 2026-07-28's (subscriptions/listen needs its request's id: see #answerModern) */
    this.modernMethods = new Map(Object.entries({
      ...both,
      "server/discover": () => ({
        supportedVersions: MODERN_PROTOCOL_VERSIONS, capabilities: CAPABILITIES, ttlMs: 3_600_000, cacheScope: "private",
      }),
      // Never cached: a package loaded or unloaded changes the list; clients subscribe for that.
      "tools/list": () => ({ tools: this.runtime.listTools(), ttlMs: 0, cacheScope: "private" }),
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
        this.subscriptions.get(requestId)?.end();
      }
    } else if (message.kind === "request") {
      this.running.add(message.id);
      const reply = await (isModern(message) ? this.#answerModern(message) : answer(this.methods, message));
      this.running.delete(message.id);
      if (!this.cancelled.delete(message.id)) this.#send(reply);
    }
    // A response: this server sends no requests, so none is awaited.
  }

  /**
   * A 2026-07-28 request: its envelope checked first, then its method; its result stamped.
   * @param {IncomingRequest} message
   */
  #answerModern(message) {
    const { id, method } = message;
    /** @param {Record<string, any>} params */
    const serve = async (params) => {
      checkEnvelope(params);
      const handler = method === "subscriptions/listen" ? () => this.#listen(id, params) : this.modernMethods.get(method);
      if (!handler) throw new JsonRpcError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
      return stampResult((await handler(params)) ?? {}, this.info);
    };
    return answer(new Map([[method, serve]]), message);
  }

  /** @param {Record<string, any>} params */
  #initialize(params) {
    const wanted = params.protocolVersion;
    return {
      protocolVersion: LEGACY_PROTOCOL_VERSIONS.includes(wanted) ? wanted : LEGACY_PROTOCOL_VERSIONS[0],
      capabilities: CAPABILITIES,
      serverInfo: this.info,
    };
  }

  /**
   * Acknowledge a subscription (honouring only tool list changes), then hold the request open
   * until the client cancels it: that ends it with no reply.
   * @param {RequestId} id
   * @param {Record<string, any>} params
   */
  #listen(id, params) {
    const wanted = params.notifications;
    if (typeof wanted !== "object" || wanted === null || Array.isArray(wanted)) {
      throw new JsonRpcError(ErrorCode.InvalidParams, "Invalid params: subscriptions/listen needs notifications, an object");
    }
    const tools = wanted.toolsListChanged === true;
    this.#send(notification("notifications/subscriptions/acknowledged", {
      _meta: { [SUBSCRIPTION_ID_KEY]: id }, notifications: tools ? { toolsListChanged: true } : {},
    }));
    return new Promise((resolve) => {
      this.subscriptions.set(id, { tools, end: () => { this.subscriptions.delete(id); resolve({}); } });
    });
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
    this.#toolsChanged();
    return { packages: [manifest.name] };
  }

  /** @param {Record<string, any>} params */
  #unload(params) {
    const name = params.package;
    if (typeof name !== "string" || !this.runtime.unload(name)) {
      throw new JsonRpcError(ErrorCode.InvalidParams, `cloche/unload: package ${name} is not loaded`);
    }
    this.#toolsChanged();
    return { packages: [name] };
  }

  /** Tell the 2025 session (as ever, untagged) and every subscription to tool list changes. */
  #toolsChanged() {
    this.#send(notification("notifications/tools/list_changed"));
    for (const [id, { tools }] of this.subscriptions) {
      if (tools) this.#send(notification("notifications/tools/list_changed", { _meta: { [SUBSCRIPTION_ID_KEY]: id } }));
    }
  }

  /** @param {object} message */
  #send(message) {
    this.send(JSON.stringify(message));
  }
}
