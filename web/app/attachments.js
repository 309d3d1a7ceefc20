// Files in the chat and in tool calls. A tool takes a file as a string with
// `contentEncoding: "base64"` (see docs/python-tools.md, "Files"). The user attaches files to a
// message; the model sees each one's id and name, never its bytes, and passes the id as the value
// of such a field; the id is replaced by the file's base64 only for the call itself, so the
// conversation and the tool card keep the id. No DOM: runs in node and in the page.
//
// Sizes are counted in units of 1024 (1 MB = 1,048,576 bytes), as the caps below are.

import { DEFAULT_MAX_MESSAGE_LENGTH } from "./transports.js";

/**
 * @typedef {Record<string, any>} Schema
 * @typedef {(string | number)[]} Path  keys from the arguments' root; "*" for any array item or map value
 * @typedef {{id: string, name: string, mediaType: string, size: number}} AttachmentInfo  what a message shows
 * @typedef {AttachmentInfo & {base64: string}} Attachment  kept in the conversation, with the bytes
 * @typedef {(id: string) => Partial<Attachment> | undefined} AttachmentLookup
 */

/**
 * The largest file a tool can be given. A tool call travels as one message of at most 8 Mi
 * characters (DEFAULT_MAX_MESSAGE_LENGTH), and base64 adds a third: 5 MiB becomes 6.67 Mi
 * characters, which leaves room for the other arguments and the envelope.
 */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** An attachment id as the model sees and passes it. */
export const ATTACHMENT_ID = /^att-[0-9a-f]{8}$/;

/** Room kept in a call's message for the JSON-RPC envelope around the arguments. */
const ENVELOPE_CHARACTERS = 4096;
const CHUNK_BYTES = 3 * 8192; // a multiple of 3, so each chunk's base64 has no padding inside

/**
 * Why a file cannot be used (too big), or null when it can.
 * @param {string} name
 * @param {number} size  in bytes
 * @returns {string | null}
 */
export function sizeProblem(name, size) {
  if (!(size > MAX_FILE_BYTES)) return null;
  // Just over the cap rounds to the cap itself; then only the exact count tells them apart.
  const shown = humanSize(size) === humanSize(MAX_FILE_BYTES) ? `${grouped(size)} bytes` : humanSize(size);
  return `${name} is ${shown}; files up to ${humanSize(MAX_FILE_BYTES)} (${grouped(MAX_FILE_BYTES)} bytes) ` +
    `can be used, because a tool call travels as one message of at most ${humanSize(DEFAULT_MAX_MESSAGE_LENGTH)}. ` +
    "Use a smaller file or split it.";
}

/**
 * A size for people: "0 bytes", "1 byte", "900 bytes", "1.2 KB", "6.2 MB", "12 MB".
 * @param {number} bytes
 */
export function humanSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 1024) return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  for (;;) {
    const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
    if (rounded < 1024 || unit === units.length - 1) return `${rounded} ${units[unit]}`;
    value /= 1024;
    unit += 1;
  }
}

/**
 * Standard, padded base64 of the bytes. Chunked: one String.fromCharCode over megabytes of
 * arguments would overflow the stack.
 * @param {Uint8Array} bytes
 */
export function bytesToBase64(bytes) {
  /** @type {string[]} */
  const parts = [];
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(start, start + CHUNK_BYTES))));
  }
  return parts.join("");
}

/**
 * The bytes of base64 text; throws on text that is not base64.
 * @param {string} text
 */
export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * A fresh attachment id, "att-" and 8 random hex digits, different from those in `taken`.
 * @param {Iterable<string>} [taken]
 */
export function newAttachmentId(taken = []) {
  const used = new Set(taken);
  for (;;) {
    const random = crypto.getRandomValues(new Uint8Array(4));
    const id = `att-${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (!used.has(id)) return id;
  }
}

/**
 * "data.csv (text/csv, 1.2 KB)": how a file is named to the user and to the model.
 * @param {{name: string, size: number, mediaType?: string}} file
 */
export function describeAttachment(file) {
  const name = oneLine(file.name) || "unnamed file";
  return file.mediaType ? `${name} (${oneLine(file.mediaType)}, ${humanSize(file.size)})` : `${name} (${humanSize(file.size)})`;
}

/**
 * What is appended (on the wire only) to a user message with attachments: their ids and names.
 * Never the bytes. Empty for no attachments.
 * @param {AttachmentInfo[]} attachments
 */
export function attachmentNote(attachments) {
  if (!attachments.length) return "";
  const lines = attachments.map((a) => `- ${a.id}: ${describeAttachment(a)}`);
  return "Attached files (pass an id as the value of a tool argument that takes a file, i.e. a base64 " +
    `string field; the bytes are not shown to you):\n${lines.join("\n")}`;
}

/**
 * Whether the schema takes a file: a string with `contentEncoding: "base64"`, or an anyOf/oneOf of
 * that with `{type: "null"}`. `$ref`s are resolved against `root`.
 * @param {unknown} schema
 * @param {Schema} [root]
 * @returns {boolean}
 */
export function isFileSchema(schema, root = isPlainObject(schema) ? schema : {}) {
  const { schema: node } = resolve(schema, root);
  const type = node.type;
  const isString = type === "string" || (Array.isArray(type) && type.includes("string") &&
    type.every((/** @type {unknown} */ t) => t === "string" || t === "null"));
  if (isString && node.contentEncoding === "base64") return true;
  const options = alternatives(node);
  if (!options) return false;
  const others = options.filter((option) => resolve(option, root).schema.type !== "null");
  return others.length > 0 && others.every((option) => isFileSchema(option, root));
}

/**
 * Where a tool's arguments take files: e.g. [["file"], ["items", "*", "data"]].
 * @param {unknown} inputSchema
 * @returns {Path[]}
 */
export function fileFields(inputSchema) {
  const root = isPlainObject(inputSchema) ? inputSchema : {};
  /** @type {Map<string, Path>} */
  const found = new Map();
  collectFileFields(root, root, [], [], found);
  return [...found.values()];
}

/**
 * The arguments with each attachment id given to a file field replaced by that file's base64.
 * An id in a field that does not take a file is left as text; so is base64 passed directly.
 * `problems` name the argument and what to do (an unknown id, bytes no longer kept, files too
 * big for one call); the caller should not make the call then. `args` is a copy.
 * @param {unknown} args
 * @param {unknown} inputSchema
 * @param {AttachmentLookup} lookup
 * @param {AttachmentInfo[]} [available]  the conversation's attachments, suggested for an unknown id
 * @returns {{args: any, used: string[], problems: string[]}}
 */
export function substituteAttachments(args, inputSchema, lookup, available = []) {
  const root = isPlainObject(inputSchema) ? inputSchema : {};
  /** @type {Walk} */
  const walk = { root, lookup, available, used: [], fields: [], problems: [] };
  const out = substitute(args, root, [], walk);
  const used = [...new Set(walk.used)];
  if (used.length && !walk.problems.length) {
    const length = JSON.stringify(out).length + ENVELOPE_CHARACTERS;
    if (length > DEFAULT_MAX_MESSAGE_LENGTH) {
      walk.problems.push(`${[...new Set(walk.fields)].join(", ")}: the files passed (${used.join(", ")}) make ` +
        `this call ${humanSize(length)} of text, more than the ${humanSize(DEFAULT_MAX_MESSAGE_LENGTH)} ` +
        "one tool call can carry; pass fewer or smaller files per call");
    }
  }
  return { args: out, used, problems: walk.problems };
}

/**
 * @typedef {{root: Schema, lookup: AttachmentLookup, available: AttachmentInfo[], used: string[],
 *            fields: string[], problems: string[]}} Walk
 */

/**
 * A copy of `value` with attachment ids in file fields replaced, walking the schema alongside.
 * @param {unknown} value
 * @param {unknown} raw  the schema at this point
 * @param {Path} path
 * @param {Walk} walk
 * @returns {unknown}
 */
function substitute(value, raw, path, walk) {
  const { schema } = resolve(raw, walk.root);
  if (typeof value === "string") {
    if (!ATTACHMENT_ID.test(value) || !takesFile(schema, walk.root)) return value;
    return fileFor(value, path, walk);
  }
  if (Array.isArray(value) || isPlainObject(value)) {
    // In a union, the first option the value fits and that puts a file somewhere in it wins.
    for (const option of alternatives(schema) ?? []) {
      if (!fits(value, resolve(option, walk.root).schema)) continue;
      /** @type {Walk} */
      const trial = { ...walk, used: [], fields: [], problems: [] };
      const out = substitute(value, option, path, trial);
      if (trial.used.length || trial.problems.length) {
        walk.used.push(...trial.used);
        walk.fields.push(...trial.fields);
        walk.problems.push(...trial.problems);
        return out;
      }
    }
  }
  if (Array.isArray(value)) {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const items = isPlainObject(schema.items) ? schema.items : {};
    return value.map((item, i) => substitute(item, prefix[i] ?? items, [...path, i], walk));
  }
  if (isPlainObject(value)) {
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    const extra = isPlainObject(schema.additionalProperties) ? schema.additionalProperties : {};
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = substitute(item, Object.hasOwn(properties, key) ? properties[key] : extra, [...path, key], walk);
    }
    return out;
  }
  return value;
}

/**
 * The file's base64 for an id, or the id itself with a problem recorded.
 * @param {string} id
 * @param {Path} path
 * @param {Walk} walk
 */
function fileFor(id, path, walk) {
  const where = pathText(path);
  const file = walk.lookup(id);
  if (!file) {
    const others = walk.available.map((a) => `${a.id} (${oneLine(a.name)})`);
    walk.problems.push(others.length
      ? `${where}: no attachment ${id} in this conversation; ask the user to attach the file again, or pass one of: ${others.join(", ")}`
      : `${where}: no attachment ${id} in this conversation (no files are attached to it); ask the user to attach the file`);
    return id;
  }
  if (typeof file.base64 !== "string") {
    walk.problems.push(`${where}: the bytes of attachment ${id}${file.name ? ` (${oneLine(file.name)})` : ""} ` +
      "are no longer kept in this conversation; ask the user to attach the file again");
    return id;
  }
  walk.used.push(id);
  walk.fields.push(where);
  return file.base64;
}

/**
 * A resolved schema takes a file itself, or through one of its anyOf/oneOf options.
 * @param {Schema} schema
 * @param {Schema} root
 * @returns {boolean}
 */
function takesFile(schema, root) {
  return isFileSchema(schema, root) || (alternatives(schema) ?? []).some((option) => takesFile(resolve(option, root).schema, root));
}

/**
 * Whether an array or object could be an instance of a (resolved) union option: its type, its
 * required properties and any `const` properties (a union's tags) agree.
 * @param {unknown[] | Record<string, unknown>} value
 * @param {Schema} option
 */
function fits(value, option) {
  const types = option.type === undefined ? [] : [option.type].flat();
  if (Array.isArray(value)) return types.length ? types.includes("array") : "items" in option || "prefixItems" in option;
  if (types.length ? !types.includes("object") : !("properties" in option || "additionalProperties" in option)) return false;
  const required = Array.isArray(option.required) ? option.required : [];
  if (!required.every((/** @type {string} */ key) => Object.hasOwn(value, key))) return false;
  const properties = isPlainObject(option.properties) ? option.properties : {};
  return Object.entries(properties).every(([key, property]) =>
    !Object.hasOwn(value, key) || !isPlainObject(property) || !("const" in property) || property.const === value[key]);
}

/**
 * @param {unknown} raw
 * @param {Schema} root
 * @param {Path} path
 * @param {string[]} refs  the $refs expanded on the way here, to stop at a recursive one
 * @param {Map<string, Path>} found
 */
function collectFileFields(raw, root, path, refs, found) {
  const { schema, refs: here } = resolve(raw, root);
  if (here.some((ref) => refs.includes(ref))) return;
  const inner = [...refs, ...here];
  if (isFileSchema(schema, root)) {
    found.set(JSON.stringify(path), path);
    return;
  }
  for (const option of alternatives(schema) ?? []) collectFileFields(option, root, path, inner, found);
  if (isPlainObject(schema.properties)) {
    for (const [key, property] of Object.entries(schema.properties)) collectFileFields(property, root, [...path, key], inner, found);
  }
  if (isPlainObject(schema.additionalProperties)) collectFileFields(schema.additionalProperties, root, [...path, "*"], inner, found);
  if (Array.isArray(schema.prefixItems)) {
    schema.prefixItems.forEach((/** @type {unknown} */ item, /** @type {number} */ i) =>
      collectFileFields(item, root, [...path, i], inner, found));
  }
  if (isPlainObject(schema.items)) collectFileFields(schema.items, root, [...path, "*"], inner, found);
}

/**
 * The schema with `$ref`s (to "#/...") and a one-member `allOf` folded in, and the $refs followed.
 * @param {unknown} raw
 * @param {Schema} root
 * @returns {{schema: Schema, refs: string[]}}
 */
function resolve(raw, root) {
  /** @type {Schema} */
  let schema = isPlainObject(raw) ? raw : {};
  /** @type {string[]} */
  const refs = [];
  for (;;) {
    if (typeof schema.$ref === "string") {
      const { $ref, ...siblings } = schema;
      const target = refs.includes($ref) ? undefined : refTarget(root, $ref);
      refs.push($ref);
      schema = { ...target, ...siblings };
    } else if (Array.isArray(schema.allOf) && schema.allOf.length === 1 && isPlainObject(schema.allOf[0])) {
      const { allOf, ...rest } = schema;
      schema = { ...allOf[0], ...rest };
    } else {
      return { schema, refs };
    }
  }
}

/**
 * @param {Schema} root
 * @param {string} ref
 * @returns {Schema | undefined}
 */
function refTarget(root, ref) {
  if (!ref.startsWith("#")) return undefined;
  /** @type {any} */
  let node = root;
  for (const part of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(part).replaceAll("~1", "/").replaceAll("~0", "~");
    node = isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
  }
  return isPlainObject(node) ? node : undefined;
}

/**
 * @param {Schema} schema
 * @returns {unknown[] | undefined}
 */
function alternatives(schema) {
  return Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined;
}

/** "items.2.data", as the form names an argument; "arguments" for the whole. */
function pathText(/** @type {Path} */ path) {
  return path.length ? path.join(".") : "arguments";
}

/** A file name on one line: a name may hold line breaks, which would break the note's list. */
function oneLine(/** @type {string} */ text) {
  return String(text ?? "").replace(/[\u0000-\u001f\u007f\u2028\u2029]+/gu, " ").trim();
}

/** 5242880 -> "5,242,880", the same in every locale. */
function grouped(/** @type {number} */ n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/gu, ",");
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
