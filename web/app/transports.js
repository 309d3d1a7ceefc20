// Transports move JSON-RPC messages and nothing else: start, send, close, and the three callbacks.
// The shape is the MCP SDK's Transport, so the official client runs over these unchanged.
// On the wire each message is one JSON text string, so an oversized one is refused by its length
// before anything parses it.

/** Default cap on one incoming message: 8 Mi characters of JSON text. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 8 * 1024 * 1024;

/** An incoming message longer than the cap; `head` holds its first characters for diagnosis. */
export class OversizedMessageError extends Error {
  /**
   * @param {number} length
   * @param {number} limit
   * @param {string} head
   */
  constructor(length, limit, head) {
    super(`a message of ${length} characters exceeds the cap of ${limit} characters; it was dropped unparsed`);
    this.name = "OversizedMessageError";
    this.length = length;
    this.limit = limit;
    this.head = head;
  }
}

export class MessagePortTransport {
  /**
   * @param {MessagePort} port
   * @param {{maxMessageLength?: number}} [options]
   */
  constructor(port, options = {}) {
    this.port = port;
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    this.closed = false;
    /** @type {((message: any) => void) | undefined} */
    this.onmessage = undefined;
    /** @type {((error: Error) => void) | undefined} */
    this.onerror = undefined;
    /** @type {(() => void) | undefined} */
    this.onclose = undefined;
  }

  async start() {
    this.port.onmessage = (event) => this.#receive(event.data);
    this.port.start?.();
  }

  /** @param {any} data */
  #receive(data) {
    if (typeof data !== "string") {
      this.onerror?.(new Error(`expected JSON text on the port, got ${typeof data}`));
      return;
    }
    if (data.length > this.maxMessageLength) {
      this.onerror?.(new OversizedMessageError(data.length, this.maxMessageLength, data.slice(0, 256)));
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      this.onerror?.(new Error(`invalid JSON on the port: ${error}`));
      return;
    }
    this.onmessage?.(message);
  }

  /** @param {any} message */
  async send(message) {
    if (this.closed) throw new Error("the transport is closed");
    this.port.postMessage(JSON.stringify(message));
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.port.onmessage = null;
    this.port.close();
    this.onclose?.();
  }
}

/**
 * Two transports joined by a MessageChannel: the test double for any peer pair (Node has
 * MessageChannel too), with the very framing the workers use.
 * @param {{maxMessageLength?: number}} [options]
 */
export function linkedTransportPair(options = {}) {
  const { port1, port2 } = new MessageChannel();
  return [new MessagePortTransport(port1, options), new MessagePortTransport(port2, options)];
}
