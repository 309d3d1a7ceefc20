// The JSON-RPC 2.0 protocol layer, once for both ends: what a message is (`classify`, `decode`),
// the messages themselves, answering a request from a method table (`answer`), and the peer over
// a transport (request ids, the pending map, per-request timeouts, cancellation and teardown).
// Transports only move messages; this owns their meaning. The WASM worker's MCP server
// (web/workers/wasm-mcp.js) is built on the same functions, so both ends refuse alike.
import { OversizedMessageError } from "./transports.js";

export const ErrorCode = Object.freeze({
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
  /** As in LSP: the caller cancelled the request. */
  Cancelled: -32800,
  /** Cloche's own: a reply longer than the page accepts, refused before parsing. */
  ResponseTooLarge: -32010,
  /** Cloche's own: the worker that held the request was terminated and replaced. */
  WorkerRestarted: -32011,
});

export class JsonRpcError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   * @param {unknown} [data]
   */
  constructor(code, message, data) {
    super(message);
    this.name = "JsonRpcError";
    this.code = code;
    this.data = data;
  }
}

/**
 * @typedef {string | number} RequestId
 * @typedef {Record<string, any>} Params
 * @typedef {(params: any) => any} Handler  its value (or its promise's) is the result
 * @typedef {{kind: "request", id: RequestId, method: string, params: Params}} IncomingRequest
 * @typedef {{kind: "notification", method: string, params: Params}} IncomingNotification
 * @typedef {{kind: "response", message: Record<string, any>}} IncomingResponse
 * @typedef {{kind: "invalid", error: JsonRpcError, reply?: object}} InvalidMessage
 *   reply: the error response due, if any (a response is never answered)
 * @typedef {IncomingRequest | IncomingNotification | IncomingResponse | InvalidMessage} Incoming
 */

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * MCP's request ids: a string or an integer, never null (stricter than JSON-RPC).
 * @param {unknown} id
 * @returns {id is RequestId}
 */
export function isRequestId(id) {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

/** @param {RequestId} id @param {string} method @param {unknown} [params] */
export function request(id, method, params) {
  return { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) };
}

/** @param {string} method @param {unknown} [params] */
export function notification(method, params) {
  return { jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) };
}

/** @param {RequestId} id @param {unknown} result */
export function response(id, result) {
  return { jsonrpc: "2.0", id, result };
}

/** @param {RequestId | null} id @param {JsonRpcError} error */
export function errorResponse(id, error) {
  const { code, message, data } = error;
  return { jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/**
 * @param {number} code @param {string} message
 * @param {RequestId | null} [replyTo]  whom the error response goes to; none when undefined
 * @returns {InvalidMessage}
 */
function invalid(code, message, replyTo) {
  const error = new JsonRpcError(code, message);
  return { kind: "invalid", error, ...(replyTo === undefined ? {} : { reply: errorResponse(replyTo, error) }) };
}

/**
 * What one parsed message is. Batches (arrays) are refused like any non-object: MCP removed them
 * in 2025-06-18. Params must be an object (MCP's rule) and default to `{}`.
 * @param {unknown} message
 * @returns {Incoming}
 */
export function classify(message) {
  if (!isObject(message)) return invalid(ErrorCode.InvalidRequest, "Invalid Request", null);
  const { jsonrpc, id, method, params } = message;
  if (jsonrpc === "2.0" && typeof method === "string") {
    const isRequest = "id" in message;
    if (isRequest && !isRequestId(id)) return invalid(ErrorCode.InvalidRequest, "Invalid Request: bad id", null);
    if (params !== undefined && params !== null && !isObject(params)) {
      return invalid(ErrorCode.InvalidParams, "params must be an object", isRequest ? id : undefined);
    }
    return isRequest
      ? { kind: "request", id, method, params: params ?? {} }
      : { kind: "notification", method, params: params ?? {} };
  }
  if ("result" in message || "error" in message) {
    return jsonrpc === "2.0" && !("method" in message)
      ? { kind: "response", message }
      : invalid(ErrorCode.InvalidRequest, "Invalid Request");
  }
  return invalid(ErrorCode.InvalidRequest, "Invalid Request", isRequestId(id) ? id : null);
}

/**
 * What one message received as JSON text is; text that does not parse is a -32700.
 * @param {unknown} text
 * @returns {Incoming}
 */
export function decode(text) {
  let message;
  try {
    if (typeof text !== "string") throw new Error("a message must be JSON text");
    message = JSON.parse(text);
  } catch (error) {
    return invalid(ErrorCode.ParseError, `Parse error: ${/** @type {Error} */ (error).message}`, null);
  }
  return classify(message);
}

/**
 * The response to a request, from the handler its method has in `handlers`: the handler's result
 * (`{}` for none), or the error it threw: a JsonRpcError as it is, anything else an internal error.
 * @param {Map<string, Handler>} handlers
 * @param {IncomingRequest} message
 */
export async function answer(handlers, message) {
  try {
    const handler = handlers.get(message.method);
    if (!handler) throw new JsonRpcError(ErrorCode.MethodNotFound, `Method not found: ${message.method}`);
    return response(message.id, (await handler(message.params)) ?? {});
  } catch (error) {
    return errorResponse(message.id, error instanceof JsonRpcError ? error
      : new JsonRpcError(ErrorCode.InternalError, `Internal error: ${/** @type {Error} */ (error)?.message ?? error}`));
  }
}

/**
 * @typedef {{start(): Promise<void>, send(message: any): Promise<void>, close(): Promise<void>,
 *            onmessage?: (message: any) => void, onerror?: (error: Error) => void,
 *            onclose?: () => void}} Transport
 * @typedef {{resolve: (value: any) => void, reject: (error: Error) => void, method: string,
 *            timer?: ReturnType<typeof setTimeout>, cleanup: () => void}} Pending
 */

export class JsonRpcPeer {
  /**
   * @param {Transport} transport
   * @param {{requestTimeoutMs?: number}} [options]
   */
  constructor(transport, options = {}) {
    this.transport = transport;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.nextId = 1;
    /** @type {Map<number | string, Pending>} */
    this.pending = new Map();
    /** @type {Map<string, Handler>} */
    this.requestHandlers = new Map();
    /** @type {Map<string, Handler>} */
    this.notificationHandlers = new Map();
    this.closed = false;
    /** Replies to no request in flight (late, repeated or forged): dropped, and counted here. */
    this.droppedReplies = 0;
    /** @type {(error: Error) => void} */
    this.onerror = () => {};
    /** @type {() => void} */
    this.onclose = () => {};
  }

  async start() {
    this.transport.onmessage = (message) => this.#receive(message);
    this.transport.onerror = (error) => this.#transportError(error);
    this.transport.onclose = () => this.#teardown("the connection closed");
    await this.transport.start();
  }

  /**
   * @param {string} method
   * @param {Handler} handler  its return value (or promise) is the result; a JsonRpcError it
   *   throws becomes that error, any other error an internal error.
   */
  setRequestHandler(method, handler) {
    this.requestHandlers.set(method, handler);
  }

  /**
   * @param {string} method
   * @param {Handler} handler
   */
  setNotificationHandler(method, handler) {
    this.notificationHandlers.set(method, handler);
  }

  /**
   * Send a request; resolves with its result, rejects with a JsonRpcError.
   * @param {string} method
   * @param {any} [params]
   * @param {{timeoutMs?: number, signal?: AbortSignal, onId?: (id: number) => void}} [options]
   */
  request(method, params, options = {}) {
    if (this.closed) {
      return Promise.reject(new JsonRpcError(ErrorCode.ConnectionClosed, "the connection is closed"));
    }
    const id = this.nextId++;
    options.onId?.(id);
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const onAbort = () => {
        const reason = signal?.reason;
        const text = reason instanceof Error ? reason.message : String(reason ?? "aborted");
        this.notify("notifications/cancelled", { requestId: id, reason: text }).catch(() => {});
        this.#settle(id, reason instanceof JsonRpcError
          ? reason : new JsonRpcError(ErrorCode.Cancelled, `${method} was cancelled: ${text}`));
      };
      /** @type {Pending} */
      const entry = {
        resolve, reject, method,
        cleanup: () => {
          clearTimeout(entry.timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.notify("notifications/cancelled", { requestId: id, reason: "timed out" }).catch(() => {});
          this.#settle(id, new JsonRpcError(ErrorCode.RequestTimeout,
            `${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      if (signal?.aborted) {
        reject(new JsonRpcError(ErrorCode.Cancelled, `${method} was cancelled before it was sent`));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, entry);
      this.transport.send(request(id, method, params))
        .catch((error) => this.#settle(id, new JsonRpcError(ErrorCode.ConnectionClosed, String(error))));
    });
  }

  /**
   * @param {string} method
   * @param {any} [params]
   */
  async notify(method, params) {
    if (this.closed) return;
    await this.transport.send(notification(method, params));
  }

  /**
   * Fail one pending request from outside (the host does this when it replaces a worker).
   * @param {number | string} id
   * @param {Error} error
   */
  fail(id, error) {
    this.#settle(id, error);
  }

  /** Close the transport and reject everything still pending. */
  async close(reason = "the connection was closed") {
    this.#teardown(reason);
    await this.transport.close().catch(() => {});
  }

  /**
   * @param {number | string} id
   * @param {Error | null} error
   * @param {any} [result]
   */
  #settle(id, error, result) {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    entry.cleanup();
    if (error) entry.reject(error); else entry.resolve(result);
    return true;
  }

  /** @param {string} reason */
  #teardown(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) {
      this.#settle(id, new JsonRpcError(ErrorCode.ConnectionClosed, reason));
    }
    this.onclose();
  }

  /** @param {Error} error */
  #transportError(error) {
    if (error instanceof OversizedMessageError) {
      // Fail the request the reply belongs to, if its id can be read off the unparsed head.
      const match = /"id"\s*:\s*(\d+)/.exec(error.head);
      const id = match ? Number(match[1]) : undefined;
      const entry = id === undefined ? undefined : this.pending.get(id);
      if (id !== undefined && entry) {
        this.#settle(id, new JsonRpcError(ErrorCode.ResponseTooLarge,
          `the reply to ${entry.method} is ${error.length} characters, over the page's cap of ` +
          `${error.limit}; ask for less output`));
        return;
      }
    }
    this.onerror(error);
  }

  /** @param {unknown} message */
  #receive(message) {
    const incoming = classify(message);
    switch (incoming.kind) {
      case "request":
        this.#answer(incoming);
        return;
      case "notification":
        this.#notified(incoming);
        return;
      case "response":
        this.#replied(incoming.message);
        return;
      case "invalid":
        this.onerror(new JsonRpcError(incoming.error.code,
          `${incoming.error.message}: ${String(JSON.stringify(message)).slice(0, 200)}`));
        if (incoming.reply) this.transport.send(incoming.reply).catch(() => {});
    }
  }

  /** @param {Record<string, any>} message */
  #replied(message) {
    if ("error" in message) {
      const { code, message: text, data } = message.error ?? {};
      if (!this.#settle(message.id, new JsonRpcError(code ?? ErrorCode.InternalError, String(text), data))) {
        if (message.id === null || message.id === undefined) {
          this.onerror(new JsonRpcError(code ?? ErrorCode.InternalError, String(text), data));
        } else {
          this.droppedReplies++;
        }
      }
    } else if (!this.#settle(message.id, null, message.result)) {
      // A reply to a request that already timed out or was cancelled: nobody waits.
      this.droppedReplies++;
    }
  }

  /** @param {IncomingNotification} message */
  #notified(message) {
    const handler = this.notificationHandlers.get(message.method);
    if (!handler) return;
    try {
      handler(message.params);
    } catch (error) {
      this.onerror(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** @param {IncomingRequest} message */
  async #answer(message) {
    await this.transport.send(await answer(this.requestHandlers, message)).catch(() => {});
  }
}
