// How much of a tool's result the page keeps. A result under the transport's 8 Mi-character cap
// can still be far more than the page can hold in its state, render, store with the conversation
// and send to the model, so what is over these limits is cut here, visibly. No DOM.

/** The most characters one text part (or an embedded text resource) keeps. */
export const MAX_TEXT_PART_CHARS = 256 * 1024;
/**
 * The most characters all text parts of one result keep together: a few such results still fit
 * the relay's default 4 MiB request body with the rest of a conversation.
 */
export const MAX_RESULT_TEXT_CHARS = 512 * 1024;
/** structuredContent whose JSON is longer than this is dropped (a cut object is not the object). */
export const MAX_STRUCTURED_CHARS = 256 * 1024;
/** Set to true in a result's `_meta` when the page cut or dropped any of it. */
export const TRUNCATED_META = "cloche/truncated";

/**
 * @typedef {{textPartChars?: number, resultTextChars?: number, structuredChars?: number}} ResultLimits
 */

/**
 * The result as the page keeps it: text over the limits cut, each cut marked in the text; a
 * structuredContent over its limit dropped and a marker added; `_meta["cloche/truncated"]` set
 * when anything was cut. A result within the limits is returned as it is.
 * @param {import("./mcp-client.js").CallToolResult} result
 * @param {ResultLimits} [limits]
 * @returns {import("./mcp-client.js").CallToolResult}
 */
export function capResult(result, limits = {}) {
  const partLimit = limits.textPartChars ?? MAX_TEXT_PART_CHARS;
  const structuredLimit = limits.structuredChars ?? MAX_STRUCTURED_CHARS;
  if (!result || typeof result !== "object") return result;
  let budget = limits.resultTextChars ?? MAX_RESULT_TEXT_CHARS;
  let cut = false;
  const content = Array.isArray(result.content) ? result.content.map((part) => {
    const text = textOf(part);
    if (text === undefined) return part;
    const kept = cutText(text, Math.min(partLimit, budget));
    budget = Math.max(0, budget - kept.length);
    if (kept === text) return part;
    cut = true;
    const marker = cutMarker(text.length - kept.length);
    const marked = kept ? kept + marker : marker.trimStart();
    return part.type === "text" ? { ...part, text: marked } : { ...part, resource: { ...part.resource, text: marked } };
  }) : result.content;
  /** @type {any} */
  const capped = { ...result, content };
  if (result.structuredContent !== undefined) {
    const length = JSON.stringify(result.structuredContent)?.length ?? 0;
    if (length > structuredLimit) {
      delete capped.structuredContent;
      cut = true;
      capped.content = [...Array.isArray(content) ? content : [], { type: "text",
        text: `[… cut: the structured result, ${formatCount(length)} characters of JSON; the result was larger than the page shows]` }];
    }
  }
  if (!cut) return result;
  capped._meta = { ...result._meta, [TRUNCATED_META]: true };
  return capped;
}

/** @param {number} more */
export function cutMarker(more) {
  return `\n[… cut: ${formatCount(more)} more characters; the result was larger than the page shows]`;
}

/** @param {any} part @returns {string | undefined} */
function textOf(part) {
  if (part?.type === "text" && typeof part.text === "string") return part.text;
  if (part?.type === "resource" && typeof part.resource?.text === "string") return part.resource.text;
  return undefined;
}

/**
 * The first `limit` characters, one fewer when the cut would split a surrogate pair.
 * @param {string} text
 * @param {number} limit
 */
function cutText(text, limit) {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

/** @param {number} count */
function formatCount(count) {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
