// A tool's JSON Schema `inputSchema` as a tree of form fields, the form's starting values, and the
// form's raw values back to the tool's arguments, checked before they are sent. No DOM.
//
// formFields(schema) -> ObjectField (the root: name "", path [], required true)
//   Every Field has kind, name (property name), path (keys from the root; inside an array's `item`
//   the index is the placeholder "*"), label (the schema `title`, or the name made readable:
//   "has_header" -> "Has header"), help (the description, or ""), required (listed in the parent's
//   `required`), nullable (`anyOf` with `{type: "null"}` or `type: [x, "null"]`: may be left
//   empty), and `default` when the schema gives one. By kind:
//     text     multiline, minLength?, maxLength?, pattern?, format?
//     number   integer, minimum?, maximum?, exclusiveMinimum?, exclusiveMaximum?, multipleOf?,
//              step (multipleOf, else 1 for integers, else "any")
//     boolean
//     enum     options: [{value, label}] (an `enum`, a `const`, or an anyOf/oneOf of them)
//     array    item: Field, minItems?, maxItems?, uniqueItems?
//     object   fields: Field[]
//     file     mediaType? (a string with `contentEncoding: "base64"`: the tool takes a file's bytes;
//              see docs/python-tools.md, "Files")
//     json     schema: JSON text for what a form cannot express (oneOf of objects, untyped values,
//              tuples, `additionalProperties` maps, recursive `$ref`s)
//   `$ref` (to "#", "#/$defs/..." or "#/definitions/...") and one-member `allOf` are resolved.
//   Multi-line text: maxLength > 200 is multi-line; any other maxLength, a format or an enum is one
//   line. Without maxLength: a name whose last word is one-line (pattern, regex, path, name, url,
//   id, key, query, ...) is one line; a name whose last word names a body (code, text, csv, json,
//   source, content, body, data, script, base64, ...) is multi-line; else a description that opens by
//   naming a body ("The CSV text.", "The Python source to run.", "Text to search.") is multi-line.
//
// initialValues(root) -> the raw values the form starts with, keyed like the arguments: defaults
//   (numbers as strings, JSON fields as JSON text), and for required, non-nullable fields with no
//   default an empty value ("" for text, number and json, false, [], nested objects filled the
//   same way; enums stay unset). Optional and nullable fields with no default are left out.
//
// toArguments(root, values) -> {arguments, errors}. Raw values: strings (or numbers) for text and
//   numbers, booleans, option values for enums, arrays of raw items, objects of raw values, JSON
//   text, and for files {id?, name, size, base64} (the chosen file: its attachment id is sent when
//   it has one, for the host to put the bytes in its place, else its base64; a file over the size
//   cap is refused) or base64 text. A missing value (undefined or null) of an optional field is omitted, so the tool's
//   default applies. An emptied one ("", or [] for arrays) is omitted too, except where that would
//   silently bring back a non-empty default: then it is sent as null when the field is nullable,
//   else as "" or []. A required text without minLength may be "". errors
//   maps a path ("options.limit", "items.2") to a message saying what is expected; `arguments`
//   still holds whatever could be converted.
//
// fieldId(path) -> "arg-options-limit": a valid HTML id and CSS identifier, distinct per path.
// Keys outside [A-Za-z0-9_] are written as "-" and their UTF-8 bytes in hex.

import { sizeProblem } from "./attachments.js";

/**
 * @typedef {Record<string, any>} Schema
 * @typedef {(string | number)[]} Path
 * @typedef {object} FieldBase
 * @property {string} name
 * @property {Path} path
 * @property {string} label
 * @property {string} help
 * @property {boolean} required
 * @property {boolean} nullable
 * @property {unknown} [default]
 * @typedef {FieldBase & {kind: "text", multiline: boolean, minLength?: number, maxLength?: number,
 *           pattern?: string, format?: string}} TextField
 * @typedef {FieldBase & {kind: "number", integer: boolean, minimum?: number, maximum?: number,
 *           exclusiveMinimum?: number, exclusiveMaximum?: number, multipleOf?: number,
 *           step: number | "any"}} NumberField
 * @typedef {FieldBase & {kind: "boolean"}} BooleanField
 * @typedef {{value: unknown, label: string}} EnumOption
 * @typedef {FieldBase & {kind: "enum", options: EnumOption[]}} EnumField
 * @typedef {FieldBase & {kind: "array", item: Field, minItems?: number, maxItems?: number,
 *           uniqueItems?: boolean}} ArrayField
 * @typedef {FieldBase & {kind: "object", fields: Field[]}} ObjectField
 * @typedef {FieldBase & {kind: "json", schema: Schema}} JsonField
 * @typedef {FieldBase & {kind: "file", mediaType?: string}} FileField
 * @typedef {{name: string, size: number, base64: string, mediaType?: string, id?: string}} ChosenFile
 * @typedef {TextField | NumberField | BooleanField | EnumField | ArrayField | ObjectField | JsonField
 *           | FileField} Field
 * @typedef {{arguments: Record<string, unknown>, errors: Record<string, string>}} Converted
 */

const BODY_WORDS = new Set(["code", "text", "csv", "json", "source", "content", "contents", "body",
  "data", "script", "markdown", "html", "xml", "yaml", "toml", "sql", "document", "template",
  "program", "prompt", "base64"]);
const ONE_LINE_WORDS = new Set(["pattern", "regex", "regexp", "path", "name", "url", "uri", "id",
  "key", "query", "title", "label", "email", "selector", "separator", "delimiter", "format"]);
// An article, at most one qualifier, a body noun, then punctuation or a preposition: "The CSV text.",
// "Text to search.", but not "The text pattern to find."
const BODY_DESCRIPTION = new RegExp("^(?:the |an? )?(?:[\\w-]+ )?(?:text|source|code|script|document|program)"
  + "(?=[.,;:(]|\\s+(?:to|for|of|in|that|which|as)\\b|$)", "i");
const ACRONYMS = new Set(["id", "url", "uri", "csv", "json", "html", "xml", "api", "sql", "utf8"]);

/**
 * The form fields for an object schema.
 * @param {Schema | undefined | null} schema
 * @returns {ObjectField}
 */
export function formFields(schema) {
  const root = schema && typeof schema === "object" ? schema : {};
  const { schema: resolved } = normalize(root, root, []);
  return {
    kind: "object", name: "", path: [], label: typeof resolved.title === "string" ? resolved.title : "",
    help: describe(resolved), required: true, nullable: false,
    fields: objectFields(resolved, [], root, []),
  };
}

/**
 * @param {Schema} schema
 * @param {Path} path
 * @param {Schema} root
 * @param {string[]} seen  $refs being expanded, to stop at a recursive one
 * @returns {Field[]}
 */
function objectFields(schema, path, root, seen) {
  const properties = schema.properties && typeof schema.properties === "object" ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.entries(properties).map(([name, property]) =>
    buildField(property, name, [...path, name], required.includes(name), root, seen));
}

/**
 * @param {unknown} raw
 * @param {string} name
 * @param {Path} path
 * @param {boolean} required
 * @param {Schema} root
 * @param {string[]} seen
 * @returns {Field}
 */
function buildField(raw, name, path, required, root, seen) {
  const { schema, nullable, json, seen: inner } = normalize(raw, root, seen);
  /** @type {FieldBase} */
  const base = { name, path, label: labelOf(schema.title, name), help: describe(schema), required, nullable };
  if ("default" in schema) base.default = schema.default;
  const type = schema.type;
  if (json) return { ...base, kind: "json", schema };
  if (Array.isArray(schema.enum)) return { ...base, kind: "enum", options: enumOptions(schema) };
  if (type === "string" && schema.contentEncoding === "base64") {
    return { ...base, kind: "file", ...(typeof schema.contentMediaType === "string" ? { mediaType: schema.contentMediaType } : {}) };
  }
  if (type === "string") {
    const constraints = pick(schema, ["minLength", "maxLength", "pattern", "format"]);
    return { ...base, kind: "text", multiline: isMultiline(schema, name), ...constraints };
  }
  if (type === "integer" || type === "number") {
    const bounds = numberBounds(schema);
    const step = bounds.multipleOf ?? (type === "integer" ? 1 : "any");
    return { ...base, kind: "number", integer: type === "integer", ...bounds, step };
  }
  if (type === "boolean") return { ...base, kind: "boolean" };
  const tuple = Array.isArray(schema.items) || Array.isArray(schema.prefixItems);
  if ((type === "array" || (type === undefined && "items" in schema)) && !tuple) {
    const items = schema.items && typeof schema.items === "object" ? schema.items : {};
    const item = buildField(items, name, [...path, "*"], true, root, inner);
    if (typeof items.title !== "string") item.label = base.label;
    return { ...base, kind: "array", item, ...pick(schema, ["minItems", "maxItems", "uniqueItems"]) };
  }
  if ((type === "object" || type === undefined) && isPlainObject(schema.properties)) {
    return { ...base, kind: "object", fields: objectFields(schema, path, root, inner) };
  }
  if (type === "object" && schema.additionalProperties === false) return { ...base, kind: "object", fields: [] };
  return { ...base, kind: "json", schema };
}

/**
 * One schema node with $ref, one-member allOf and null alternatives folded away.
 * @param {unknown} raw
 * @param {Schema} root
 * @param {string[]} seen
 * @returns {{schema: Schema, nullable: boolean, json: boolean, seen: string[]}}
 */
function normalize(raw, root, seen) {
  if (raw === true || raw === undefined || raw === null) return { schema: {}, nullable: false, json: true, seen };
  if (typeof raw !== "object" || Array.isArray(raw)) return { schema: {}, nullable: false, json: true, seen };
  /** @type {Schema} */
  let schema = raw;
  while (typeof schema.$ref === "string") {
    const { $ref, ...siblings } = schema;
    const target = seen.includes($ref) ? undefined : lookup(root, $ref);
    if (!target) return { schema: siblings, nullable: false, json: true, seen };
    const { title: _title, ...rest } = target; // the property's name says more than the type's
    seen = [...seen, $ref];
    schema = { ...rest, ...siblings };
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    const { allOf, ...rest } = schema;
    const inner = normalize(allOf[0], root, seen);
    return { ...inner, schema: { ...inner.schema, ...rest } };
  }
  let nullable = false;
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((/** @type {unknown} */ t) => t !== "null");
    nullable = types.length < schema.type.length;
    const numeric = types.length === 2 && types.includes("integer") && types.includes("number");
    schema = { ...schema, type: numeric ? "number" : types.length === 1 ? types[0] : types };
    if (Array.isArray(schema.type)) return { schema, nullable, json: true, seen };
  }
  if ("const" in schema && !("enum" in schema)) schema = { ...schema, enum: [schema.const] };
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) {
    nullable = true;
    schema = { ...schema, enum: schema.enum.filter((/** @type {unknown} */ v) => v !== null) };
  }
  const key = Array.isArray(schema.anyOf) ? "anyOf" : Array.isArray(schema.oneOf) ? "oneOf" : null;
  if (!key) return { schema, nullable, json: schema.type === "null" || schema.allOf !== undefined, seen };
  const { [key]: alternatives, ...outer } = schema;
  const members = alternatives.map((/** @type {unknown} */ m) => normalize(m, root, seen));
  const others = members.filter((/** @type {any} */ m) => m.schema.type !== "null");
  nullable ||= others.length < members.length || others.some((/** @type {any} */ m) => m.nullable);
  if (others.length === 1) {
    const only = others[0];
    return { schema: { ...only.schema, ...outer }, nullable, json: only.json, seen: only.seen };
  }
  /** @type {Schema[]} */
  const schemas = others.map((/** @type {any} */ m) => m.schema);
  const plain = !others.some((/** @type {any} */ m) => m.json);
  if (plain && schemas.length && schemas.every((s) => Array.isArray(s.enum))) {
    const titled = schemas.every((s) => s.enum.length === 1 && typeof s.title === "string");
    /** @type {Schema} */
    const merged = { ...outer, enum: schemas.flatMap((s) => s.enum) };
    if (titled) merged.enumTitles = schemas.map((s) => s.title);
    return { schema: merged, nullable, json: false, seen };
  }
  const types = new Set(schemas.map((s) => s.type));
  if (plain && schemas.length && types.size === 1 && types.has("string")) {
    const formats = new Set(schemas.map((s) => s.format));
    const format = formats.size === 1 ? { format: schemas[0].format } : {}; // else no one format holds
    return { schema: { ...format, ...outer, type: "string" }, nullable, json: false, seen };
  }
  if (plain && schemas.length && [...types].every((t) => t === "integer" || t === "number")) {
    return { schema: { ...outer, type: types.has("number") ? "number" : "integer" }, nullable, json: false, seen };
  }
  return { schema, nullable, json: true, seen };
}

/**
 * @param {Schema} root
 * @param {string} ref
 * @returns {Schema | undefined}
 */
function lookup(root, ref) {
  if (!ref.startsWith("#")) return undefined;
  /** @type {any} */
  let node = root;
  for (const part of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(part).replaceAll("~1", "/").replaceAll("~0", "~");
    node = node && typeof node === "object" ? node[key] : undefined;
  }
  return node && typeof node === "object" && !Array.isArray(node) ? node : undefined;
}

/**
 * @param {Schema} schema
 * @param {string[]} keys
 */
function pick(schema, keys) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const key of keys) if (schema[key] !== undefined) out[key] = schema[key];
  return out;
}

/**
 * @param {Schema} schema
 * @returns {{minimum?: number, maximum?: number, exclusiveMinimum?: number, exclusiveMaximum?: number,
 *            multipleOf?: number}}
 */
function numberBounds(schema) {
  const bounds = pick(schema, ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]);
  for (const [flag, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]]) {
    if (typeof bounds[flag] !== "boolean") continue; // draft 4 spelled exclusivity as a flag
    if (bounds[flag] && bounds[bound] !== undefined) [bounds[flag], bounds[bound]] = [bounds[bound], undefined];
    else delete bounds[flag];
    if (bounds[bound] === undefined) delete bounds[bound];
  }
  return bounds;
}

/** @param {Schema} schema */
function describe(schema) {
  return typeof schema.description === "string" ? schema.description : "";
}

/** @param {string} name */
function words(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[\s_.-]+/).filter(Boolean);
}

/**
 * @param {unknown} title
 * @param {string} name
 */
function labelOf(title, name) {
  // A PascalCase title is a type's name (a Python Enum's class, say), not a human title.
  if (typeof title === "string" && !/^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$/.test(title)) return title;
  const parts = words(typeof title === "string" ? title : name)
    .map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word));
  const text = parts.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * @param {Schema} schema
 * @param {string} name
 */
function isMultiline(schema, name) {
  if (typeof schema.maxLength === "number") return schema.maxLength > 200;
  if (schema.format !== undefined) return false;
  const last = words(name).at(-1) ?? "";
  if (ONE_LINE_WORDS.has(last)) return false;
  return BODY_WORDS.has(last) || BODY_DESCRIPTION.test(describe(schema));
}

/**
 * @param {Schema} schema
 * @returns {EnumOption[]}
 */
function enumOptions(schema) {
  const titles = Array.isArray(schema.enumTitles) ? schema.enumTitles : [];
  return schema.enum.map((/** @type {unknown} */ value, /** @type {number} */ i) =>
    ({ value, label: titles[i] ?? (typeof value === "string" ? readableString(value) : String(value)) }));
}

/** @type {Record<string, string>} */
const CHARACTER_NAMES = { "": "(empty)", " ": "space", "\t": "tab", "\n": "line break", "\r": "carriage return" };

/** A string shown as itself, or by name when it is blank, or with its control characters escaped.
 * @param {string} value */
function readableString(value) {
  if (value in CHARACTER_NAMES) return CHARACTER_NAMES[value];
  return /[\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}

/** @param {EnumOption} option */
function quoteOption(option) {
  const { value, label } = option;
  if (typeof value !== "string") return String(value);
  if (label !== readableString(value) || value in CHARACTER_NAMES) return label;
  return `'${label}'`;
}

// ---------------------------------------------------------------------------------------------
// Starting values and conversion

const OMIT = Symbol("omit");

/**
 * The form's starting values.
 * @param {ObjectField | Field[]} fields
 * @returns {Record<string, any>}
 */
export function initialValues(fields) {
  const list = Array.isArray(fields) ? fields : fields.fields;
  /** @type {Record<string, any>} */
  const values = {};
  for (const field of list) {
    const value = initialValue(field);
    if (value !== OMIT) values[field.name] = value;
  }
  return values;
}

/**
 * The form's values for these arguments (a demo's prefilled ones); fields they leave out start as
 * `initialValues` starts them.
 * @param {ObjectField | Field[]} fields
 * @param {Record<string, unknown>} args
 * @returns {Record<string, any>}
 */
export function valuesFromArguments(fields, args) {
  const list = Array.isArray(fields) ? fields : fields.fields;
  return /** @type {Record<string, any>} */ (toRaw(/** @type {Field} */ ({ kind: "object", fields: list }), args));
}

/** @param {Field} field */
function initialValue(field) {
  if (field.default !== undefined && field.default !== null) return toRaw(field, field.default);
  if (!field.required || field.nullable) return OMIT;
  switch (field.kind) {
    case "boolean": return false;
    case "array": return [];
    case "object": return initialValues(field.fields);
    case "enum": case "file": return OMIT;
    default: return "";
  }
}

/**
 * An argument value as the form holds it.
 * @param {Field} field
 * @param {unknown} value
 * @returns {unknown}
 */
function toRaw(field, value) {
  switch (field.kind) {
    case "text": case "number": return typeof value === "string" ? value : String(value);
    case "boolean": return Boolean(value);
    case "enum": case "file": return value;
    case "json": return JSON.stringify(value, null, 2);
    case "array": return Array.isArray(value) ? value.map((item) => toRaw(field.item, item)) : [];
    case "object": {
      const given = /** @type {Record<string, unknown>} */ (isPlainObject(value) ? value : {});
      /** @type {Record<string, unknown>} */
      const out = {};
      for (const child of field.fields) {
        const raw = child.name in given ? toRaw(child, given[child.name]) : initialValue(child);
        if (raw !== OMIT) out[child.name] = raw;
      }
      return out;
    }
  }
}

/**
 * The tool's arguments from the form's raw values, and what is wrong with them.
 * @param {ObjectField | Field[]} fields
 * @param {Record<string, unknown> | undefined | null} values
 * @returns {Converted}
 */
export function toArguments(fields, values) {
  const list = Array.isArray(fields) ? fields : fields.fields;
  /** @type {Record<string, string>} */
  const errors = {};
  const args = convertObject(list, values, [], errors);
  return { arguments: args, errors };
}

/**
 * @param {Field[]} fields
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertObject(fields, raw, path, errors) {
  const given = /** @type {Record<string, unknown>} */ (isPlainObject(raw) ? raw : {});
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const field of fields) {
    const value = convert(field, given[field.name], [...path, field.name], errors);
    if (value !== OMIT) out[field.name] = value;
  }
  return out;
}

/**
 * @param {Record<string, string>} errors
 * @param {Path} path
 * @param {string} message
 */
function fail(errors, path, message) {
  const key = path.join(".");
  errors[key] ??= message; // the first problem found is the one to fix first
  return OMIT;
}

/**
 * @param {Field} field
 * @param {unknown} raw
 * @returns {boolean}
 */
function isEmpty(field, raw) {
  if (raw === undefined || raw === null) return true;
  switch (field.kind) {
    case "text": return raw === "";
    case "number": case "json": return typeof raw === "string" && raw.trim() === "";
    case "enum": return raw === "" && !field.options.some((option) => option.value === "");
    case "array": return Array.isArray(raw) && raw.length === 0;
    case "object": return field.fields.every((child) => isEmpty(child, /** @type {any} */ (raw)[child.name]));
    default: return false;
  }
}

/**
 * @param {Field} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 * @returns {unknown}
 */
function convert(field, raw, path, errors) {
  if (isEmpty(field, raw)) return convertEmpty(field, raw, path, errors);
  switch (field.kind) {
    case "text": return convertText(field, raw, path, errors);
    case "number": return convertNumber(field, raw, path, errors);
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      return fail(errors, path, "Must be true or false.");
    case "enum": {
      const option = field.options.find((o) => o.value === raw)
        ?? (typeof raw === "string" ? field.options.find((o) => String(o.value) === raw) : undefined);
      if (option) return option.value;
      return fail(errors, path, `Must be one of: ${field.options.map(quoteOption).join(", ")}.`);
    }
    case "array": return convertArray(field, raw, path, errors);
    case "object":
      if (!isPlainObject(raw)) return fail(errors, path, "Must be an object.");
      return convertObject(field.fields, raw, path, errors);
    case "json": return convertJson(field, raw, path, errors);
    case "file": return convertFile(raw, path, errors);
  }
}

/**
 * A chosen file becomes its base64 text; one over the size cap is refused before sending.
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertFile(raw, path, errors) {
  if (typeof raw === "string") return raw;
  const file = /** @type {Partial<ChosenFile>} */ (isPlainObject(raw) ? raw : {});
  const problem = sizeProblem(String(file.name ?? "The file"), Number(file.size ?? 0));
  if (problem) return fail(errors, path, problem);
  if (typeof file.base64 !== "string") return fail(errors, path, "Choose a file.");
  return typeof file.id === "string" ? file.id : file.base64;
}

/**
 * What an empty value becomes: omitted, null, an empty string or list, or a "Required." error.
 * @param {Field} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertEmpty(field, raw, path, errors) {
  const hasDefault = field.default !== undefined && field.default !== null;
  const missing = raw === undefined || raw === null; // never set: the tool's default applies
  if (field.nullable) return field.required || (hasDefault && !missing) ? null : OMIT;
  if (!field.required) {
    if (missing) return OMIT;
    if (!hasDefault || isEmpty(field, toRaw(field, field.default))) return OMIT;
    if (field.kind === "text" && !(field.minLength ?? 0)) return convertText(field, "", path, errors);
    if (field.kind === "array" && !(field.minItems ?? 0)) return [];
    return OMIT;
  }
  switch (field.kind) {
    case "text":
      return (field.minLength ?? 0) > 0 ? fail(errors, path, "Required.") : convertText(field, "", path, errors);
    case "boolean": return false;
    case "array": return convertArray(field, [], path, errors);
    case "object": return convertObject(field.fields, raw, path, errors);
    default: return fail(errors, path, "Required.");
  }
}

/**
 * @param {TextField} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertText(field, raw, path, errors) {
  if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") {
    return fail(errors, path, "Must be text.");
  }
  const text = String(raw);
  const length = [...text].length; // JSON Schema counts characters, not UTF-16 units
  const { minLength, maxLength } = field;
  if (minLength !== undefined && length < minLength) fail(errors, path, `At least ${count(minLength, "character")}.`);
  if (maxLength !== undefined && length > maxLength) fail(errors, path, `At most ${count(maxLength, "character")}.`);
  const pattern = field.pattern === undefined ? null : compile(field.pattern);
  if (pattern && !pattern.test(text)) fail(errors, path, `Does not match the pattern ${field.pattern}.`);
  return text;
}

/** @param {string} source */
function compile(source) {
  for (const flags of ["u", ""]) {
    try {
      return new RegExp(source, flags);
    } catch {
      // a pattern in another dialect (Python's, say) is left for the tool to check
    }
  }
  return null;
}

/**
 * @param {number} n
 * @param {string} noun
 */
function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * @param {NumberField} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertNumber(field, raw, path, errors) {
  const text = typeof raw === "string" ? raw.trim() : "";
  const value = typeof raw === "number" ? raw : NUMBER_TEXT.test(text) ? Number(text) : NaN;
  const { minimum, maximum, exclusiveMinimum: above, exclusiveMaximum: below, multipleOf } = field;
  const typed = Number.isFinite(value) && (!field.integer || Number.isSafeInteger(value));
  if (!typed) return fail(errors, path, numberExpectation(field));
  const inRange = (minimum === undefined || value >= minimum) && (maximum === undefined || value <= maximum)
    && (above === undefined || value > above) && (below === undefined || value < below);
  if (!inRange) fail(errors, path, numberExpectation(field));
  else if (multipleOf && Math.abs(value / multipleOf - Math.round(value / multipleOf)) > 1e-9) {
    fail(errors, path, `Must be a multiple of ${multipleOf}.`);
  }
  return value;
}

/** @param {NumberField} field */
function numberExpectation(field) {
  const noun = field.integer ? "a whole number" : "a number";
  const { minimum, maximum, exclusiveMinimum: above, exclusiveMaximum: below } = field;
  if (minimum !== undefined && maximum !== undefined) return `Must be ${noun} between ${minimum} and ${maximum}.`;
  const parts = [];
  if (minimum !== undefined) parts.push(`of at least ${minimum}`);
  else if (above !== undefined) parts.push(`greater than ${above}`);
  if (maximum !== undefined) parts.push(parts.length ? `at most ${maximum}` : `of at most ${maximum}`);
  else if (below !== undefined) parts.push(`less than ${below}`);
  return `Must be ${[noun, parts.join(" and ")].filter(Boolean).join(" ")}.`;
}

/**
 * @param {ArrayField} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertArray(field, raw, path, errors) {
  if (!Array.isArray(raw)) return fail(errors, path, "Must be a list.");
  const items = [];
  for (const [index, item] of raw.entries()) {
    const value = convert(field.item, item, [...path, index], errors);
    if (value !== OMIT) items.push(value);
  }
  const { minItems, maxItems } = field;
  if (minItems !== undefined && raw.length < minItems) fail(errors, path, `At least ${count(minItems, "item")}.`);
  if (maxItems !== undefined && raw.length > maxItems) fail(errors, path, `At most ${count(maxItems, "item")}.`);
  if (field.uniqueItems && new Set(items.map((item) => JSON.stringify(item))).size < items.length) {
    fail(errors, path, "Each item must be different.");
  }
  return items;
}

/** @type {Record<string, string>} */
const JSON_TYPE_NAMES = { object: "an object", array: "a list", string: "a string", integer: "a whole number",
  number: "a number", boolean: "true or false", null: "null" };

/**
 * @param {JsonField} field
 * @param {unknown} raw
 * @param {Path} path
 * @param {Record<string, string>} errors
 */
function convertJson(field, raw, path, errors) {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail(errors, path, `Not valid JSON: ${message}${/[.!?]$/.test(message) ? "" : "."}`);
    }
  }
  const expected = typeof field.schema.type === "string" ? [field.schema.type]
    : Array.isArray(field.schema.type) ? field.schema.type : [];
  if (field.nullable && expected.length) expected.push("null");
  if (expected.length && !expected.some((/** @type {string} */ type) => hasJsonType(value, type))) {
    fail(errors, path, `Must be ${expected.map((/** @type {string} */ t) => JSON_TYPE_NAMES[t] ?? t).join(" or ")}.`);
  }
  return value;
}

/**
 * @param {unknown} value
 * @param {string} type
 */
function hasJsonType(value, type) {
  switch (type) {
    case "object": return isPlainObject(value);
    case "array": return Array.isArray(value);
    case "integer": return Number.isInteger(value);
    case "null": return value === null;
    default: return typeof value === type;
  }
}

/** @param {unknown} value */
function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A stable id for a field's control: "arg-options-limit".
 * @param {Path} path
 * @returns {string}
 */
export function fieldId(path) {
  const encoder = new TextEncoder();
  const parts = path.map((key) => {
    const text = String(key);
    if (/^[A-Za-z0-9_]+$/.test(text)) return text;
    // "-" then hex cannot be mistaken for a plain key, which has no "-"
    return "-" + [...encoder.encode(text)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  });
  return ["arg", ...parts].join("-");
}
