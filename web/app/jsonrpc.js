// The JSON-RPC 2.0 protocol layer over any transport: request ids, the pending map, per-request
// timeouts, cancellation and teardown. Transports only move messages; this owns their meaning.
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
 * @typedef {{start(): Promise<void>, send(message: any): Promise<void>, close(): Promise<void>,
 *            onmessage?: (message: any) => void, onerror?: (error: Error) => void,
 *            onclose?: () => void}} Transport
 * @typedef {(params: any) => any} Handler
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
      this.transport.send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
        .catch((error) => this.#settle(id, new JsonRpcError(ErrorCode.ConnectionClosed, String(error))));
    });
  }

  /**
   * @param {string} method
   * @param {any} [params]
   */
  async notify(method, params) {
    if (this.closed) return;
    await this.transport.send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });
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

  /** @param {any} message */
  #receive(message) {
    if (message === null || typeof message !== "object" || Array.isArray(message) || message.jsonrpc !== "2.0") {
      this.onerror(new Error(`not a JSON-RPC 2.0 message: ${JSON.stringify(message).slice(0, 200)}`));
      return;
    }
    if ("method" in message) {
      if ("id" in message) this.#answer(message); else this.#notified(message);
      return;
    }
    if ("error" in message) {
      const { code, message: text, data } = message.error ?? {};
      if (!this.#settle(message.id, new JsonRpcError(code ?? ErrorCode.InternalError, String(text), data))) {
        if (message.id === null || message.id === undefined) {
          this.onerror(new JsonRpcError(code ?? ErrorCode.InternalError, String(text), data));
        } else {
          this.droppedReplies++;
        }
      }
    } else if ("result" in message) {
      if (!this.#settle(message.id, null, message.result)) this.droppedReplies++;
    }
    // A reply to a request that already timed out or was cancelled is dropped: nobody waits.
  }

  /** @param {any} message */
  #notified(message) {
    const handler = this.notificationHandlers.get(message.method);
    if (!handler) return;
    try {
      handler(message.params);
    } catch (error) {
      this.onerror(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** @param {any} message */
  async #answer(message) {
    const handler = this.requestHandlers.get(message.method);
    /** @type {any} */
    let reply;
    if (!handler) {
      reply = { error: { code: ErrorCode.MethodNotFound, message: `method not found: ${message.method}` } };
    } else {
      try {
        reply = { result: (await handler(message.params)) ?? {} };
      } catch (error) {
        reply = error instanceof JsonRpcError
          ? { error: { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) } }
          : { error: { code: ErrorCode.InternalError, message: String(error) } };
      }
    }
    await this.transport.send({ jsonrpc: "2.0", id: message.id, ...reply }).catch(() => {});
  }
}
