// Files attached in the chat and given to tools by id (web/app/attachments.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_FILE_BYTES, ATTACHMENT_ID, sizeProblem, humanSize, bytesToBase64, base64ToBytes, newAttachmentId,
  describeAttachment, attachmentNote, isFileSchema, fileFields, substituteAttachments,
} from "../../web/app/attachments.js";

const FILE = { type: "string", contentEncoding: "base64" };
const CSV = { id: "att-0123abcd", name: "data.csv", mediaType: "text/csv", size: 1229, base64: "YSxiCjEsMgo=" };
const PNG = { id: "att-89ef4567", name: "plot.png", mediaType: "image/png", size: 70000, base64: "iVBORw0KGgo=" };
const FILES = [CSV, PNG];
const lookup = (/** @type {string} */ id) => FILES.find((file) => file.id === id);

/**
 * @param {unknown} args
 * @param {unknown} schema
 */
function substitute(args, schema) {
  return substituteAttachments(args, schema, lookup, FILES);
}

test("bytes survive the trip through base64, every byte value included", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(bytesToBase64(all), Buffer.from(all).toString("base64"));
  assert.deepEqual(base64ToBytes(bytesToBase64(all)), all);
  for (const length of [0, 1, 2, 3, 4, 24575, 24576, 24577]) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 256);
    assert.equal(bytesToBase64(bytes), Buffer.from(bytes).toString("base64"), `length ${length}`);
  }
});

test("a file at the size cap (5 MiB) encodes without overflowing the stack, and decodes back", () => {
  const big = new Uint8Array(MAX_FILE_BYTES);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 255;
  const text = bytesToBase64(big);
  assert.equal(text.length, Math.ceil(MAX_FILE_BYTES / 3) * 4);
  assert.equal(text, Buffer.from(big).toString("base64"));
  assert.deepEqual(base64ToBytes(text), big);
});

test("text that is not base64 is refused", () => {
  assert.throws(() => base64ToBytes("not base64!"));
});

test("a file of exactly the cap is accepted, one byte more is refused with its name and the limit", () => {
  assert.equal(MAX_FILE_BYTES, 5 * 1024 * 1024);
  assert.equal(sizeProblem("data.bin", 0), null);
  assert.equal(sizeProblem("data.bin", MAX_FILE_BYTES), null);
  const justOver = sizeProblem("data.bin", MAX_FILE_BYTES + 1);
  assert.match(String(justOver), /^data\.bin is 5,242,881 bytes; files up to 5 MB \(5,242,880 bytes\) can be used/);
  assert.equal(sizeProblem("data.bin", 6.2 * 1024 * 1024),
    "data.bin is 6.2 MB; files up to 5 MB (5,242,880 bytes) can be used, because a tool call travels as one " +
    "message of at most 8 MB. Use a smaller file or split it.");
});

test("sizes read as bytes, KB and MB in units of 1024", () => {
  assert.equal(humanSize(0), "0 bytes");
  assert.equal(humanSize(1), "1 byte");
  assert.equal(humanSize(1023), "1023 bytes");
  assert.equal(humanSize(1024), "1 KB");
  assert.equal(humanSize(1229), "1.2 KB");
  assert.equal(humanSize(70000), "68 KB");
  assert.equal(humanSize(1024 * 1024 - 1), "1 MB");
  assert.equal(humanSize(MAX_FILE_BYTES), "5 MB");
});

test("attachment ids are att- and 8 hex digits, distinct, and avoid ids already taken", () => {
  const ids = Array.from({ length: 500 }, () => newAttachmentId());
  for (const id of ids) assert.match(id, /^att-[0-9a-f]{8}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ATTACHMENT_ID.test(ids[0]));
  for (const bad of ["att-0123ABCD", "att-0123abc", "att-0123abcde", " att-0123abcd", "file-0123abcd"]) {
    assert.equal(ATTACHMENT_ID.test(bad), false, bad);
  }
  const original = globalThis.crypto.getRandomValues;
  let calls = 0;
  // The first draw repeats a taken id; the second does not.
  globalThis.crypto.getRandomValues = /** @type {any} */ ((/** @type {Uint8Array} */ array) => {
    array.set(calls++ === 0 ? [0, 0x12, 0x3a, 0xbc] : [1, 2, 3, 4]);
    return array;
  });
  try {
    assert.equal(newAttachmentId(["att-00123abc"]), "att-01020304");
  } finally {
    globalThis.crypto.getRandomValues = original;
  }
});

test("a base64 string is a file schema, alone, nullable, or behind a $ref; other strings are not", () => {
  assert.equal(isFileSchema(FILE), true);
  assert.equal(isFileSchema({ ...FILE, contentMediaType: "text/csv" }), true);
  assert.equal(isFileSchema({ type: ["string", "null"], contentEncoding: "base64" }), true);
  assert.equal(isFileSchema({ anyOf: [FILE, { type: "null" }] }), true);
  assert.equal(isFileSchema({ oneOf: [{ type: "null" }, FILE] }), true);
  const root = { $defs: { Blob: FILE }, properties: { f: { $ref: "#/$defs/Blob" } } };
  assert.equal(isFileSchema({ $ref: "#/$defs/Blob" }, root), true);
  assert.equal(isFileSchema({ type: "string" }), false);
  assert.equal(isFileSchema({ type: "string", contentEncoding: "base16" }), false);
  assert.equal(isFileSchema({ type: "integer", contentEncoding: "base64" }), false);
  assert.equal(isFileSchema({ anyOf: [FILE, { type: "string" }] }), false);
  assert.equal(isFileSchema({ anyOf: [{ type: "null" }] }), false);
  assert.equal(isFileSchema(undefined), false);
  assert.equal(isFileSchema(true), false);
});

test("fileFields lists where the arguments take files, through nesting, arrays, maps and $refs", () => {
  const schema = {
    type: "object",
    properties: {
      file: FILE,
      maybe: { anyOf: [FILE, { type: "null" }] },
      name: { type: "string" },
      items: { type: "array", items: { type: "object", properties: { data: FILE, label: { type: "string" } } } },
      named: { type: "object", additionalProperties: FILE },
      doc: { $ref: "#/$defs/Doc" },
    },
    $defs: { Doc: { type: "object", properties: { body: FILE, children: { type: "array", items: { $ref: "#/$defs/Doc" } } } } },
  };
  assert.deepEqual(fileFields(schema), [["file"], ["maybe"], ["items", "*", "data"], ["named", "*"], ["doc", "body"]]);
  assert.deepEqual(fileFields({ type: "object", properties: { text: { type: "string" } } }), []);
});

test("an id at the top level becomes the file's base64; other arguments stay as they are", () => {
  const schema = { type: "object", properties: { file: FILE, limit: { type: "integer" } } };
  const result = substitute({ file: CSV.id, limit: 3 }, schema);
  assert.deepEqual(result, { args: { file: CSV.base64, limit: 3 }, used: [CSV.id], problems: [] });
});

test("ids in a nested object, array items and a nullable file field are all replaced", () => {
  const schema = {
    type: "object",
    properties: {
      options: { type: "object", properties: { image: { ...FILE, contentMediaType: "image/png" } } },
      items: { type: "array", items: { type: "object", properties: { data: FILE, label: { type: "string" } } } },
      extra: { anyOf: [FILE, { type: "null" }], default: null },
    },
  };
  const args = {
    options: { image: PNG.id },
    items: [{ data: CSV.id, label: "first" }, { data: PNG.id, label: "second" }],
    extra: CSV.id,
  };
  const result = substitute(args, schema);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.args, {
    options: { image: PNG.base64 },
    items: [{ data: CSV.base64, label: "first" }, { data: PNG.base64, label: "second" }],
    extra: CSV.base64,
  });
  assert.deepEqual(result.used.sort(), [CSV.id, PNG.id].sort());
  assert.deepEqual(substitute({ extra: null }, schema).args, { extra: null });
});

test("ids reach files behind $refs, map values and the matching member of a tagged union", () => {
  const schema = {
    type: "object",
    properties: {
      doc: { $ref: "#/$defs/Doc" },
      named: { type: "object", additionalProperties: FILE },
      source: {
        oneOf: [
          { type: "object", properties: { kind: { const: "url" }, data: { type: "string" } }, required: ["kind"] },
          { type: "object", properties: { kind: { const: "file" }, data: FILE }, required: ["kind"] },
        ],
      },
    },
    $defs: { Doc: { type: "object", properties: { body: { allOf: [{ $ref: "#/$defs/Blob" }] } } }, Blob: FILE },
  };
  const result = substitute({
    doc: { body: CSV.id }, named: { a: PNG.id }, source: { kind: "file", data: CSV.id },
  }, schema);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.args, {
    doc: { body: CSV.base64 }, named: { a: PNG.base64 }, source: { kind: "file", data: CSV.base64 },
  });
  // The url member has no file there, so the id is text.
  assert.deepEqual(substitute({ source: { kind: "url", data: CSV.id } }, schema).args, { source: { kind: "url", data: CSV.id } });
});

test("an unknown id is a problem naming the argument and the ids the conversation has", () => {
  const schema = { type: "object", properties: { items: { type: "array", items: { type: "object", properties: { data: FILE } } } } };
  const result = substitute({ items: [{ data: CSV.id }, { data: "att-12345678" }] }, schema);
  assert.deepEqual(result.problems, [
    "items.1.data: no attachment att-12345678 in this conversation; ask the user to attach the file again, " +
    "or pass one of: att-0123abcd (data.csv), att-89ef4567 (plot.png)",
  ]);
  const none = substituteAttachments({ file: "att-12345678" }, { properties: { file: FILE } }, () => undefined);
  assert.match(none.problems[0], /^file: no attachment att-12345678 in this conversation \(no files are attached to it\)/);
});

test("an attachment whose bytes are gone is a problem, not an empty file", () => {
  const schema = { properties: { file: FILE } };
  const result = substituteAttachments({ file: CSV.id }, schema, () => ({ id: CSV.id, name: "data.csv" }));
  assert.deepEqual(result.used, []);
  assert.match(result.problems[0], /^file: the bytes of attachment att-0123abcd \(data\.csv\) are no longer kept/);
});

test("an id in a field that does not take a file stays text, without a problem", () => {
  const schema = { type: "object", properties: { text: { type: "string" }, note: { anyOf: [{ type: "string" }, { type: "null" }] } } };
  const args = { text: CSV.id, note: "att-12345678", other: PNG.id };
  assert.deepEqual(substitute(args, schema), { args, used: [], problems: [] });
});

test("base64 or other text passed directly to a file field is left as it is", () => {
  const schema = { properties: { file: FILE } };
  for (const value of ["aGVsbG8=", "", "att-XYZ", 42]) {
    assert.deepEqual(substitute({ file: value }, schema), { args: { file: value }, used: [], problems: [] });
  }
});

test("the arguments given are not changed; the result is a copy", () => {
  const schema = { properties: { file: FILE, items: { type: "array", items: FILE }, meta: { type: "object" } } };
  const args = { file: CSV.id, items: [PNG.id], meta: { deep: { id: CSV.id } } };
  const before = structuredClone(args);
  const result = substitute(args, schema);
  assert.deepEqual(args, before);
  assert.deepEqual(result.args, { file: CSV.base64, items: [PNG.base64], meta: { deep: { id: CSV.id } } });
  assert.notEqual(result.args.meta, args.meta);
});

test("files that together overflow one call's message are a problem", () => {
  const huge = { id: "att-aaaaaaaa", name: "a.bin", mediaType: "", size: MAX_FILE_BYTES, base64: "A".repeat(7_000_000) };
  const schema = { properties: { first: FILE, second: FILE } };
  const one = substituteAttachments({ first: huge.id }, schema, () => huge);
  assert.deepEqual(one.problems, []);
  const two = substituteAttachments({ first: huge.id, second: huge.id }, schema, () => huge);
  assert.equal(two.problems.length, 1);
  assert.match(two.problems[0], /^first, second: the files passed \(att-aaaaaaaa\) make this call 13 MB of text, more than the 8 MB/);
});

test("the note lists ids and names for the model, never the bytes", () => {
  const note = attachmentNote(FILES);
  assert.equal(note,
    "Attached files (pass an id as the value of a tool argument that takes a file, i.e. a base64 string field; " +
    "the bytes are not shown to you):\n- att-0123abcd: data.csv (text/csv, 1.2 KB)\n- att-89ef4567: plot.png (image/png, 68 KB)");
  for (const file of FILES) assert.equal(note.includes(file.base64), false);
  assert.equal(attachmentNote([]), "");
});

test("a file name with a line break stays on its own line of the note", () => {
  const odd = { id: "att-0000000f", name: "a\nb.txt", mediaType: "", size: 3 };
  assert.equal(describeAttachment(odd), "a b.txt (3 bytes)");
  assert.equal(attachmentNote([odd]).split("\n").length, 2);
});
