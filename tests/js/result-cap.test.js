// What the page keeps of a tool's result: text cut with a marker, oversized structuredContent
// dropped, and the model told the same.
import { test } from "node:test";
import assert from "node:assert/strict";
import { capResult, cutMarker, TRUNCATED_META } from "../../web/app/result-cap.js";
import { resultForModel } from "../../web/app/tool-result-text.js";

const limits = { textPartChars: 10, resultTextChars: 25, structuredChars: 20 };
const text = (/** @type {string} */ t) => ({ type: "text", text: t });

test("a result within the limits is kept as it is", () => {
  const result = { content: [text("short"), { type: "image", data: "AAAA", mimeType: "image/png" }],
    structuredContent: { a: 1 } };
  assert.equal(capResult(result, limits), result);
});

test("a long text part is cut at the limit, says how much was cut, and the result is marked", () => {
  const result = { content: [text("0123456789abcdef")], _meta: { kept: 1 } };
  const capped = capResult(result, limits);
  assert.equal(capped.content[0].text,
    "0123456789\n[… cut: 6 more characters; the result was larger than the page shows]");
  assert.deepEqual(capped._meta, { kept: 1, [TRUNCATED_META]: true });
  assert.equal(result.content[0].text, "0123456789abcdef");  // the original is not changed
});

test("the marker counts in thousands", () => {
  assert.equal(cutMarker(1_234_567), "\n[… cut: 1,234,567 more characters; the result was larger than the page shows]");
});

test("all text parts together keep no more than the result's budget", () => {
  const capped = capResult({ content: [text("a".repeat(10)), text("b".repeat(10)), text("c".repeat(10)),
    text("d".repeat(10))] }, limits);
  assert.deepEqual(capped.content.map((/** @type {any} */ p) => p.text.split("\n")[0]),
    ["a".repeat(10), "b".repeat(10), "c".repeat(5), "[… cut: 10 more characters; the result was larger than the page shows]"]);
});

test("embedded text resources are cut like text; other parts are left alone", () => {
  const image = { type: "image", data: "A".repeat(100), mimeType: "image/png" };
  const capped = capResult({ content: [{ type: "resource", resource: { uri: "x:1", text: "r".repeat(15) } }, image] }, limits);
  assert.equal(capped.content[0].resource.uri, "x:1");
  assert.match(capped.content[0].resource.text, /^r{10}\n\[… cut: 5 more characters/);
  assert.equal(capped.content[1], image);
});

test("a cut never splits a surrogate pair", () => {
  const capped = capResult({ content: [text("123456789😀😀")] }, limits);
  assert.equal(capped.content[0].text.split("\n")[0], "123456789");
});

test("structuredContent over its limit is dropped, with a marker the model sees too", () => {
  const structured = { rows: "z".repeat(40) };
  const capped = capResult({ content: [text("summary")], structuredContent: structured }, limits);
  assert.equal(capped.structuredContent, undefined);
  assert.equal(capped._meta?.[TRUNCATED_META], true);
  assert.equal(capped.content.at(-1).text,
    "[… cut: the structured result, 51 characters of JSON; the result was larger than the page shows]");
  const forModel = resultForModel(capped);
  assert.match(forModel, /^summary\n\[… cut: the structured result/);
  assert.ok(!forModel.includes("z".repeat(40)));
});

test("the model gets the cut text with its marker, errors included", () => {
  const capped = capResult({ content: [text("e".repeat(30))], isError: true }, limits);
  assert.equal(resultForModel(capped),
    `Tool error: ${"e".repeat(10)}\n[… cut: 20 more characters; the result was larger than the page shows]`);
});
