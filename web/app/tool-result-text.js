// What the model is told of a tool's result: MCP content (text, images, resources, structured
// content) as one text, since a tool message carries text. No DOM.

/** @typedef {import("./mcp-client.js").CallToolResult} CallToolResult */

/**
 * The text the model gets for a tool's result: its text parts, named placeholders for other
 * parts, and structuredContent as JSON unless a text part already says the same.
 * @param {CallToolResult} result
 */
export function resultForModel(result) {
  const parts = (result.content ?? []).map(describePart);
  const texts = (result.content ?? []).filter((part) => part?.type === "text").map((part) => String(part.text));
  const structured = result.structuredContent;
  if (structured !== undefined && ![...texts, texts.join("\n")].some((text) => sameJSON(text, structured))) {
    parts.push(JSON.stringify(structured));
  }
  const text = parts.join("\n");
  if (result.isError) return `Tool error: ${text || "(the tool gave no message)"}`;
  return text || "(the tool returned no content)";
}

/** @param {any} part */
function describePart(part) {
  switch (part?.type) {
    case "text":
      return String(part.text);
    case "image":
    case "audio":
      return `[${part.mimeType ?? part.type}, ${base64Bytes(part.data)} bytes omitted]`;
    case "resource_link":
      return `[resource link: ${part.uri}${part.mimeType ? ` (${part.mimeType})` : ""}]`;
    case "resource": {
      const resource = part.resource ?? {};
      if (typeof resource.text === "string") return resource.text;
      return `[${resource.mimeType ?? "binary"} resource ${resource.uri}, ${base64Bytes(resource.blob)} bytes omitted]`;
    }
    default:
      return `[${part?.type ?? "unknown"} content omitted]`;
  }
}

/** @param {unknown} data */
function base64Bytes(data) {
  if (typeof data !== "string") return 0;
  const clean = data.replace(/\s/g, "");
  const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - padding);
}

/**
 * @param {string} text
 * @param {unknown} value
 */
function sameJSON(text, value) {
  try {
    return canonical(JSON.parse(text)) === canonical(value);
  } catch {
    return false;
  }
}

/** JSON with object keys sorted, so two equal values compare equal as text. @param {unknown} value */
function canonical(value) {
  return JSON.stringify(value, (_, inner) => isObject(inner)
    ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : inner);
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
