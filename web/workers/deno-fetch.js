// `cloche/fetch` in `cloche mcp`'s Deno process (python-deno.js answers it with this): the request
// `cloche.http.fetch` sends its host, made here with Deno's own fetch, so that Deno's --allow-net
// stays the one boundary, checked again at each redirect, and the server never fetches for tool
// code. It takes and answers what the page's host (web/app/package-services.js) and the server's
// fetch proxy (py_runtime/cloche_server/fetch_proxy) do, with the proxy's default limits.

export const FETCH_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const MAX_URL_LENGTH = 8192;
const MAX_HEADERS = 100;
const MAX_REQUEST_BYTES = 1024 * 1024;
const MAX_BODY_BASE64 = Math.ceil(MAX_REQUEST_BYTES / 3) * 4;
// The fetch proxy's defaults (fetch_proxy/config.py and route.py).
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
export const TIMEOUT_MS = 20_000;
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// As the proxy (fetch_proxy/headers.py): what belongs to one connection, what the client sets
// itself, and cookies, which no fetch keeps or sends on.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
const SET_BY_DENO = ["host", "content-length", "accept-encoding", "expect"];
const COOKIES = ["cookie", "cookie2", "set-cookie", "set-cookie2"];
const BODY_HEADERS = ["content-type", "content-encoding", "content-language", "content-location"];
/** What Deno's fetch asks for and decodes: the body then no longer has that encoding or length. */
const DECODED = new Set(["gzip", "br"]);
const NOT_GRANTED = "under `cloche mcp` a package reaches only the hosts its operator granted it " +
  "(`cloche mcp --grant PACKAGE=HOST`), which Deno's --allow-net enforces";

/**
 * @typedef {{url: string, method: string, headers: [string, string][], body: BodyInit | null}} Asked
 * @typedef {{status: number, statusText: string, url: string, headers: [string, string][], body: string,
 *            redirects: string[]}} FetchAnswer
 */

/**
 * Fetch as `params` ({url, method, headers, body: base64 | null}) asks, following up to
 * MAX_REDIRECTS redirects, within TIMEOUT_MS in all; the answer as the page's host gives it. A
 * refusal or failure throws an Error whose message says what happened, for tool code to read.
 * @param {any} params
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<FetchAnswer>}
 */
export async function hostFetch(params, fetchImpl = globalThis.fetch) {
  const asked = checkedRequest(params);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  let { url, method, headers, body } = asked;
  /** @type {string[]} */
  const redirects = [];
  try {
    for (;;) {
      let response;
      try {
        response = await fetchImpl(url, { method, headers, body, redirect: "manual", signal });
      } catch (error) {
        throw notFetched(error, asked.url, redirects);
      }
      const location = response.headers.get("location");
      if (!REDIRECT_STATUSES.has(response.status) || location === null) {
        return await answer(response, url, redirects);
      }
      await response.body?.cancel();
      const next = redirectTarget(url, location);
      if (redirects.length === MAX_REDIRECTS) {
        throw new Error(`${asked.url} redirected more than ${MAX_REDIRECTS} times (the last time to ${next}); ` +
          "the redirect was not followed");
      }
      const status = response.status;
      if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
        method = "GET";
        body = null;
        headers = without(headers, BODY_HEADERS);
      }
      // The package's credentials were for the origin it named.
      if (new URL(next).origin !== new URL(url).origin) headers = without(headers, ["authorization"]);
      redirects.push(next);
      url = next;
    }
  } catch (error) {
    if (signal.aborted) {
      throw new Error(`the fetch of ${asked.url} took longer than ${TIMEOUT_MS / 1000} s (redirects included); ` +
        "try again later");
    }
    throw error;
  }
}

/**
 * The request, checked as the page's host checks it (package-services.js, fetchRequest).
 * @param {any} params
 * @returns {Asked}
 */
function checkedRequest(params) {
  const { url, method = "GET", headers = [], body = null } = params ?? {};
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH || !/^https?:\/\//i.test(url)) {
    throw new Error(`cloche/fetch needs an http or https URL (up to ${MAX_URL_LENGTH} characters), got ` +
      `${JSON.stringify(url)?.slice(0, 200)}`);
  }
  const target = parsedURL(url, (why) => `cloche/fetch cannot fetch ${JSON.stringify(url.slice(0, 500))}: ${why}`);
  if (typeof method !== "string" || !FETCH_METHODS.includes(method.toUpperCase())) {
    throw new Error(`cloche/fetch's method must be one of ${FETCH_METHODS.join(", ")}, got ${JSON.stringify(method)}`);
  }
  if (!Array.isArray(headers) || headers.length > MAX_HEADERS ||
      !headers.every((h) => Array.isArray(h) && h.length === 2 && h.every((part) => typeof part === "string"))) {
    throw new Error(`cloche/fetch's headers must be a list of up to ${MAX_HEADERS} [name, value] string pairs`);
  }
  try {
    new Headers(headers);
  } catch (error) {
    throw new Error(`cloche/fetch's headers cannot be sent: ${messageOf(error)}`);
  }
  if (body !== null && (typeof body !== "string" || body.length > MAX_BODY_BASE64)) {
    throw new Error("cloche/fetch's body must be null or base64 text of at most 1 MiB of bytes");
  }
  const upper = method.toUpperCase();
  if (body !== null && (upper === "GET" || upper === "HEAD")) {
    throw new Error(`cloche/fetch: a ${upper} request has no body`);
  }
  let bytes = null;
  if (body !== null) {
    try {
      bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    } catch {
      throw new Error("cloche/fetch's body is not valid base64");
    }
  }
  return { url: target, method: upper, headers: sentHeaders(headers), body: bytes };
}

/**
 * `text` as an http(s) URL without credentials or fragment; else an Error from `say(why)`.
 * @param {string} text @param {(why: string) => string} say @param {string} [base]
 */
function parsedURL(text, say, base) {
  let url;
  try {
    url = new URL(text, base);
  } catch {
    throw new Error(say("it is not a valid URL"));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(say("only http:// and https:// URLs can be fetched"));
  if (url.username || url.password) {
    throw new Error(say("it holds a user name or password; send an Authorization header instead"));
  }
  url.hash = "";
  return url.href;
}

/** @param {string} from @param {string} location */
function redirectTarget(from, location) {
  return parsedURL(location, (why) =>
    `${from} redirected to ${JSON.stringify(location.slice(0, 500))}, which cannot be followed: ${why}`, from);
}

/**
 * Why `error` (thrown by Deno's fetch) left nothing fetched, said for tool code.
 * @param {unknown} error @param {string} asked @param {string[]} redirects
 */
function notFetched(error, asked, redirects) {
  const url = redirects.at(-1) ?? asked;
  const name = /** @type {any} */ (error)?.name;
  if (name === "NotCapable" || name === "PermissionDenied") {  // Deno.errors' names, in Deno 2 and 1
    return new Error(redirects.length
      ? `${asked} redirected to ${url}, which this process may not reach (${messageOf(error)}); ` +
        `the redirect was not followed: ${NOT_GRANTED}`
      : `${url} is outside the hosts this process may reach (${messageOf(error)}); nothing was fetched: ${NOT_GRANTED}`);
  }
  return name === "TimeoutError" ? /** @type {Error} */ (error) : new Error(`could not fetch ${url}: ${messageOf(error)}`);
}

/**
 * The final response as the page's host answers it, its body read within MAX_RESPONSE_BYTES.
 * @param {Response} response @param {string} url @param {string[]} redirects
 * @returns {Promise<FetchAnswer>}
 */
async function answer(response, url, redirects) {
  const decoded = DECODED.has((response.headers.get("content-encoding") ?? "").trim().toLowerCase());
  const tooLarge = () => new Error(`the answer from ${url} is larger than the limit of ${MAX_RESPONSE_BYTES} bytes`);
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (!decoded && declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  /** @type {Uint8Array[]} */
  const chunks = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const read = await reader?.read();
      if (!read || read.done) break;
      size += read.value.length;
      if (size > MAX_RESPONSE_BYTES) {
        await reader?.cancel();
        throw tooLarge();
      }
      chunks.push(read.value);
    }
  } catch (error) {
    if (size > MAX_RESPONSE_BYTES || /** @type {any} */ (error)?.name === "TimeoutError") throw error;
    throw new Error(`could not read the answer from ${url}: ${messageOf(error)}`);
  }
  return {
    status: response.status,
    statusText: response.statusText,
    url,
    headers: receivedHeaders(response.headers, decoded),
    body: base64(chunks, size),
    redirects,
  };
}

/** @param {[string, string][]} headers @returns {Set<string>} */
function namedByConnection(headers) {
  return new Set(headers.filter(([name]) => name.toLowerCase() === "connection")
    .flatMap(([, value]) => value.split(",").map((token) => token.trim().toLowerCase())));
}

/** The package's headers that are sent: as the proxy, less those Deno sets and cookies. @param {[string, string][]} headers */
function sentHeaders(headers) {
  const dropped = new Set([...HOP_BY_HOP, ...SET_BY_DENO, ...COOKIES, ...namedByConnection(headers)]);
  return headers.filter(([name]) => !dropped.has(name.toLowerCase()) && !name.toLowerCase().startsWith("proxy-"));
}

/** @param {[string, string][]} headers @param {string[]} names */
function without(headers, names) {
  return headers.filter(([name]) => !names.includes(name.toLowerCase()));
}

/**
 * The answer's headers as the page gets them: lower-case names, without cookies or connection
 * headers, and without Content-Encoding and Content-Length once Deno decoded the body.
 * @param {Headers} headers @param {boolean} decoded @returns {[string, string][]}
 */
function receivedHeaders(headers, decoded) {
  /** @type {[string, string][]} */
  const pairs = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  const dropped = new Set([...HOP_BY_HOP, ...COOKIES, ...namedByConnection(pairs),
    ...decoded ? ["content-encoding", "content-length"] : []]);
  return pairs.filter(([name]) => !dropped.has(name) && !name.startsWith("proxy-"));
}

/** @param {Uint8Array[]} chunks @param {number} size */
function base64(chunks, size) {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  let text = "";
  for (let start = 0; start < size; start += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(text);
}

/** Deno's fetch says "fetch failed" and why in its cause. @param {unknown} error @returns {string} */
function messageOf(error) {
  if (!(error instanceof Error)) return String(error);
  return error.cause ? `${error.message} (${messageOf(error.cause)})` : error.message;
}
