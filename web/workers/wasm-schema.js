// A JSON Schema checker for the subset tool schemas use (the twin of cloche/_schema_subset.py):
// type, properties, required, additionalProperties, items, enum, const, minimum, maximum,
// minLength, maxLength, minItems, maxItems, and contentEncoding "base64" (a file's bytes: the text
// must be standard, padded base64). Other keywords are ignored. DOM-free.

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/; // and a multiple of 4 characters long
export const BASE64_RULE = "expected the bytes base64-encoded (A-Z, a-z, 0-9, + and /, padded "
  + "with = to a multiple of 4 characters, no spaces or line breaks)";

/** Standard base64 with padding, as Python's `base64.b64decode(text, validate=True)` accepts it.
 * @param {string} text */
export const isBase64 = (text) => text.length % 4 === 0 && BASE64.test(text);

/** @param {unknown} value */
export function jsonTypeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** @param {string} path @param {string} name */
const join = (path, name) => (path ? `${path}.${name}` : name);

/** Python's repr of a list of strings, so both runtimes word a problem the same way.
 * @param {unknown[]} values */
const listText = (values) => `[${values.map((v) => JSON.stringify(v).replaceAll('"', "'")).join(", ")}]`;

/**
 * The problems of `value` against `schema`, each naming its place (`text`, `items[2]`).
 * @param {any} schema @param {any} value @param {string} [path]
 * @returns {string[]}
 */
export function checkSchema(schema, value, path = "") {
  if (schema === true || schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return [];
  }
  const where = path || "value";
  const actual = jsonTypeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const matches = types.some((/** @type {string} */ t) =>
      t === actual || (t === "number" && actual === "integer"));
    if (!matches) return [`${where} must be ${types.join(" or ")}, not ${actual}`];
  }
  /** @type {string[]} */
  const problems = [];
  if (Array.isArray(schema.enum) && !schema.enum.some((/** @type {unknown} */ e) => sameJSON(e, value))) {
    problems.push(`${where} must be one of ${listText(schema.enum)}`);
  }
  if ("const" in schema && !sameJSON(schema.const, value)) {
    problems.push(`${where} must be ${JSON.stringify(schema.const)}`);
  }
  if (actual === "integer" || actual === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      problems.push(`${where} must be at least ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      problems.push(`${where} must be at most ${schema.maximum}`);
    }
  }
  if (actual === "string") {
    // Code points, as JSON Schema counts them; counted only when there is a bound (10 MB take 70 ms).
    const bounded = typeof schema.minLength === "number" || typeof schema.maxLength === "number";
    const length = bounded ? [...value].length : 0;
    if (typeof schema.minLength === "number" && length < schema.minLength) {
      problems.push(`${where} must be at least ${schema.minLength} characters long`);
    }
    if (typeof schema.maxLength === "number" && length > schema.maxLength) {
      problems.push(`${where} must be at most ${schema.maxLength} characters long`);
    }
    if (schema.contentEncoding === "base64" && !isBase64(value)) {
      problems.push(`${where} is not valid base64: ${BASE64_RULE}`);
    }
  }
  if (actual === "array") {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      problems.push(`${where} must have at least ${schema.minItems} items`);
    }
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
      problems.push(`${where} must have at most ${schema.maxItems} items`);
    }
    value.forEach((/** @type {unknown} */ item, /** @type {number} */ index) => {
      problems.push(...checkSchema(schema.items, item, `${path}[${index}]`));
    });
  }
  if (actual === "object") {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name)) problems.push(`${join(path, name)} is required`);
    }
    const extra = schema.additionalProperties ?? true;
    for (const [name, item] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) {
        problems.push(...checkSchema(properties[name], item, join(path, name)));
      } else if (extra === false) {
        problems.push(`${join(path, name)} is not an accepted property`);
      } else {
        problems.push(...checkSchema(extra, item, join(path, name)));
      }
    }
  }
  return problems;
}

/** @param {unknown} a @param {unknown} b */
function sameJSON(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
