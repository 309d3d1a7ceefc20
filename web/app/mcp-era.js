// MCP's two eras, once for both ends (the page's client and the WASM worker's server). Revision
// 2026-07-28 ("modern") has no initialize: every request names its protocol version and the
// client's capabilities in `params._meta` (the envelope), and every result says it is complete.
// The 2025 revisions ("legacy") open a session with initialize. Both may share one connection,
// told apart request by request. Mirrors py_runtime/cloche/_envelope.py.
import { ErrorCode, JsonRpcError } from "./jsonrpc.js";

export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"];
export const LEGACY_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];

export const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
export const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
export const LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";
export const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";
export const SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId";

export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

export const EraErrorCode = Object.freeze({
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
});

/** Methods of the modern era only: modern even without an envelope (and then told it is missing). */
const MODERN_ONLY_METHODS = new Set(["server/discover", "subscriptions/listen"]);

/**
 * @typedef {{protocolVersion: string, clientCapabilities: Record<string, any>,
 *            clientInfo?: Record<string, any>, logLevel?: string}} Envelope
 */

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Whether a request is served as 2026-07-28 rather than in a 2025 session: the version key alone
 * decides, so a half-built envelope is told what it lacks rather than taken for a 2025 request.
 * @param {{method: string, params?: unknown}} message
 */
export function isModern({ method, params }) {
  if (method === "initialize") return false;
  if (MODERN_ONLY_METHODS.has(method)) return true;
  const meta = isObject(params) ? params._meta : undefined;
  return isObject(meta) && PROTOCOL_VERSION_KEY in meta;
}

/** @param {unknown} requested */
export function unsupportedVersion(requested) {
  return new JsonRpcError(EraErrorCode.UnsupportedProtocolVersion,
    `Unsupported protocol version: ${requested}; this server speaks ${MODERN_PROTOCOL_VERSIONS.join(", ")} ` +
    `(stateless) and ${LEGACY_PROTOCOL_VERSIONS.join(", ")} through initialize`,
    { supported: [...MODERN_PROTOCOL_VERSIONS], requested });
}

/**
 * A modern request's envelope, checked in the order the SDKs check it (on HTTP the headers are
 * compared between the first check and the version's); a fault throws the JsonRpcError due.
 * @param {Record<string, any>} params
 * @returns {Envelope}
 */
export function checkEnvelope(params) {
  const meta = params._meta;
  const invalid = (/** @type {string} */ text) => new JsonRpcError(ErrorCode.InvalidParams, `Invalid params: ${text}`);
  if (!isObject(meta)) {
    throw invalid(`params._meta must be an object carrying '${PROTOCOL_VERSION_KEY}' and ` +
      `'${CLIENT_CAPABILITIES_KEY}' (MCP 2026-07-28 sends them on every request)`);
  }
  const missing = [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY].filter((key) => !(key in meta));
  if (missing.length) throw invalid(`params._meta is missing the required envelope key(s): ${missing.join(", ")}`);
  const protocolVersion = meta[PROTOCOL_VERSION_KEY];
  if (typeof protocolVersion !== "string") throw invalid(`${PROTOCOL_VERSION_KEY} must be a string`);
  if (!MODERN_PROTOCOL_VERSIONS.includes(protocolVersion)) throw unsupportedVersion(protocolVersion);
  const clientCapabilities = meta[CLIENT_CAPABILITIES_KEY];
  if (!isObject(clientCapabilities)) throw invalid(`${CLIENT_CAPABILITIES_KEY} must be an object`);
  const logLevel = meta[LOG_LEVEL_KEY] ?? undefined;
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw invalid(`${LOG_LEVEL_KEY} ${JSON.stringify(logLevel)} is not a log level; use one of ${LOG_LEVELS.join(", ")}`);
  }
  const clientInfo = isObject(meta[CLIENT_INFO_KEY]) ? meta[CLIENT_INFO_KEY] : undefined;
  return { protocolVersion, clientCapabilities, clientInfo, logLevel };
}

/**
 * A modern result: complete, and signed with the server's name and version.
 * @param {Record<string, any>} result
 * @param {{name: string, version: string}} serverInfo
 */
export function stampResult(result, serverInfo) {
  const meta = isObject(result._meta) ? result._meta : {};
  return { ...result, resultType: "complete", _meta: { ...meta, [SERVER_INFO_KEY]: serverInfo } };
}

/**
 * What the server's stamp wrapped (the reverse of `stampResult`), so a result reads the same in
 * both eras; a result that is not complete (e.g. "input_required") is refused.
 * @param {string} method
 * @param {any} result
 */
export function unstampResult(method, result) {
  if (!isObject(result)) return result;
  const { resultType, ...rest } = result;
  if (resultType !== undefined && resultType !== "complete") {
    throw new JsonRpcError(ErrorCode.InternalError, `the server answered ${method} with resultType ` +
      `${JSON.stringify(resultType)}, which this client does not take (only "complete")`, { resultType });
  }
  if (isObject(rest._meta) && SERVER_INFO_KEY in rest._meta) {
    const { [SERVER_INFO_KEY]: _, ...meta } = rest._meta;
    if (Object.keys(meta).length) rest._meta = meta; else delete rest._meta;
  }
  return rest;
}
