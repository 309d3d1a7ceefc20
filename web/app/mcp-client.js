// A small MCP client on the JSON-RPC peer: what the page's host needs from a tool worker. It speaks
// MCP 2026-07-28 (every request carrying its envelope, tool list changes through a subscription)
// to a worker that answers server/discover, and the 2025 revisions' initialize session to one that
// does not (web/app/mcp-era.js tells the eras apart).
import { JsonRpcPeer, JsonRpcError, ErrorCode } from "./jsonrpc.js";
import {
  CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, EraErrorCode, LEGACY_PROTOCOL_VERSIONS, LOG_LEVEL_KEY,
  MODERN_PROTOCOL_VERSIONS, PROTOCOL_VERSION_KEY, SERVER_INFO_KEY, SUBSCRIPTION_ID_KEY, unstampResult,
} from "./mcp-era.js";

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
 * @typedef {{timeoutMs?: number, signal?: AbortSignal, onId?: (id: number) => void}} RequestOptions
 */

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
/** @param {any} params */
const subscriptionOf = (params) => (isObject(params?._meta) ? params._meta[SUBSCRIPTION_ID_KEY] : undefined);

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
    /** @type {"modern" | "legacy" | ""} which era connect() settled on */
    this.era = "";
    /** @type {number | undefined} the id of the open subscriptions/listen request (modern) */
    this.subscriptionId = undefined;
    /** ends the subscription when the client closes */
    this.listening = new AbortController();
    /** @type {() => void} */
    this.onToolsChanged = () => {};
    /** @type {(entry: {level: string, logger?: string, data: any}) => void} */
    this.onLog = () => {};
    this.peer.setNotificationHandler("notifications/progress", (params) => {
      this.progressHandlers.get(params?.progressToken)?.(params);
    });
    this.peer.setNotificationHandler("notifications/tools/list_changed", (params) => {
      // Modern: only what the subscription delivers (a 2025 session's untagged ones are not ours).
      if (this.era !== "modern" || (this.subscriptionId !== undefined && subscriptionOf(params) === this.subscriptionId)) {
        this.onToolsChanged();
      }
    });
    this.peer.setNotificationHandler("notifications/message", (params) => this.onLog(params));
    this.peer.setRequestHandler("ping", () => ({}));
  }

  /**
   * Start the transport and settle the era: probe with server/discover (2026-07-28) and subscribe
   * to tool list changes; a worker that answers the probe with anything but a version this client
   * speaks gets the 2025 handshake (initialize, then `initialized`).
   */
  async connect({ timeoutMs = 10_000 } = {}) {
    await this.peer.start();
    const discovered = await this.#discover(timeoutMs);
    if (discovered) {
      this.era = "modern";
      await this.#listen(timeoutMs);
      return discovered;
    }
    const result = await this.peer.request("initialize", {
      protocolVersion: LEGACY_PROTOCOL_VERSIONS[0],
      capabilities: {},
      clientInfo: CLIENT_INFO,
    }, { timeoutMs });
    if (!LEGACY_PROTOCOL_VERSIONS.includes(result?.protocolVersion)) {
      await this.peer.close();
      throw new JsonRpcError(ErrorCode.InvalidRequest,
        `the server speaks MCP ${result?.protocolVersion}, which this page does not support ` +
        `(${[...MODERN_PROTOCOL_VERSIONS, ...LEGACY_PROTOCOL_VERSIONS].join(", ")})`);
    }
    this.era = "legacy";
    this.protocolVersion = result.protocolVersion;
    this.serverInfo = result.serverInfo;
    await this.peer.notify("notifications/initialized");
    return result;
  }

  /**
   * The discover result of a 2026-07-28 server, or null for a server to speak 2025 to. A -32022
   * naming a version this client speaks is tried once more with it; any other error, no answer in
   * time, or no version in common means 2025.
   * @param {number} timeoutMs
   */
  async #discover(timeoutMs) {
    let version = MODERN_PROTOCOL_VERSIONS[0];
    for (let attempt = 1; attempt <= 2; attempt++) {
      let result;
      try {
        result = await this.peer.request("server/discover", { _meta: envelope(version) }, { timeoutMs });
      } catch (error) {
        const supported = error instanceof JsonRpcError && error.code === EraErrorCode.UnsupportedProtocolVersion
          ? /** @type {any} */ (error.data)?.supported : undefined;
        const next = Array.isArray(supported) ? MODERN_PROTOCOL_VERSIONS.find((v) => supported.includes(v)) : undefined;
        if (!next) return null;
        version = next;
        continue;
      }
      const offered = Array.isArray(result?.supportedVersions) ? result.supportedVersions : [];
      const chosen = MODERN_PROTOCOL_VERSIONS.find((v) => offered.includes(v));
      if (!chosen) return null;
      this.protocolVersion = chosen;
      this.serverInfo = result._meta?.[SERVER_INFO_KEY];
      return unstampResult("server/discover", result);
    }
    return null;
  }

  /**
   * Open the subscription to tool list changes, held until close(), and wait for the server to
   * acknowledge it: a change made after connect() returns is then told.
   * @param {number} timeoutMs
   */
  async #listen(timeoutMs) {
    /** @type {(value?: unknown) => void} */
    let acknowledge = () => {};
    const acknowledged = new Promise((resolve) => { acknowledge = resolve; });
    this.peer.setNotificationHandler("notifications/subscriptions/acknowledged", (params) => {
      if (this.subscriptionId !== undefined && subscriptionOf(params) === this.subscriptionId) acknowledge();
    });
    const listen = this.#request("subscriptions/listen", { notifications: { toolsListChanged: true } }, {
      timeoutMs: 0, signal: this.listening.signal, onId: (id) => { this.subscriptionId = id; },
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    try {
      await Promise.race([
        acknowledged,
        listen.then(() => { throw new JsonRpcError(ErrorCode.InternalError, "the server ended it at once"); }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new JsonRpcError(ErrorCode.RequestTimeout, `no acknowledgement within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await this.close();
      throw new JsonRpcError(/** @type {any} */ (error).code ?? ErrorCode.InternalError,
        `the server did not subscribe this client to tool list changes: ${/** @type {Error} */ (error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every tool, following pagination cursors. @returns {Promise<Tool[]>} */
  async listTools({ timeoutMs = 10_000 } = {}) {
    /** @type {Tool[]} */
    const tools = [];
    let cursor;
    let pages = 0;
    let characters = 0;
    do {
      const page = await this.#request("tools/list", cursor ? { cursor } : {}, { timeoutMs });
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
    /** @type {Record<string, any>} */
    const meta = {};
    let token;
    if (options.onProgress) {
      token = `p${this.nextProgressToken++}`;
      this.progressHandlers.set(token, options.onProgress);
      meta.progressToken = token;
    }
    // 2026-07-28 sends a request's logs only when the request asks for them.
    if (this.era === "modern") meta[LOG_LEVEL_KEY] = "info";
    const params = { name, arguments: args, ...Object.keys(meta).length ? { _meta: meta } : {} };
    try {
      return await this.#request("tools/call", params, options);
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
    return this.#request(method, params, options);
  }

  /** Whether the worker answers; 2026-07-28 has no ping, so its discover stands for one. */
  ping({ timeoutMs = 2_000 } = {}) {
    return this.era === "modern" ? this.#request("server/discover", {}, { timeoutMs })
      : this.peer.request("ping", undefined, { timeoutMs });
  }

  /** Requests awaiting their reply, the open subscription not counted. */
  get inFlight() {
    const { pending } = this.peer;
    return pending.size - (this.subscriptionId !== undefined && pending.has(this.subscriptionId) ? 1 : 0);
  }

  /** End the subscription (notifications/cancelled), then the connection. */
  close(reason = "the client closed the connection") {
    this.listening.abort(new JsonRpcError(ErrorCode.ConnectionClosed, reason));
    return this.peer.close(reason);
  }

  /**
   * A request in the era settled on: a 2026-07-28 one carries the envelope in its `_meta` (beside
   * what is there, such as a progress token), and its result is unstamped (`unstampResult`).
   * @param {string} method
   * @param {any} params
   * @param {RequestOptions} [options]
   */
  async #request(method, params, options) {
    if (this.era !== "modern") return this.peer.request(method, params, options);
    const given = isObject(params) ? params : {};
    const meta = { ...isObject(given._meta) ? given._meta : {}, ...envelope(this.protocolVersion) };
    return unstampResult(method, await this.peer.request(method, { ...given, _meta: meta }, options));
  }
}

/**
 * What a 2026-07-28 request carries in `_meta` in place of a session.
 * @param {string} protocolVersion
 */
function envelope(protocolVersion) {
  return { [PROTOCOL_VERSION_KEY]: protocolVersion, [CLIENT_CAPABILITIES_KEY]: {}, [CLIENT_INFO_KEY]: CLIENT_INFO };
}
