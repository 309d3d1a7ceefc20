// A conversation as a file: JSON that imports back without loss, and a Markdown transcript to
// read or share. The import checks the file strictly, since it may have been edited by hand or
// come from someone else, and says what is wrong and where. No DOM.
import { titleOf } from "./conversations.js";
import { ATTACHMENT_ID, describeAttachment } from "./attachments.js";

export const EXPORT_FORMAT = "cloche-conversation";
export const EXPORT_VERSION = 1;
export const IMPORTED_TITLE = "Imported conversation";
export const UNFINISHED_ON_EXPORT = "This call had not finished when the conversation was exported.";

/** @typedef {import("./conversations.js").Conversation} Conversation */

const ROLES = ["user", "assistant", "tool", "notice"];
const NOTICE_KINDS = ["error", "step-limit", "stopped"];
const STATUSES = ["pending", "approval", "denied", "running", "ok", "error", "stopped"];
const UNFINISHED = new Set(["pending", "approval", "running"]);
const NEVER_RAN = new Set(["pending", "approval", "denied"]);

/** A file that cannot be imported; the message says what is wrong and where. */
export class ImportError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ImportError";
  }
}

/**
 * The conversation as pretty-printed JSON, every field kept (tool results too).
 * @param {Conversation} conversation
 * @param {{now?: number}} [options]
 * @returns {string}
 */
export function toJSON(conversation, options = {}) {
  const exportedAt = new Date(options.now ?? Date.now()).toISOString();
  return `${JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt, conversation }, null, 2)}\n`;
}

/**
 * A conversation from an exported file, ready to save: a fresh id (so importing twice never
 * overwrites), `updatedAt` now, and calls that had not finished marked stopped.
 * @param {string} text
 * @param {{now?: number, newId?: () => string}} [options]
 * @returns {Conversation}
 * @throws {ImportError}
 */
export function fromJSON(text, options = {}) {
  const now = options.now ?? Date.now();
  const newId = options.newId ?? (() => crypto.randomUUID());
  if (typeof text !== "string") throw new ImportError(`not JSON: the file was read as ${describe(text)}, not text`);
  let file;
  try {
    file = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new ImportError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(file)) throw new ImportError(`not a Cloche conversation export (the file holds ${describe(file)})`);
  if (file.format === undefined) throw new ImportError("not a Cloche conversation export (format is missing)");
  if (file.format !== EXPORT_FORMAT) {
    throw new ImportError(`not a Cloche conversation export (format is ${describe(file.format)}, not "${EXPORT_FORMAT}")`);
  }
  const { version } = file;
  check(Number.isInteger(version) && version >= 1, "version", "a whole number from 1", version);
  if (version > EXPORT_VERSION) {
    throw new ImportError(`version ${version} is newer than this page understands (${EXPORT_VERSION}); update Cloche`);
  }
  const source = file.conversation;
  check(isObject(source), "conversation", "an object", source);
  const conversation = {
    id: newId(),
    title: optional(source, "title", "", "a string", (v) => typeof v === "string"),
    systemPrompt: optional(source, "systemPrompt", "", "a string", (v) => typeof v === "string"),
    model: optional(source, "model", "", "a string", (v) => typeof v === "string"),
    messages: checkMessages(source.messages),
    allowedTools: checkAllowedTools(optional(source, "allowedTools", [], "an array", Array.isArray)),
    ...attachmentsOf(source),
    createdAt: optional(source, "createdAt", now, "a number", isFiniteNumber),
    updatedAt: now,
  };
  settle(conversation);
  return conversation;
}

/**
 * Calls that were pending, awaiting approval or running when exported will never finish, and an
 * answer that was streaming will not go on: say so, as the store does for a closed page.
 * @param {Conversation} conversation
 */
function settle(conversation) {
  for (const message of conversation.messages) {
    if (message.role === "assistant" && message.cloche) delete message.cloche.streaming;
    if (message.role === "tool" && UNFINISHED.has(message.cloche.status)) {
      message.cloche.status = "stopped";
      message.content = UNFINISHED_ON_EXPORT;
    }
  }
  if (!conversation.title.trim() && !firstUserText(conversation)) conversation.title = IMPORTED_TITLE;
}

/**
 * What titleOf names an untitled conversation after, "" when there is nothing to name it after.
 * @param {Conversation} conversation
 */
function firstUserText(conversation) {
  const first = conversation.messages.find((m) => m.role === "user" && typeof m.content === "string");
  return first ? first.content.trim() : "";
}

/**
 * The files attached in the chat, kept with their bytes so that a tool can still get them.
 * @param {Record<string, any>} source
 * @returns {{attachments?: import("./attachments.js").Attachment[]}}
 */
function attachmentsOf(source) {
  if (source.attachments === undefined) return {};
  check(Array.isArray(source.attachments), "attachments", "an array", source.attachments);
  /** @type {any[]} */ (source.attachments).forEach((file, i) => {
    const at = `attachments[${i}]`;
    check(isObject(file), at, "an object", file);
    check(typeof file.id === "string" && ATTACHMENT_ID.test(file.id), `${at}.id`, "an id like att-0123abcd", file.id);
    check(typeof file.name === "string", `${at}.name`, "a string", file.name);
    check(typeof file.mediaType === "string", `${at}.mediaType`, "a string", file.mediaType);
    check(Number.isInteger(file.size) && file.size >= 0, `${at}.size`, "a whole number from 0", file.size);
    check(typeof file.base64 === "string", `${at}.base64`, "the file's bytes as base64 text", typeof file.base64);
  });
  return { attachments: source.attachments };
}

/** @param {unknown} list */
function checkAllowedTools(list) {
  const tools = /** @type {unknown[]} */ (list);
  tools.forEach((name, i) => check(typeof name === "string", `allowedTools[${i}]`, "a string", name));
  return /** @type {string[]} */ (tools);
}

/**
 * @param {unknown} messages
 * @returns {any[]}
 */
function checkMessages(messages) {
  check(Array.isArray(messages), "messages", "an array", messages);
  const list = /** @type {unknown[]} */ (messages);
  // A tool message answers a call of the assistant message before it, once: the model's API
  // refuses a history where it does not, so such a conversation could never continue.
  /** @type {Map<string, number | null>} call id -> the index of the message that answered it */
  let calls = new Map();
  list.forEach((message, i) => {
    const at = `messages[${i}]`;
    check(isObject(message), at, "an object", message);
    const m = /** @type {Record<string, any>} */ (message);
    check(ROLES.includes(m.role), `${at}.role`, `one of ${ROLES.join(", ")}`, m.role);
    if (m.role === "user") {
      checkContent(m.content, `${at}.content`);
      calls = new Map();
    } else if (m.role === "assistant") {
      calls = checkAssistant(m, at);
    } else if (m.role === "tool") {
      checkTool(m, at);
      const id = m.tool_call_id;
      if (!calls.has(id)) {
        throw new ImportError(`${at}.tool_call_id ${describe(id)} answers no tool call of the assistant message before it`);
      }
      const answered = calls.get(id);
      if (answered != null) throw new ImportError(`${at}.tool_call_id ${describe(id)} was already answered by messages[${answered}]`);
      calls.set(id, i);
    } else {
      check(NOTICE_KINDS.includes(m.kind), `${at}.kind`, `one of ${NOTICE_KINDS.join(", ")}`, m.kind);
      check(typeof m.text === "string", `${at}.text`, "a string", m.text);
    }
  });
  return list;
}

/**
 * @param {unknown} content
 * @param {string} at
 */
function checkContent(content, at) {
  check(typeof content === "string" || Array.isArray(content), at, "a string or an array of parts", content);
  if (!Array.isArray(content)) return;
  content.forEach((part, i) => {
    check(isObject(part), `${at}[${i}]`, "an object", part);
    check(typeof part.type === "string", `${at}[${i}].type`, "a string", part.type);
  });
}

/**
 * @param {Record<string, any>} m
 * @param {string} at
 * @returns {Map<string, number | null>} its tool calls' ids, none answered yet
 */
function checkAssistant(m, at) {
  check(typeof m.content === "string" || m.content === null, `${at}.content`, "a string or null", m.content);
  if (m.cloche !== undefined) check(isObject(m.cloche), `${at}.cloche`, "an object", m.cloche);
  /** @type {Map<string, number | null>} */
  const calls = new Map();
  if (m.tool_calls === undefined) return calls;
  check(Array.isArray(m.tool_calls), `${at}.tool_calls`, "an array", m.tool_calls);
  m.tool_calls.forEach((/** @type {unknown} */ call, /** @type {number} */ i) => {
    const where = `${at}.tool_calls[${i}]`;
    check(isObject(call), where, "an object", call);
    const c = /** @type {Record<string, any>} */ (call);
    check(typeof c.id === "string" && c.id !== "", `${where}.id`, "a non-empty string", c.id);
    if (calls.has(c.id)) throw new ImportError(`${where}.id ${describe(c.id)} is used twice in this message`);
    calls.set(c.id, null);
    check(c.type === "function", `${where}.type`, '"function"', c.type);
    check(isObject(c.function), `${where}.function`, "an object", c.function);
    check(typeof c.function.name === "string", `${where}.function.name`, "a string", c.function.name);
    check(typeof c.function.arguments === "string", `${where}.function.arguments`, "a string", c.function.arguments);
  });
  return calls;
}

/**
 * @param {Record<string, any>} m
 * @param {string} at
 */
function checkTool(m, at) {
  check(typeof m.tool_call_id === "string" && m.tool_call_id !== "", `${at}.tool_call_id`, "a non-empty string", m.tool_call_id);
  check(typeof m.content === "string", `${at}.content`, "a string", m.content);
  const state = m.cloche;
  check(isObject(state), `${at}.cloche`, "an object", state);
  check(typeof state.tool === "string", `${at}.cloche.tool`, "a string", state.tool);
  check(state.args !== undefined, `${at}.cloche.args`, "the call's arguments", state.args);
  check(STATUSES.includes(state.status), `${at}.cloche.status`, `one of ${STATUSES.join(", ")}`, state.status);
  check(isFiniteNumber(state.startedAt), `${at}.cloche.startedAt`, "a number", state.startedAt);
  check(isFiniteNumber(state.elapsedMs) && state.elapsedMs >= 0, `${at}.cloche.elapsedMs`, "a number from 0", state.elapsedMs);
  if (state.progress !== undefined) {
    const p = state.progress;
    check(isObject(p), `${at}.cloche.progress`, "an object", p);
    check(isFiniteNumber(p.progress), `${at}.cloche.progress.progress`, "a number", p.progress);
    if (p.total !== undefined) check(isFiniteNumber(p.total), `${at}.cloche.progress.total`, "a number", p.total);
    if (p.message !== undefined) check(typeof p.message === "string", `${at}.cloche.progress.message`, "a string", p.message);
  }
  if (state.result !== undefined) {
    const r = state.result;
    check(isObject(r), `${at}.cloche.result`, "an object", r);
    check(Array.isArray(r.content), `${at}.cloche.result.content`, "an array of parts", r.content);
    checkContent(r.content, `${at}.cloche.result.content`);
    if (r.isError !== undefined) check(typeof r.isError === "boolean", `${at}.cloche.result.isError`, "true or false", r.isError);
  }
  if (state.error !== undefined) {
    const e = state.error;
    check(isObject(e), `${at}.cloche.error`, "an object", e);
    check(typeof e.message === "string", `${at}.cloche.error.message`, "a string", e.message);
    if (e.code !== undefined) {
      check(typeof e.code === "string" || isFiniteNumber(e.code), `${at}.cloche.error.code`, "a number or a string", e.code);
    }
  }
}

/**
 * The field's value when present and valid, the fallback when absent.
 * @template T
 * @param {Record<string, any>} source
 * @param {string} key
 * @param {T} fallback
 * @param {string} expected
 * @param {(value: unknown) => boolean} valid
 * @returns {T}
 */
function optional(source, key, fallback, expected, valid) {
  const value = source[key];
  if (value === undefined) return fallback;
  check(valid(value), key, expected, value);
  return value;
}

/**
 * @param {boolean} ok
 * @param {string} path
 * @param {string} expected
 * @param {unknown} value
 * @returns {asserts ok}
 */
function check(ok, path, expected, value) {
  if (ok) return;
  if (value === undefined) throw new ImportError(`${path} is missing (it must be ${expected})`);
  throw new ImportError(`${path} must be ${expected}, not ${describe(value)}`);
}

/** A short description of a value for an error message. @param {unknown} value */
function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 39)}…` : value);
  if (typeof value === "object") return "an object";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `a ${typeof value}`;
}

/**
 * A transcript to read: the title, the system prompt as a quote, each turn, each tool call with
 * its status, elapsed time, arguments and outcome, and notices in italics. Markdown only, no HTML.
 * @param {Conversation} conversation
 * @returns {string}
 */
export function toMarkdown(conversation) {
  const blocks = [`# ${plainText(titleOf(conversation))}`];
  if (conversation.model) blocks.push(`Model: ${inlineCode(conversation.model)}`);
  if (conversation.systemPrompt.trim()) blocks.push(quote(`**System prompt**\n\n${conversation.systemPrompt.trim()}`));
  for (const message of conversation.messages) blocks.push(...messageBlocks(message));
  return `${blocks.filter(Boolean).join("\n\n")}\n`;
}

/**
 * @param {any} message
 * @returns {string[]}
 */
function messageBlocks(message) {
  switch (message.role) {
    case "user": {
      const files = message.cloche?.attachments ?? [];
      const attached = files.map((/** @type {any} */ file) => `- 📎 ${plainText(describeAttachment(file))} (${file.id})`);
      return ["**You**", closeFences(contentText(message.content)), ...(attached.length ? [attached.join("\n")] : [])];
    }
    case "assistant":
      // A step that only called tools has no text: its tool messages follow.
      return typeof message.content === "string" && message.content.trim()
        ? ["**Assistant**", closeFences(message.content)] : [];
    case "tool":
      return toolBlocks(message);
    case "notice":
      return [`_${plainText(message.text)}_`];
    default:
      return [];
  }
}

/**
 * @param {{role: "tool", content: string, cloche: any}} message
 * @returns {string[]}
 */
function toolBlocks(message) {
  const state = message.cloche;
  const facts = [state.status];
  if (!NEVER_RAN.has(state.status)) facts.push(duration(state.elapsedMs));
  const blocks = [`#### Tool call: ${inlineCode(state.tool)} (${facts.join(", ")})`];
  const { args, result, error } = state;
  if (typeof args === "string") {
    blocks.push("Arguments, as sent (not a JSON object):", fence(args));
  } else if (isObject(args) && !Object.keys(args).length) {
    blocks.push("No arguments.");
  } else {
    blocks.push("Arguments:", fence(JSON.stringify(args, null, 2), "json"));
  }
  if (result) {
    blocks.push(result.isError ? "Error:" : "Result:", ...resultBlocks(result));
  } else if (error) {
    blocks.push(error.code === undefined ? "Error:" : `Error (code ${plainText(String(error.code))}):`, fence(error.message));
  } else if (state.status === "error") {
    blocks.push("Error:", fence(message.content));  // it failed before running: unknown tool, bad arguments
  } else if (message.content) {
    blocks.push(`_${plainText(message.content)}_`);  // denied or stopped: what the model was told
  }
  return blocks;
}

/**
 * A tool's result: its text (and placeholders for other content) in one block, its structured
 * content as JSON in another, unless a text part already says the same.
 * @param {import("./mcp-client.js").CallToolResult} result
 * @returns {string[]}
 */
function resultBlocks(result) {
  const structured = result.structuredContent;
  const texts = (result.content ?? [])
    .filter((part) => !(part?.type === "text" && structured !== undefined && sameJSON(String(part.text), structured)))
    .map(partText);
  const blocks = [];
  if (texts.length) blocks.push(fence(texts.join("\n")));
  if (structured !== undefined) blocks.push(fence(JSON.stringify(structured, null, 2), "json"));
  return blocks.length ? blocks : ["_(no content)_"];
}

/** @param {any} part */
function partText(part) {
  switch (part?.type) {
    case "text":
      return String(part.text);
    case "resource_link":
      return `[resource link: ${part.uri}]`;
    case "resource":
      return typeof part.resource?.text === "string" ? part.resource.text : `[resource ${part.resource?.uri} omitted]`;
    default:
      return `[${part?.mimeType ?? part?.type ?? "unknown"} content omitted]`;
  }
}

/** A user message's content: text, or OpenAI content parts. @param {string | any[]} content */
function contentText(content) {
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? String(part.text) : `_[${plainText(part.type)} omitted]_`)).join("\n\n");
}

/**
 * A fenced code block that no run of backticks in the text can close early.
 * @param {string} text
 * @param {string} [info]
 */
function fence(text, info = "") {
  const marks = "`".repeat(Math.max(3, longestRun(text, "`") + 1));
  return `${marks}${info}\n${text.replace(/\n$/, "")}\n${marks}`;
}

/**
 * Model text that ends inside a code block (a stopped answer, say) would turn the rest of the
 * transcript into code: close it.
 * @param {string} text
 */
function closeFences(text) {
  /** @type {string | null} */
  let open = null;
  for (const line of text.split(/\r?\n/)) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    const [, marks, rest] = match;
    if (open === null) {
      if (!(marks[0] === "`" && rest.includes("`"))) open = marks;  // a backtick fence's info has no backtick
    } else if (marks[0] === open[0] && marks.length >= open.length && !rest.trim()) {
      open = null;
    }
  }
  return open === null ? text : `${text}\n${open}`;
}

/** @param {string} text */
function inlineCode(text) {
  const flat = text.replace(/\s+/g, " ");
  const marks = "`".repeat(longestRun(flat, "`") + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${marks}${pad}${flat}${pad}${marks}`;
}

/**
 * @param {string} text
 * @param {string} char
 */
function longestRun(text, char) {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

/** Text shown as itself on one line: Markdown's special characters escaped. @param {string} text */
function plainText(text) {
  return text.replace(/\s+/g, " ").trim().replace(/[\\`*_[\]<>#|~&]/g, "\\$&");
}

/** @param {string} text */
function quote(text) {
  return text.split(/\r?\n/).map((line) => (line ? `> ${line}` : ">")).join("\n");
}

/** @param {number} ms */
function duration(ms) {
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * @param {string} text
 * @param {unknown} value
 */
function sameJSON(text, value) {
  try {
    return canonicalJSON(JSON.parse(text)) === canonicalJSON(value);
  } catch {
    return false;
  }
}

/** JSON with object keys sorted, so equal values give equal text. @param {unknown} value */
function canonicalJSON(value) {
  return JSON.stringify(value, (_, inner) => (isObject(inner)
    ? Object.fromEntries(Object.keys(inner).sort().map((key) => [key, inner[key]]))
    : inner));
}

const MAX_NAME = 60;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/;

/**
 * A file name from the title (or the first message, as the list names it): lower case, letters
 * and digits joined by dashes, "conversation" when nothing is left.
 * @param {Conversation} conversation
 * @param {string} extension  "md" or ".md"
 */
export function exportFileName(conversation, extension) {
  const source = conversation.title.trim() || (firstUserText(conversation) ? titleOf(conversation) : "");
  let letters = [...source.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "")];
  if (letters.length > MAX_NAME) {
    const cut = letters.lastIndexOf("-", MAX_NAME);  // end at a word when one ends near enough
    letters = letters.slice(0, cut > MAX_NAME / 2 ? cut : MAX_NAME);
  }
  let base = letters.join("").replace(/-+$/, "") || "conversation";
  if (WINDOWS_RESERVED.test(base)) base = `${base}-conversation`;
  const suffix = extension.replace(/^\.+/, "").toLowerCase().replace(/[^a-z0-9]/g, "");
  return suffix ? `${base}.${suffix}` : base;
}

/** @param {unknown} value @returns {value is Record<string, any>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @param {unknown} value @returns {value is number} */
function isFiniteNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}
