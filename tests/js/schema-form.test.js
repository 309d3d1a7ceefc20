// Tool input schemas to form fields, starting values and checked arguments (web/app/schema-form.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formFields, initialValues, toArguments, fieldId } from "../../web/app/schema-form.js";

// Copied from dist/registry.json (built from the tools' own schemas).
const CSV_SUMMARY = {
  type: "object",
  properties: {
    text: { type: "string", description: "The CSV text." },
    delimiter: {
      anyOf: [{ type: "string", enum: [",", ";", "\t", "|"] }, { type: "null" }],
      description: "The cell separator; detected from the text when left out.", default: null,
    },
    has_header: { type: "boolean", description: "Whether the first row holds the column names.", default: true },
    top: {
      type: "integer", description: "How many of the most frequent values to list per column.",
      minimum: 0, maximum: 50, default: 5,
    },
  },
  required: ["text"], additionalProperties: false,
};
const PRIMES_COUNT = {
  type: "object",
  properties: { limit: { type: "integer", description: "Count primes <= limit.", minimum: 0, maximum: 10000000000 } },
  required: ["limit"], additionalProperties: false,
};
const REGEX_SEARCH = {
  type: "object",
  properties: {
    pattern: { type: "string", description: "A Python `re` regular expression.", minLength: 1 },
    text: { type: "string", description: "The text to search." },
    flags: {
      anyOf: [
        { type: "array", items: { type: "string", enum: ["ignorecase", "multiline", "dotall", "verbose", "ascii"] } },
        { type: "null" },
      ],
      description: "Matching options: ignorecase, multiline (^ and $ at every line), dotall (. matches line breaks), verbose, ascii.",
      default: null,
    },
    max_matches: {
      type: "integer", description: "List at most this many matches (all are still counted).",
      minimum: 1, maximum: 10000, default: 100,
    },
  },
  required: ["pattern", "text"], additionalProperties: false,
};
const PYTHON_RUN = {
  type: "object",
  properties: {
    code: { type: "string", description: "The Python source to run.", minLength: 1 },
    session: {
      anyOf: [{ type: "string", minLength: 1, maxLength: 100 }, { type: "null" }],
      description: "Name of a namespace kept between calls (e.g. one per conversation).", default: null,
    },
    reset: { type: "boolean", description: "Start the session over from an empty namespace before running.", default: false },
  },
  required: ["code"], additionalProperties: false,
};

/**
 * @param {import("../../web/app/schema-form.js").ObjectField} root
 * @param {string} name
 * @returns {any}
 */
function field(root, name) {
  const found = root.fields.find((f) => f.name === name);
  assert.ok(found, `no field ${name}`);
  return found;
}

/**
 * @param {any} schema
 * @param {any} values
 */
function convert(schema, values) {
  return toArguments(formFields(schema), values);
}

test("csv.summary becomes a multi-line text, an optional enum, a checkbox and a bounded number", () => {
  const root = formFields(CSV_SUMMARY);
  assert.deepEqual(root.fields.map((f) => [f.name, f.kind, f.label, f.required, f.nullable]), [
    ["text", "text", "Text", true, false],
    ["delimiter", "enum", "Delimiter", false, true],
    ["has_header", "boolean", "Has header", false, false],
    ["top", "number", "Top", false, false],
  ]);
  assert.equal(field(root, "text").multiline, true);
  assert.equal(field(root, "text").help, "The CSV text.");
  assert.deepEqual(field(root, "delimiter").options, [
    { value: ",", label: "," }, { value: ";", label: ";" }, { value: "\t", label: "tab" }, { value: "|", label: "|" },
  ]);
  assert.equal(field(root, "delimiter").default, null);
  assert.equal(field(root, "has_header").default, true);
  const top = field(root, "top");
  assert.deepEqual([top.integer, top.minimum, top.maximum, top.step, top.default, top.path], [true, 0, 50, 1, 5, ["top"]]);
});

test("csv.summary: the starting values convert back to the defaults", () => {
  const root = formFields(CSV_SUMMARY);
  const values = initialValues(root);
  assert.deepEqual(values, { text: "", has_header: true, top: "5" });
  assert.deepEqual(toArguments(root, values), { arguments: { text: "", has_header: true, top: 5 }, errors: {} });
});

test("csv.summary: an unknown delimiter lists the choices, control characters by name", () => {
  const { arguments: args, errors } = convert(CSV_SUMMARY, { text: "a,b", delimiter: ":", top: "51" });
  assert.deepEqual(errors, {
    delimiter: "Must be one of: ',', ';', tab, '|'.",
    top: "Must be a whole number between 0 and 50.",
  });
  assert.deepEqual(args, { text: "a,b", top: 51 }, "what could be converted is still there");
  assert.deepEqual(convert(CSV_SUMMARY, { text: "a\tb", delimiter: "\t" }).arguments, { text: "a\tb", delimiter: "\t" });
});

test("primes.count parses whole numbers and explains the range when it cannot", () => {
  const expected = "Must be a whole number between 0 and 10000000000.";
  for (const raw of ["abc", "2.5", "-1", "10000000001", "0x10", "1,000", "Infinity"]) {
    assert.deepEqual(convert(PRIMES_COUNT, { limit: raw }).errors, { limit: expected }, raw);
  }
  assert.deepEqual(convert(PRIMES_COUNT, { limit: " 42 " }), { arguments: { limit: 42 }, errors: {} });
  assert.deepEqual(convert(PRIMES_COUNT, { limit: "1e3" }).arguments, { limit: 1000 });
  assert.deepEqual(convert(PRIMES_COUNT, { limit: "10000000000" }).arguments, { limit: 10000000000 });
  assert.deepEqual(convert(PRIMES_COUNT, { limit: "0" }), { arguments: { limit: 0 }, errors: {} }, "bounds are inclusive");
  assert.deepEqual(convert(PRIMES_COUNT, { limit: 7 }).arguments, { limit: 7 }, "a number is taken as is");
  assert.deepEqual(convert(PRIMES_COUNT, { limit: "" }), { arguments: {}, errors: { limit: "Required." } });
  assert.deepEqual(convert(PRIMES_COUNT, {}).errors, { limit: "Required." });
});

test("regex.search: flags are an optional list of choices; an empty one is left out", () => {
  const root = formFields(REGEX_SEARCH);
  const flags = field(root, "flags");
  assert.equal(flags.kind, "array");
  assert.equal(flags.nullable, true);
  assert.equal(flags.item.kind, "enum");
  assert.deepEqual(flags.item.path, ["flags", "*"]);
  assert.equal(field(root, "pattern").multiline, false);
  assert.equal(field(root, "text").multiline, true);
  assert.deepEqual(initialValues(root), { pattern: "", text: "", max_matches: "100" });
  assert.deepEqual(toArguments(root, { pattern: "a+", text: "aa", flags: [], max_matches: "" }),
    { arguments: { pattern: "a+", text: "aa" }, errors: {} });
  const bad = toArguments(root, { pattern: "", text: "x", flags: ["ignorecase", "bogus"] });
  assert.deepEqual(bad.errors, {
    pattern: "Required.",
    "flags.1": "Must be one of: 'ignorecase', 'multiline', 'dotall', 'verbose', 'ascii'.",
  });
  assert.deepEqual(bad.arguments, { text: "x", flags: ["ignorecase"] });
});

test("python.run: code is multi-line, the optional session one line and at most 100 characters", () => {
  const root = formFields(PYTHON_RUN);
  assert.equal(field(root, "code").multiline, true);
  const session = field(root, "session");
  assert.deepEqual([session.kind, session.multiline, session.nullable, session.minLength, session.maxLength],
    ["text", false, true, 1, 100]);
  assert.deepEqual(initialValues(root), { code: "", reset: false });
  assert.deepEqual(toArguments(root, { code: "print(1)", session: "", reset: false }),
    { arguments: { code: "print(1)", reset: false }, errors: {} });
  assert.deepEqual(toArguments(root, { code: "", session: "x".repeat(101) }).errors,
    { code: "Required.", session: "At most 100 characters." });
});

test("text length, pattern and characters counted as code points", () => {
  const schema = {
    type: "object", required: ["word"],
    properties: { word: { type: "string", minLength: 3, maxLength: 4, pattern: "^[a-z]+$" } },
  };
  assert.deepEqual(convert(schema, { word: "ab" }).errors, { word: "At least 3 characters." });
  assert.deepEqual(convert(schema, { word: "abcde" }).errors, { word: "At most 4 characters." });
  assert.deepEqual(convert(schema, { word: "AbC" }).errors, { word: "Does not match the pattern ^[a-z]+$." });
  assert.deepEqual(convert(schema, { word: "abc" }), { arguments: { word: "abc" }, errors: {} });
  assert.deepEqual(convert(schema, { word: "A" }).errors, { word: "At least 3 characters." }, "the first problem is named");
  const emoji = { type: "object", properties: { s: { type: "string", maxLength: 1, minLength: 1 } } };
  assert.deepEqual(convert(emoji, { s: "😀" }).errors, {});
  const one = { type: "object", properties: { s: { type: "string", minLength: 1 } }, required: ["s"] };
  assert.deepEqual(convert(one, { s: "" }).errors, { s: "Required." });
  const two = { type: "object", properties: { s: { type: "string", minLength: 2 } } };
  assert.deepEqual(convert(two, { s: "a" }).errors, { s: "At least 2 characters." });
});

test("number messages say which bounds apply; multipleOf sets the step", () => {
  /** @param {any} prop */
  const check = (prop, raw) => convert({ type: "object", properties: { n: prop } }, { n: raw });
  assert.equal(check({ type: "number", exclusiveMinimum: 0, maximum: 1 }, "0").errors.n,
    "Must be a number greater than 0 and at most 1.");
  assert.equal(check({ type: "integer", minimum: 1 }, "0").errors.n, "Must be a whole number of at least 1.");
  assert.equal(check({ type: "integer", maximum: 9 }, "x").errors.n, "Must be a whole number of at most 9.");
  assert.equal(check({ type: "number", exclusiveMaximum: 1 }, "1").errors.n, "Must be a number less than 1.");
  assert.equal(check({ type: "number" }, "one").errors.n, "Must be a number.");
  assert.equal(check({ type: "integer", minimum: 0, exclusiveMinimum: true }, "0").errors.n,
    "Must be a whole number greater than 0.", "draft 4's boolean exclusiveMinimum");
  assert.equal(check({ type: "number", multipleOf: 0.5 }, "0.7").errors.n, "Must be a multiple of 0.5.");
  assert.deepEqual(check({ type: "number", multipleOf: 0.5 }, "1.5").arguments, { n: 1.5 });
  assert.deepEqual(check({ type: "number" }, "-.25").arguments, { n: -0.25 });
  const steps = formFields({ type: "object", properties: {
    a: { type: "number" }, b: { type: "integer" }, c: { type: "number", multipleOf: 0.1 },
    d: { type: ["integer", "number"] },
  } }).fields.map((f) => (f.kind === "number" ? [f.integer, f.step] : f.kind));
  assert.deepEqual(steps, [[false, "any"], [true, 1], [false, 0.1], [false, "any"]]);
});

const NESTED = {
  type: "object",
  properties: {
    query: { type: "string", description: "What to look for." },
    options: {
      type: "object",
      description: "How to search.",
      properties: {
        limit: { type: "integer", minimum: 1, maximum: 100, default: 10 },
        mode: { type: "string", enum: ["fast", "exact"] },
      },
      required: ["limit", "mode"],
    },
    extra: {
      type: "object",
      properties: { note: { type: "string" }, level: { type: "integer" } },
      required: ["level"],
    },
  },
  required: ["query", "options"],
};

test("nested objects: paths from the root, starting values, errors under the nested path", () => {
  const root = formFields(NESTED);
  const options = field(root, "options");
  assert.equal(options.kind, "object");
  assert.equal(options.help, "How to search.");
  assert.deepEqual(options.fields.map((/** @type {any} */ f) => [f.path, f.kind, f.required]),
    [[["options", "limit"], "number", true], [["options", "mode"], "enum", true]]);
  assert.deepEqual(initialValues(root), { query: "", options: { limit: "10" } }, "enums start unchosen, optional objects absent");
  assert.deepEqual(toArguments(root, initialValues(root)).errors, { "options.mode": "Required." });
  assert.deepEqual(toArguments(root, { query: "q", options: { limit: "0", mode: "fast" } }),
    { arguments: { query: "q", options: { limit: 0, mode: "fast" } },
      errors: { "options.limit": "Must be a whole number between 1 and 100." } });
});

test("an optional nested object left empty is omitted; once begun, its required parts are checked", () => {
  const values = { query: "q", options: { limit: "5", mode: "exact" } };
  assert.deepEqual(convert(NESTED, { ...values, extra: { note: "", level: "" } }),
    { arguments: { query: "q", options: { limit: 5, mode: "exact" } }, errors: {} });
  assert.deepEqual(convert(NESTED, { ...values, extra: { note: "hi" } }).errors, { "extra.level": "Required." });
  assert.deepEqual(convert(NESTED, { ...values, extra: { level: "3" } }).arguments.extra, { level: 3 });
});

const ROWS = {
  type: "object",
  properties: {
    rows: {
      type: "array", minItems: 1, maxItems: 2,
      items: {
        type: "object", required: ["name"],
        properties: { name: { type: "string", minLength: 1 }, size: { type: "number" } },
      },
    },
    tags: { type: "array", items: { type: "string" }, uniqueItems: true, default: ["a"] },
  },
  required: ["rows"],
};

test("arrays of objects: item template, per-item errors by index, item counts", () => {
  const root = formFields(ROWS);
  const rows = field(root, "rows");
  assert.equal(rows.item.kind, "object");
  assert.equal(rows.item.label, "Rows");
  assert.deepEqual(rows.item.fields.map((/** @type {any} */ f) => f.path), [["rows", "*", "name"], ["rows", "*", "size"]]);
  assert.deepEqual(initialValues(root), { rows: [], tags: ["a"] });
  assert.deepEqual(toArguments(root, initialValues(root)),
    { arguments: { rows: [], tags: ["a"] }, errors: { rows: "At least 1 item." } });
  const three = toArguments(root, { rows: [{ name: "a", size: "1.5" }, { name: "" }, { name: "c", size: "" }] });
  assert.deepEqual(three.errors, { "rows.1.name": "Required.", rows: "At most 2 items." });
  assert.deepEqual(three.arguments.rows, [{ name: "a", size: 1.5 }, {}, { name: "c" }]);
  assert.deepEqual(convert(ROWS, { rows: [{ name: "a" }], tags: ["x", "x"] }).errors, { tags: "Each item must be different." });
  assert.deepEqual(convert(ROWS, { rows: [{ name: "a" }], tags: [] }).arguments, { rows: [{ name: "a" }], tags: [] },
    "emptying a list whose default is not empty sends [], or the default would come back");
  assert.deepEqual(convert(ROWS, { rows: "a" }).errors, { rows: "Must be a list." });
  const titled = formFields({ type: "object", properties: {
    terms: { type: "array", title: "Search terms", items: { type: "string" } },
    sizes: { type: "array", items: { type: "integer", title: "Size in bytes" } },
  } });
  assert.deepEqual(titled.fields.map((f) => [f.label, /** @type {any} */ (f).item.label]),
    [["Search terms", "Search terms"], ["Sizes", "Size in bytes"]]);
});

test("nullable forms: type lists, anyOf with null, enums with null; clearing a non-null default sends null", () => {
  const root = formFields({
    type: "object",
    properties: {
      a: { type: ["integer", "null"], default: 3 },
      b: { anyOf: [{ type: "boolean" }, { type: "null" }] },
      c: { enum: ["x", "y", null] },
      d: { type: ["string", "null"] },
    },
    required: ["d"],
  });
  assert.deepEqual(root.fields.map((f) => [f.kind, f.nullable]),
    [["number", true], ["boolean", true], ["enum", true], ["text", true]]);
  assert.deepEqual(field(root, "c").options.map((/** @type {any} */ o) => o.value), ["x", "y"]);
  assert.deepEqual(initialValues(root), { a: "3" });
  assert.deepEqual(toArguments(root, { a: "", c: "", d: "" }), { arguments: { a: null, d: null }, errors: {} });
  assert.deepEqual(toArguments(root, { a: "4", b: true, c: "y", d: "z" }).arguments, { a: 4, b: true, c: "y", d: "z" });
  assert.deepEqual(toArguments(root, {}), { arguments: { d: null }, errors: {} }, "unset: the default applies");
});

test("$ref and $defs are resolved, in properties and in items; a recursive $ref falls back to JSON", () => {
  const root = formFields({
    type: "object",
    $defs: {
      Point: {
        type: "object", title: "Point", required: ["x", "y"],
        properties: { x: { $ref: "#/$defs/Coordinate" }, y: { $ref: "#/$defs/Coordinate" } },
      },
      Coordinate: { type: "number", minimum: -1, maximum: 1 },
      Tree: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Tree" } } } },
    },
    properties: {
      origin: { $ref: "#/$defs/Point", description: "Where it starts." },
      path: { type: "array", items: { $ref: "#/$defs/Point" } },
      tree: { $ref: "#/$defs/Tree" },
      missing: { $ref: "#/$defs/Nowhere" },
    },
    required: ["origin"],
  });
  const origin = field(root, "origin");
  assert.deepEqual([origin.kind, origin.label, origin.help], ["object", "Origin", "Where it starts."]);
  assert.deepEqual(origin.fields.map((/** @type {any} */ f) => [f.kind, f.minimum, f.path]),
    [["number", -1, ["origin", "x"]], ["number", -1, ["origin", "y"]]]);
  assert.equal(field(root, "path").item.kind, "object");
  const tree = field(root, "tree");
  assert.equal(tree.kind, "object");
  assert.equal(tree.fields[0].item.kind, "json", "the second visit of Tree stops");
  assert.equal(field(root, "missing").kind, "json");
  assert.deepEqual(toArguments(root, { origin: { x: "0.5", y: "2" } }),
    { arguments: { origin: { x: 0.5, y: 2 } }, errors: { "origin.y": "Must be a number between -1 and 1." } });
});

test("what a form cannot express becomes JSON text, parsed and checked on the way out", () => {
  const root = formFields({
    type: "object",
    properties: {
      shape: { oneOf: [
        { type: "object", properties: { r: { type: "number" } } },
        { type: "object", properties: { w: { type: "number" } } },
      ] },
      counts: { type: "object", additionalProperties: { type: "integer" }, default: { a: 1 } },
      data: { description: "Any JSON value." },
      pair: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }] },
      either: { type: ["string", "integer"] },
    },
    required: ["data"],
  });
  assert.deepEqual(root.fields.map((f) => f.kind), ["json", "json", "json", "json", "json"]);
  assert.deepEqual(initialValues(root), { counts: '{\n  "a": 1\n}', data: "" });
  assert.deepEqual(toArguments(root, initialValues(root)), { arguments: { counts: { a: 1 } }, errors: { data: "Required." } });
  const parsed = toArguments(root, { shape: '{"r": 2}', data: "[1, null]", pair: '["a", 1]', either: "7" });
  assert.deepEqual(parsed, { arguments: { shape: { r: 2 }, data: [1, null], pair: ["a", 1], either: 7 }, errors: {} });
  const bad = toArguments(root, { shape: '{"r": }', data: "3", counts: "[1]" });
  assert.match(bad.errors.shape, /^Not valid JSON: .*Unexpected token.*\.$/);
  assert.equal(bad.errors.counts, "Must be an object.");
  assert.deepEqual(bad.arguments, { data: 3, counts: [1] });
  assert.equal(toArguments(root, { data: "1", either: "true" }).errors.either, "Must be a string or a whole number.");
  const map = formFields({ type: "object", properties: {
    m: { anyOf: [{ type: "object", additionalProperties: { type: "integer" } }, { type: "null" }] },
  } });
  assert.deepEqual([map.fields[0].kind, map.fields[0].nullable], ["json", true]);
  assert.deepEqual(toArguments(map, { m: "null" }), { arguments: { m: null }, errors: {} });
  assert.deepEqual(toArguments(map, { m: "1" }).errors, { m: "Must be an object or null." });
});

test("anyOf of strings is text, of numbers a number, of constants an enum with their titles", () => {
  const root = formFields({
    type: "object",
    properties: {
      start: { anyOf: [{ type: "string", format: "date" }, { type: "string", format: "date-time" }] },
      day: { type: "string", format: "date" },
      size: { anyOf: [{ type: "integer" }, { type: "number" }] },
      color: { oneOf: [{ const: "r", title: "Red" }, { const: "g", title: "Green" }] },
    },
  });
  assert.deepEqual(root.fields.map((f) => f.kind), ["text", "text", "number", "enum"]);
  assert.equal(field(root, "start").format, undefined);
  assert.equal(field(root, "day").format, "date");
  assert.equal(field(root, "day").multiline, false);
  assert.deepEqual(field(root, "color").options, [{ value: "r", label: "Red" }, { value: "g", label: "Green" }]);
  assert.equal(toArguments(root, { color: "b" }).errors.color, "Must be one of: Red, Green.");
});

test("an empty string can be a choice of its own", () => {
  const root = formFields({ type: "object", properties: { suffix: { enum: ["", "s"] } }, required: ["suffix"] });
  assert.deepEqual(field(root, "suffix").options, [{ value: "", label: "(empty)" }, { value: "s", label: "s" }]);
  assert.deepEqual(toArguments(root, { suffix: "" }), { arguments: { suffix: "" }, errors: {} });
  assert.deepEqual(toArguments(root, { suffix: "x" }).errors, { suffix: "Must be one of: (empty), 's'." });
});

test("enums take their option values or the values' text, numbers included", () => {
  const schema = {
    type: "object", required: ["n"],
    properties: { n: { enum: [1, 2, "2"] }, on: { type: "boolean", enum: [true] } },
  };
  assert.deepEqual(convert(schema, { n: 2 }).arguments, { n: 2 });
  assert.deepEqual(convert(schema, { n: "2" }).arguments, { n: "2" }, "an exact match wins");
  assert.deepEqual(convert(schema, { n: "1" }).arguments, { n: 1 });
  assert.deepEqual(convert(schema, { n: 3 }).errors, { n: "Must be one of: 1, 2, '2'." });
  assert.deepEqual(convert(schema, {}).errors, { n: "Required." });
  assert.deepEqual(formFields(schema).fields[1].kind, "enum");
});

test("booleans: false only when required; an untouched optional one is left to the tool", () => {
  const root = formFields({
    type: "object",
    properties: { must: { type: "boolean" }, may: { type: "boolean" }, on: { type: "boolean", default: true } },
    required: ["must"],
  });
  assert.deepEqual(initialValues(root), { must: false, on: true });
  assert.deepEqual(toArguments(root, {}).arguments, { must: false });
  assert.deepEqual(toArguments(root, { must: "true", may: false, on: false }).arguments, { must: true, may: false, on: false });
  assert.deepEqual(toArguments(root, { must: "yes" }).errors, { must: "Must be true or false." });
});

test("empty optional values are omitted, unless clearing would bring back a non-empty default", () => {
  const root = formFields({
    type: "object",
    properties: {
      title: { type: "string" }, count: { type: "integer", default: 3 }, sep: { type: "string", default: "," },
      blank: { type: "string", default: "" },
    },
  });
  assert.deepEqual(initialValues(root), { count: "3", sep: ",", blank: "" });
  assert.deepEqual(toArguments(root, { title: "", count: " ", sep: "", blank: "" }), { arguments: { sep: "" }, errors: {} });
  assert.deepEqual(toArguments(root, { title: "T", count: "4" }).arguments, { title: "T", count: 4 },
    "a value never set is left to the tool's default");
});

test("labels: the title, else the name made readable", () => {
  const root = formFields({
    type: "object",
    properties: {
      has_header: { type: "boolean" }, maxMatches: { type: "integer" }, csv_url: { type: "string" },
      n: { type: "integer", title: "How many" }, mode: { enum: ["a"], title: "SortMode" },
    },
  });
  assert.deepEqual(root.fields.map((f) => f.label), ["Has header", "Max matches", "CSV URL", "How many", "Sort mode"]);
});

test("multi-line rule: long or body-like text spans lines, names of one-line things do not", () => {
  /** @param {string} name @param {any} prop */
  const multiline = (name, prop) => {
    const f = formFields({ type: "object", properties: { [name]: { type: "string", ...prop } } }).fields[0];
    assert.equal(f.kind, "text");
    return /** @type {any} */ (f).multiline;
  };
  assert.equal(multiline("value", { maxLength: 201 }), true);
  assert.equal(multiline("code", { maxLength: 200 }), false, "a short maximum wins over the name");
  for (const name of ["code", "text", "csv", "json", "source", "content", "body", "data", "csv_text", "htmlBody"]) {
    assert.equal(multiline(name, {}), true, name);
  }
  for (const name of ["pattern", "text_pattern", "path", "name", "value", "session"]) {
    assert.equal(multiline(name, {}), false, name);
  }
  assert.equal(multiline("code", { format: "date" }), false);
  assert.equal(multiline("pattern", { description: "Text to find, as a regular expression." }), false,
    "a one-line name wins over the description");
  assert.equal(multiline("input", { description: "The Python source to run." }), true);
  assert.equal(multiline("input", { description: "Text to analyze." }), true);
  assert.equal(multiline("input", { description: "The text pattern to find." }), false);
  assert.equal(multiline("input", { description: "A Python `re` regular expression." }), false);
});

test("fieldId: readable for ordinary names, distinct and a valid CSS identifier for any path", () => {
  assert.equal(fieldId(["options", "limit"]), "arg-options-limit");
  assert.equal(fieldId(["rows", 2, "name"]), "arg-rows-2-name");
  assert.equal(fieldId([]), "arg");
  assert.equal(fieldId(["a-b"]), "arg--612d62");
  const paths = [["612d62"], ["a-b"], ["a", "b"], ["a_b"], ["a", "-b"], [""], ["", ""], ["a b"], ["é"], ["a.b"],
    ["a", ".b"], ["61"]];
  const ids = paths.map(fieldId);
  assert.equal(new Set(ids).size, ids.length, ids.join(" "));
  for (const id of ids) assert.match(id, /^arg(-[A-Za-z0-9_-]*)*$/);
  assert.equal(fieldId(["a-b"]), fieldId(["a-b"]), "stable");
});

test("toArguments takes a list of fields too, and a root without properties has none", () => {
  const root = formFields(PRIMES_COUNT);
  assert.deepEqual(toArguments(root.fields, { limit: "5" }).arguments, { limit: 5 });
  assert.deepEqual(initialValues(root.fields), { limit: "" });
  assert.deepEqual(formFields({ type: "object", properties: {}, additionalProperties: false }).fields, []);
  assert.deepEqual(formFields(undefined).fields, []);
  assert.deepEqual(toArguments(formFields({ type: "object" }), undefined), { arguments: {}, errors: {} });
});

test("a base64 string is a file field: a chosen file sends its bytes, an oversized one is refused", () => {
  const root = formFields({ type: "object", properties: {
    file: { anyOf: [{ type: "string", contentEncoding: "base64", contentMediaType: "text/csv" }, { type: "null" }],
      default: null, description: "The CSV file." },
    data: { type: "string", contentEncoding: "base64" },
  }, required: ["data"] });
  const [file, data] = root.fields;
  assert.equal(file.kind, "file");
  assert.equal(/** @type {any} */ (file).mediaType, "text/csv");
  assert.equal(file.nullable, true);
  assert.equal(data.kind, "file");
  assert.deepEqual(initialValues(root), {});
  assert.deepEqual(toArguments(root, {}).errors, { data: "Required." });
  const chosen = { name: "a.bin", size: 3, base64: "YWJj" };
  assert.deepEqual(toArguments(root, { data: chosen }), { arguments: { data: "YWJj" }, errors: {} });
  assert.deepEqual(toArguments(root, { data: "YWJj" }).arguments, { data: "YWJj" });
  const huge = { name: "huge.bin", size: 5 * 1024 * 1024 + 1 };
  assert.match(toArguments(root, { data: huge }).errors.data, /^huge\.bin is .*files up to 5 MB/);
});
