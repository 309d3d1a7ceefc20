// MCP tool names to provider function names and back: valid, distinct, and independent of order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toolNameMap } from "../../web/app/tool-names.js";

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

/** @param {string[]} names */
function assertBijection(names) {
  const map = toolNameMap(names);
  const modelNames = names.map((name) => map.toModel(name));
  for (const [i, modelName] of modelNames.entries()) {
    assert.match(String(modelName), VALID, `${names[i]} -> ${modelName}`);
    assert.equal(map.fromModel(String(modelName)), names[i]);
  }
  assert.equal(new Set(modelNames).size, names.length, `distinct: ${modelNames.join(", ")}`);
  return map;
}

test("dotted names become valid function names and map back", () => {
  const map = assertBijection(["python.run", "hash.sha256", "text.word_count"]);
  assert.equal(map.toModel("python.run"), "python_run");
  assert.equal(map.fromModel("python_run"), "python.run");
  assert.equal(map.toModel("text.word_count"), "text_word_count");
});

test("a name that is already valid keeps it, and the clashing dotted one gets a suffix", () => {
  for (const order of [["a.b", "a_b"], ["a_b", "a.b"]]) {
    const map = assertBijection(order);
    assert.equal(map.toModel("a_b"), "a_b");
    assert.match(String(map.toModel("a.b")), /^a_b_[0-9a-f]{6}$/);
  }
  assert.equal(toolNameMap(["a.b", "a_b"]).toModel("a.b"), toolNameMap(["a_b", "a.b"]).toModel("a.b"));
});

test("several invalid names that sanitize alike all stay distinct, whatever the order", () => {
  const names = ["a.b", "a b", "a/b", "a_b", "a:b"];
  const map = assertBijection(names);
  const reversed = toolNameMap([...names].reverse());
  for (const name of names) assert.equal(reversed.toModel(name), map.toModel(name));
});

test("long names are cut to 64 characters and stay distinct", () => {
  const long = "pkg." + "x".repeat(80);
  const names = [long, long + ".a", long + ".b", "y".repeat(64)];
  const map = assertBijection(names);
  assert.equal(map.toModel("y".repeat(64)), "y".repeat(64));
  assert.equal(map.toModel(long)?.length, 64);
});

test("odd characters and an empty name still give valid names", () => {
  assertBijection(["café.métro", "🙂.run", "", "名前", "-"]);
});

test("names outside the set map to undefined", () => {
  const map = toolNameMap(["python.run"]);
  assert.equal(map.fromModel("python.run"), undefined);
  assert.equal(map.fromModel("nope"), undefined);
  assert.equal(map.toModel("nope.tool"), undefined);
});
