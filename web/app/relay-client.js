// The page's client for the model relay (docs/relay.md): the model list, and chat streamed as
// server-sent events. No DOM: `fetch` is passed in or taken from the global scope.

/**
 * @typedef {(input: string, init?: RequestInit) => Promise<Response>} Fetch
 * @typedef {{baseURL: string | URL, token?: string, fetch?: Fetch}} RelayOptions
 * @typedef {{event: string, data: string, id: string}} ServerSentEvent
 */

/** A refusal or failure of the relay, with the fields of its OpenAI-format error body. */
export class RelayError extends Error {
  /**
   * @param {string} message
   * @param {{status: number, code?: string | null, type?: string | null, param?: string | null,
   *          inStream?: boolean}} details  status 0 means the relay could not be reached;
   *   inStream, that the failure came as an event after the stream had begun.
   */
  constructor(message, details) {
    super(message);
    this.name = "RelayError";
    this.status = details.status;
    this.code = details.code ?? null;
    this.type = details.type ?? null;
    this.param = details.param ?? null;
    this.inStream = details.inStream ?? false;
  }

  /** What failed, for people: "The model relay answered 502 (upstream_unreachable): ..." */
  toString() {
    const code = this.code ? ` (${this.code})` : "";
    if (this.status === 0) return `Could not reach the model relay${code}: ${this.message}`;
    if (this.inStream) return `The model relay's stream failed${code}: ${this.message}`;
    return `The model relay answered ${this.status}${code}: ${this.message}`;
  }
}

/**
 * The model aliases the relay offers.
 * @param {RelayOptions} options
 * @returns {Promise<string[]>}
 */
export async function listModels({ baseURL, token, fetch = globalThis.fetch }) {
  const url = endpoint(baseURL, "v1/models");
  const response = await send(fetch, url, { headers: headers(token) });
  if (!response.ok) throw await errorFrom(response);
  const body = await readJSON(response);
  if (!body || !Array.isArray(body.data)) {
    throw new RelayError(`the relay answered ${url} with something other than an OpenAI model list`,
      { status: response.status, code: "unexpected_response" });
  }
  return body.data.map((/** @type {any} */ model) => model?.id)
    .filter((/** @type {unknown} */ id) => typeof id === "string");
}

/**
 * POST a chat request with `stream: true`; yields each chunk object of the stream until
 * `data: [DONE]`. Throws RelayError for a refusal, an error event, or a stream that ends early;
 * an abort through `signal` surfaces as the fetch's own AbortError.
 * @param {RelayOptions & {body: object, signal?: AbortSignal}} options
 * @returns {AsyncGenerator<any, void, undefined>}
 */
export async function* streamChat({ baseURL, token, body, signal, fetch = globalThis.fetch }) {
  const url = endpoint(baseURL, "v1/chat/completions");
  const response = await send(fetch, url, {
    method: "POST",
    headers: { ...headers(token), "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!response.ok) throw await errorFrom(response);
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream") || !response.body) {
    const text = await response.text().catch(() => "");
    throw new RelayError(`the relay answered ${response.status} with ${type || "no content type"} ` +
      `instead of an event stream: ${excerpt(text)}`, { status: response.status, code: "unexpected_response" });
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      /** @type {ReadableStreamReadResult<Uint8Array>} */
      let read;
      try {
        read = await reader.read();
      } catch (error) {
        if (signal?.aborted || isAbort(error)) throw error;
        throw new RelayError(`the stream broke off: ${reason(error)}`,
          { status: response.status, code: "stream_interrupted", inStream: true });
      }
      const events = read.done
        ? [...parser.push(decoder.decode()), ...parser.finish()]
        : parser.push(decoder.decode(read.value, { stream: true }));
      for (const event of events) {
        if (event.data === "[DONE]") return;
        yield chunkOf(event, response.status);
      }
      if (read.done) {
        throw new RelayError("the stream ended before its final [DONE]: the answer may be cut short",
          { status: response.status, code: "stream_truncated", inStream: true });
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * An incremental parser of the text/event-stream format (the HTML Living Standard's rules):
 * lines end in CRLF, LF or CR, even when a chunk boundary falls between CR and LF; comments are
 * skipped; `data` lines of one event are joined with "\n"; an event is dispatched at a blank line,
 * and one the stream ends in the middle of is dropped.
 */
const LINE_END = /\r\n|\r|\n/g;

export class SSEParser {
  constructor() {
    this.buffer = "";
    this.data = "";
    this.hasData = false;
    this.event = "";
    this.lastId = "";
    this.started = false;
  }

  /**
   * Feed decoded text; returns the events it completed.
   * @param {string} text
   * @returns {ServerSentEvent[]}
   */
  push(text) {
    if (!this.started && text) {
      this.started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    this.buffer += text;
    /** @type {ServerSentEvent[]} */
    const events = [];
    let start = 0;
    for (;;) {
      LINE_END.lastIndex = start;
      const found = LINE_END.exec(this.buffer);
      if (!found) break;
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (found[0] === "\r" && found.index === this.buffer.length - 1) break;
      this.#line(this.buffer.slice(start, found.index), events);
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * The stream ended: a CR held back for a possible LF ends its line after all. Returns the
   * events that completed; an event without its blank line is dropped, as the standard says.
   * @returns {ServerSentEvent[]}
   */
  finish() {
    /** @type {ServerSentEvent[]} */
    const events = [];
    if (this.buffer.endsWith("\r")) {
      this.#line(this.buffer.slice(0, -1), events);
    }
    this.buffer = "";
    this.data = "";
    this.hasData = false;
    this.event = "";
    return events;
  }

  /**
   * @param {string} line
   * @param {ServerSentEvent[]} events
   */
  #line(line, events) {
    if (line === "") {
      if (this.hasData) events.push({ event: this.event || "message", data: this.data, id: this.lastId });
      this.data = "";
      this.hasData = false;
      this.event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (field === "event") {
      this.event = value;
    } else if (field === "id" && !value.includes("\0")) {
      this.lastId = value;
    }
  }
}

/**
 * @param {ServerSentEvent} event
 * @param {number} status
 */
function chunkOf(event, status) {
  let parsed;
  try {
    parsed = JSON.parse(event.data);
  } catch {
    throw new RelayError(`the relay sent an event that is not JSON: ${excerpt(event.data)}`,
      { status, code: "unexpected_response", inStream: true });
  }
  if (parsed && typeof parsed === "object" && parsed.error) {
    const error = parsed.error;
    throw new RelayError(String(error.message ?? "the stream failed"), {
      status, code: error.code, type: error.type, param: error.param, inStream: true,
    });
  }
  return parsed;
}

/**
 * @param {Fetch} fetch
 * @param {string} url
 * @param {RequestInit} init
 */
async function send(fetch, url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted || isAbort(error)) throw error;
    throw new RelayError(`${url}: ${reason(error)}`, { status: 0, code: "network_error" });
  }
}

/**
 * The RelayError for a response that is not ok, from its OpenAI error body when it has one.
 * @param {Response} response
 */
async function errorFrom(response) {
  const text = await response.text().catch(() => "");
  /** @type {any} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = body?.error;
  if (error && typeof error === "object" && typeof error.message === "string") {
    return new RelayError(error.message, {
      status: response.status,
      code: error.code ?? (response.status === 401 ? "unauthorized" : null),
      type: error.type, param: error.param,
    });
  }
  const type = response.headers.get("content-type") || "no content type";
  const status = response.statusText ? `${response.status} ${response.statusText}` : `${response.status}`;
  const said = text.trim() ? `: ${excerpt(text)}` : ", with an empty body";
  return new RelayError(
    `the relay answered ${status} with something other than an OpenAI error (${type})${said}`,
    { status: response.status, code: response.status === 401 ? "unauthorized" : null },
  );
}

/** @param {Response} response */
async function readJSON(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new RelayError(`the relay answered ${response.status} with something other than JSON: ${excerpt(text)}`,
      { status: response.status, code: "unexpected_response" });
  }
}

/**
 * @param {string | URL} baseURL
 * @param {string} path
 */
function endpoint(baseURL, path) {
  const base = String(baseURL);
  return `${base.endsWith("/") ? base : `${base}/`}${path}`;
}

/** @param {string | undefined} token @returns {Record<string, string>} */
function headers(token) {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** @param {unknown} error */
function isAbort(error) {
  return error instanceof Error && error.name === "AbortError";
}

/** @param {unknown} error */
function reason(error) {
  if (!(error instanceof Error)) return String(error);
  // undici puts the useful part ("connect ECONNREFUSED ...") in `cause`.
  const cause = /** @type {any} */ (error).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

/** @param {string} text */
function excerpt(text) {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
