// A small MCP client on the JSON-RPC peer: what the page's host needs from a tool worker.
import { JsonRpcPeer, JsonRpcError, ErrorCode } from "./jsonrpc.js";

export const LATEST_PROTOCOL_VERSION = "2025-11-25";
export const SUPPORTED_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
export const CLIENT_INFO = { name: "cloche-page", version: "0.1.0" };
// What one tools/list (all its pages) may bring into the page: a worker that lists more is
// refused, so a flood of made-up tools cannot fill the page's memory (docs/security.md).
export const MAX_LIST_PAGES = 20;
export const MAX_LISTED_TOOLS = 1_000;
export const MAX_LIST_CHARACTERS = 4 * 1024 * 1024;
/** @type {ListLimits} */
export const LIST_LIMITS = { pages: MAX_LIST_PAGES, tools: MAX_LISTED_TOOLS, characters: MAX_LIST_CHARACTERS };

/**
 * @typedef {{name: string, title?: string, description?: string, inputSchema: object,
 *            outputSchema?: object, annotations?: object, _meta?: Record<string, any>}} Tool
 * @typedef {{content: any[], structuredContent?: any, isError?: boolean,
 *            _meta?: Record<string, any>}} CallToolResult
 * @typedef {{pages: number, tools: number, characters: number}} ListLimits
 * @typedef {{progress: number, total?: number, message?: string}} Progress
 * @typedef {{timeoutMs?: number, signal?: AbortSignal, onProgress?: (p: Progress) => void,
 *            onId?: (id: number) => void}} CallOptions
 */

export class McpClient {
  /**
   * @param {import("./jsonrpc.js").Transport} transport
   * @param {{requestTimeoutMs?: number, listLimits?: ListLimits}} [options]
   *   listLimits: the caps on one tools/list (LIST_LIMITS unless given)
   */
  constructor(transport, options = {}) {
    this.peer = new JsonRpcPeer(transport, options);
    this.listLimits = options.listLimits ?? LIST_LIMITS;
    /** @type {Map<number | string, (p: Progress) => void>} */
    this.progressHandlers = new Map();
    this.nextProgressToken = 1;
    /** @type {any} */
    this.serverInfo = undefined;
    this.protocolVersion = "";
    /** @type {() => void} */
    this.onToolsChanged = () => {};
    /** @type {(entry: {level: string, logger?: string, data: any}) => void} */
    this.onLog = () => {};
    this.peer.setNotificationHandler("notifications/progress", (params) => {
      this.progressHandlers.get(params?.progressToken)?.(params);
    });
    this.peer.setNotificationHandler("notifications/tools/list_changed", () => this.onToolsChanged());
    this.peer.setNotificationHandler("notifications/message", (params) => this.onLog(params));
    this.peer.setRequestHandler("ping", () => ({}));
  }

  /** Start the transport, negotiate the protocol version, and send `initialized`. */
  async connect({ timeoutMs = 10_000 } = {}) {
    await this.peer.start();
    const result = await this.peer.request("initialize", {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: CLIENT_INFO,
    }, { timeoutMs });
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(result?.protocolVersion)) {
      await this.peer.close();
      throw new JsonRpcError(ErrorCode.InvalidRequest,
        `the server speaks MCP ${result?.protocolVersion}, which this page does not support ` +
        `(${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
    }
    this.protocolVersion = result.protocolVersion;
    this.serverInfo = result.serverInfo;
    await this.peer.notify("notifications/initialized");
    return result;
  }

  /** Every tool, following pagination cursors. @returns {Promise<Tool[]>} */
  async listTools({ timeoutMs = 10_000 } = {}) {
    /** @type {Tool[]} */
    const tools = [];
    let cursor;
    let pages = 0;
    let characters = 0;
    do {
      const page = await this.peer.request("tools/list", cursor ? { cursor } : {}, { timeoutMs });
      const listed = Array.isArray(page?.tools) ? page.tools : [];
      characters += JSON.stringify(listed).length;
      tools.push(...listed);
      cursor = page?.nextCursor;
      const limits = this.listLimits;
      if (++pages > limits.pages || tools.length > limits.tools || characters > limits.characters) {
        throw new JsonRpcError(ErrorCode.InvalidParams, `the worker's tool list is over the page's caps ` +
          `(${limits.pages} pages, ${limits.tools} tools, ${limits.characters} characters): ` +
          `${pages} pages, ${tools.length} tools, ${characters} characters so far; its list is refused`);
      }
    } while (cursor);
    return tools;
  }

  /**
   * @param {string} name
   * @param {object} args
   * @param {CallOptions} [options]
   * @returns {Promise<CallToolResult>}
   */
  async callTool(name, args, options = {}) {
    /** @type {any} */
    const params = { name, arguments: args };
    let token;
    if (options.onProgress) {
      token = `p${this.nextProgressToken++}`;
      this.progressHandlers.set(token, options.onProgress);
      params._meta = { progressToken: token };
    }
    try {
      return await this.peer.request("tools/call", params, options);
    } finally {
      if (token !== undefined) this.progressHandlers.delete(token);
    }
  }

  /**
   * Any other request (e.g. cloche/install) on the same connection.
   * @param {string} method
   * @param {any} params
   * @param {{timeoutMs?: number}} [options]
   */
  request(method, params, options) {
    return this.peer.request(method, params, options);
  }

  ping({ timeoutMs = 2_000 } = {}) {
    return this.peer.request("ping", undefined, { timeoutMs });
  }

  close(reason = "the client closed the connection") {
    return this.peer.close(reason);
  }
}
