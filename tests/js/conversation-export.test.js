// Conversations as files: JSON that imports back as a new conversation, a Markdown transcript, and
// the file name. The Markdown is read back with marked, the parser the page itself uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lexer } from "../../web/node_modules/marked/lib/marked.esm.js";
import {
  EXPORT_FORMAT, EXPORT_VERSION, IMPORTED_TITLE, UNFINISHED_ON_EXPORT, ImportError,
  toJSON, fromJSON, toMarkdown, exportFileName,
} from "../../web/app/conversation-export.js";

const CODE = "print('```')\nprint(6 * 7)";

/** A finished conversation: a tool call with a result, one that failed, a notice. */
function sample() {
  return {
    id: "original-id", title: "Budget 2027: Q1?", systemPrompt: "Be brief.\n\nAnswer in `Python`.",
    model: "claude", allowedTools: ["python.run"], createdAt: 1_000, updatedAt: 2_000,
    messages: [
      { role: "user", content: "What is 6 × 7? Show it with ```code```." },
      {
        role: "assistant", content: "Let me run it.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "python_run", arguments: JSON.stringify({ code: CODE }) } },
          { id: "call_2", type: "function", function: { name: "hash_sha256", arguments: "{\"text\":\"a\"}" } },
        ],
      },
      {
        role: "tool", tool_call_id: "call_1", content: "```\n42",
        cloche: {
          tool: "python.run", args: { code: CODE }, status: "ok", startedAt: 1_500, elapsedMs: 1_234,
          progress: { progress: 1, total: 1 },
          result: { content: [{ type: "text", text: "```\n42" }], structuredContent: { answer: 42, unit: null } },
        },
      },
      {
        role: "tool", tool_call_id: "call_2", content: "Tool error: the call timed out",
        cloche: {
          tool: "hash.sha256", args: { text: "a" }, status: "error", startedAt: 1_600, elapsedMs: 30_000,
          error: { code: -32001, message: "the call timed out after 30 s" },
        },
      },
      { role: "assistant", content: "It is **42**." },
      { role: "notice", kind: "stopped", text: "Stopped." },
    ],
  };
}

/** @param {any} conversation */
function exported(conversation) {
  return JSON.parse(toJSON(conversation));
}

// --- JSON

test("the export names its format and version and keeps every field, pretty-printed", () => {
  const conversation = sample();
  const text = toJSON(conversation, { now: Date.UTC(2027, 0, 2, 3, 4, 5) });
  assert.match(text, /^\{\n {2}"format": "cloche-conversation",\n/);
  const file = JSON.parse(text);
  assert.equal(file.format, EXPORT_FORMAT);
  assert.equal(file.version, EXPORT_VERSION);
  assert.equal(file.exportedAt, "2027-01-02T03:04:05.000Z");
  assert.deepEqual(file.conversation, conversation);
});

test("an export imports back with its messages, prompt, model, allowed tools and tool results", () => {
  const conversation = sample();
  const imported = fromJSON(toJSON(conversation), { now: 9_000, newId: () => "fresh-id" });
  assert.deepEqual(imported, { ...conversation, id: "fresh-id", updatedAt: 9_000 });
  assert.deepEqual(imported.messages[2].cloche.result.structuredContent, { answer: 42, unit: null });
  assert.equal(imported.createdAt, 1_000, "it was created when the original was");
});

test("each import is a new conversation, so importing twice never overwrites", () => {
  const text = toJSON(sample());
  const first = fromJSON(text);
  const second = fromJSON(text);
  assert.match(first.id, /^[0-9a-f-]{36}$/);
  assert.notEqual(first.id, second.id);
  assert.notEqual(first.id, "original-id");
  assert.notEqual(first.messages, second.messages);
});

test("calls that had not finished when exported are stopped on import, and streaming ends", () => {
  const conversation = sample();
  conversation.messages.splice(4, 2, {
    role: "assistant", content: "More:", tool_calls: ["a", "b", "c", "d"].map((id) => (
      { id, type: "function", function: { name: "python_run", arguments: "{}" } })),
  });
  for (const [id, status] of [["a", "pending"], ["b", "approval"], ["c", "running"], ["d", "denied"]]) {
    conversation.messages.push({
      role: "tool", tool_call_id: id, content: status === "denied" ? "The user denied this call." : "",
      cloche: { tool: "python.run", args: {}, status, startedAt: 1, elapsedMs: 5, progress: { progress: 0.5 } },
    });
  }
  conversation.messages.push({ role: "assistant", content: "Still wri", cloche: { streaming: true } });
  const imported = fromJSON(toJSON(conversation));
  const calls = imported.messages.filter((m) => m.role === "tool");
  assert.deepEqual(calls.map((m) => m.cloche.status), ["ok", "error", "stopped", "stopped", "stopped", "denied"]);
  assert.deepEqual(calls.slice(2, 5).map((m) => m.content), Array(3).fill(UNFINISHED_ON_EXPORT));
  assert.equal(calls[5].content, "The user denied this call.");
  assert.equal(calls[0].content, "```\n42", "finished calls keep what the model was told");
  assert.deepEqual(imported.messages.at(-1), { role: "assistant", content: "Still wri", cloche: {} });
});

test("the title is kept; an untitled import is named after its first message, or Imported conversation", () => {
  const titled = fromJSON(toJSON(sample()));
  assert.equal(titled.title, "Budget 2027: Q1?");
  const untitled = { ...sample(), title: "" };
  assert.equal(fromJSON(toJSON(untitled)).title, "", "the list shows its first message");
  const empty = { ...sample(), title: " ", messages: [{ role: "notice", kind: "error", text: "No model." }] };
  assert.equal(fromJSON(toJSON(empty)).title, IMPORTED_TITLE);
});

test("fields an export always has may be absent from a hand-written file", () => {
  const text = JSON.stringify({ format: EXPORT_FORMAT, version: 1, conversation: { messages: [] } });
  const imported = fromJSON(text, { now: 7, newId: () => "n" });
  assert.deepEqual(imported, {
    id: "n", title: IMPORTED_TITLE, systemPrompt: "", model: "", messages: [], allowedTools: [],
    createdAt: 7, updatedAt: 7,
  });
});

/**
 * Each broken file and what the import says about it.
 * @type {[string, string | ((file: any) => void), string][]}
 */
const BROKEN = [
  ["not JSON", "{\"format\": ", "not JSON: "],
  ["a JSON array", "[1, 2]", "not a Cloche conversation export (the file holds an array)"],
  ["no format", (f) => { delete f.format; }, "not a Cloche conversation export (format is missing)"],
  ["another format", (f) => { f.format = "chatgpt"; },
    'not a Cloche conversation export (format is "chatgpt", not "cloche-conversation")'],
  ["no version", (f) => { delete f.version; }, "version is missing (it must be a whole number from 1)"],
  ["a text version", (f) => { f.version = "1"; }, 'version must be a whole number from 1, not "1"'],
  ["a newer version", (f) => { f.version = 2; }, "version 2 is newer than this page understands (1); update Cloche"],
  ["no conversation", (f) => { delete f.conversation; }, "conversation is missing (it must be an object)"],
  ["a numeric title", (f) => { f.conversation.title = 5; }, "title must be a string, not 5"],
  ["a null system prompt", (f) => { f.conversation.systemPrompt = null; }, "systemPrompt must be a string, not null"],
  ["a tool that is not a name", (f) => { f.conversation.allowedTools.push(3); }, "allowedTools[1] must be a string, not 3"],
  ["a text createdAt", (f) => { f.conversation.createdAt = "today"; }, 'createdAt must be a number, not "today"'],
  ["no messages", (f) => { delete f.conversation.messages; }, "messages is missing (it must be an array)"],
  ["messages as an object", (f) => { f.conversation.messages = {}; }, "messages must be an array, not an object"],
  ["a message that is text", (f) => { f.conversation.messages[1] = "hi"; }, 'messages[1] must be an object, not "hi"'],
  ["a system message", (f) => { f.conversation.messages[3].role = "system"; },
    'messages[3].role must be one of user, assistant, tool, notice, not "system"'],
  ["a user message without content", (f) => { delete f.conversation.messages[0].content; },
    "messages[0].content is missing (it must be a string or an array of parts)"],
  ["a content part without a type", (f) => { f.conversation.messages[0].content = [{ text: "hi" }]; },
    "messages[0].content[0].type is missing (it must be a string)"],
  ["an assistant message with numeric content", (f) => { f.conversation.messages[1].content = 1; },
    "messages[1].content must be a string or null, not 1"],
  ["tool_calls as an object", (f) => { f.conversation.messages[1].tool_calls = {}; },
    "messages[1].tool_calls must be an array, not an object"],
  ["a tool call without an id", (f) => { f.conversation.messages[1].tool_calls[0].id = ""; },
    'messages[1].tool_calls[0].id must be a non-empty string, not ""'],
  ["two calls with one id", (f) => { f.conversation.messages[1].tool_calls[1].id = "call_1"; },
    'messages[1].tool_calls[1].id "call_1" is used twice in this message'],
  ["a call that is not a function", (f) => { f.conversation.messages[1].tool_calls[0].type = "code"; },
    'messages[1].tool_calls[0].type must be "function", not "code"'],
  ["parsed call arguments", (f) => { f.conversation.messages[1].tool_calls[1].function.arguments = { text: "a" }; },
    "messages[1].tool_calls[1].function.arguments must be a string, not an object"],
  ["a tool message for no call", (f) => { f.conversation.messages[3].tool_call_id = "call_9"; },
    'messages[3].tool_call_id "call_9" answers no tool call of the assistant message before it'],
  ["a call answered twice", (f) => { f.conversation.messages[3].tool_call_id = "call_1"; },
    'messages[3].tool_call_id "call_1" was already answered by messages[2]'],
  ["a tool message after a user message", (f) => {
    f.conversation.messages.splice(3, 0, { role: "user", content: "wait" });
  }, 'messages[4].tool_call_id "call_2" answers no tool call of the assistant message before it'],
  ["a tool message with object content", (f) => { f.conversation.messages[2].content = {}; },
    "messages[2].content must be a string, not an object"],
  ["a tool message without its card", (f) => { delete f.conversation.messages[2].cloche; },
    "messages[2].cloche is missing (it must be an object)"],
  ["a tool message without arguments", (f) => { delete f.conversation.messages[2].cloche.args; },
    "messages[2].cloche.args is missing (it must be the call's arguments)"],
  ["an unknown status", (f) => { f.conversation.messages[2].cloche.status = "done"; },
    'messages[2].cloche.status must be one of pending, approval, denied, running, ok, error, stopped, not "done"'],
  ["no start time", (f) => { delete f.conversation.messages[2].cloche.startedAt; },
    "messages[2].cloche.startedAt is missing (it must be a number)"],
  ["a negative elapsed time", (f) => { f.conversation.messages[2].cloche.elapsedMs = -1; },
    "messages[2].cloche.elapsedMs must be a number from 0, not -1"],
  ["progress as text", (f) => { f.conversation.messages[2].cloche.progress.progress = "half"; },
    'messages[2].cloche.progress.progress must be a number, not "half"'],
  ["a result without content", (f) => { f.conversation.messages[2].cloche.result = { structuredContent: {} }; },
    "messages[2].cloche.result.content is missing (it must be an array of parts)"],
  ["isError as text", (f) => { f.conversation.messages[2].cloche.result.isError = "no"; },
    'messages[2].cloche.result.isError must be true or false, not "no"'],
  ["an error without a message", (f) => { delete f.conversation.messages[3].cloche.error.message; },
    "messages[3].cloche.error.message is missing (it must be a string)"],
  ["an error code that is an object", (f) => { f.conversation.messages[3].cloche.error.code = {}; },
    "messages[3].cloche.error.code must be a number or a string, not an object"],
  ["an unknown notice", (f) => { f.conversation.messages[5].kind = "warning"; },
    'messages[5].kind must be one of error, step-limit, stopped, not "warning"'],
  ["a notice without text", (f) => { delete f.conversation.messages[5].text; },
    "messages[5].text is missing (it must be a string)"],
];

for (const [name, broken, expected] of BROKEN) {
  test(`import refuses ${name}`, () => {
    let text = broken;
    if (typeof broken === "function") {
      const file = exported(sample());
      broken(file);
      text = JSON.stringify(file);
    }
    assert.throws(() => fromJSON(/** @type {string} */ (text)), (error) => {
      assert.ok(error instanceof ImportError, `an ImportError, not ${error}`);
      assert.equal(error.name, "ImportError");
      if (expected.endsWith(": ")) assert.ok(error.message.startsWith(expected), error.message);
      else assert.equal(error.message, expected);
      return true;
    });
  });
}

test("the sample itself imports, so each refusal above is down to its one change", () => {
  assert.doesNotThrow(() => fromJSON(JSON.stringify(exported(sample()))));
  assert.doesNotThrow(() => fromJSON(`\uFEFF${toJSON(sample())}`), "a byte order mark is not an error");
});

// --- Markdown

/**
 * The transcript's blocks as marked reads them (blank space left out).
 * @param {string} markdown
 * @returns {any[]}
 */
function blocksOf(markdown) {
  return new Lexer().lex(markdown).filter((token) => token.type !== "space");
}

/** The text a reader sees in a block (escapes undone, emphasis and code spans as their text). @param {any} token */
function seen(token) {
  if (token.tokens) return token.tokens.map(seen).join("");
  return token.type === "escape" ? token.text : token.text ?? token.raw;
}

test("the transcript: title, prompt as a quote, each turn, tool calls with their outcome, notices", () => {
  const blocks = blocksOf(toMarkdown(sample()));
  const shape = blocks.map((b) => (b.type === "paragraph" || b.type === "heading" ? `${b.type}: ${seen(b)}` : b.type));
  assert.deepEqual(shape, [
    "heading: Budget 2027: Q1?",
    "paragraph: Model: claude",
    "blockquote",
    "paragraph: You",
    "paragraph: What is 6 × 7? Show it with code.",
    "paragraph: Assistant",
    "paragraph: Let me run it.",
    "heading: Tool call: python.run (ok, 1.2 s)",
    "paragraph: Arguments:",
    "code",
    "paragraph: Result:",
    "code",
    "code",
    "heading: Tool call: hash.sha256 (error, 30.0 s)",
    "paragraph: Arguments:",
    "code",
    "paragraph: Error (code -32001):",
    "code",
    "paragraph: Assistant",
    "paragraph: It is 42.",
    "paragraph: Stopped.",
  ]);
  assert.equal(blocks[0].depth, 1);
  assert.equal(blocks[2].text, "**System prompt**\n\nBe brief.\n\nAnswer in `Python`.");
  assert.equal(blocks[3].tokens[0].type, "strong");
  assert.equal(blocks[7].depth, 4);
  assert.equal(blocks[9].lang, "json");
  assert.deepEqual(JSON.parse(blocks[9].text), { code: CODE }, "arguments are JSON, backticks and all");
  assert.equal(blocks[11].text, "```\n42", "a result holding ``` stays one block");
  assert.equal(blocks[12].lang, "json");
  assert.deepEqual(JSON.parse(blocks[12].text), { answer: 42, unit: null });
  assert.equal(blocks[17].text, "the call timed out after 30 s");
  assert.equal(blocks[20].tokens[0].type, "em", "notices are in italics");
});

test("an answer cut off inside a code block does not swallow the rest of the transcript", () => {
  const conversation = sample();
  conversation.messages[4].content = "Here:\n```python\nprint(";
  const blocks = blocksOf(toMarkdown(conversation));
  const code = blocks.at(-2);
  assert.equal(code.type, "code");
  assert.equal(code.text, "print(");
  assert.equal(blocks.at(-1).tokens[0].type, "em", "the notice after it is still a notice");
});

test("failures, denials and odd arguments are shown for what they are", () => {
  const conversation = sample();
  conversation.messages.splice(1, 5, {
    role: "assistant", content: null, tool_calls: ["u", "d", "r", "s", "e"].map((id) => (
      { id, type: "function", function: { name: "x", arguments: "{}" } })),
  }, {
    role: "tool", tool_call_id: "u", content: "Error: there is no tool named \"x\", so nothing ran.",
    cloche: { tool: "x", args: "not json", status: "error", startedAt: 1, elapsedMs: 0 },
  }, {
    role: "tool", tool_call_id: "d", content: "The user denied this call, so it did not run.",
    cloche: { tool: "net.fetch", args: { url: "https://example.com" }, status: "denied", startedAt: 1, elapsedMs: 0 },
  }, {
    role: "tool", tool_call_id: "r", content: "Tool error: no such file",
    cloche: {
      tool: "python.run", args: {}, status: "error", startedAt: 1, elapsedMs: 65_000,
      result: { content: [{ type: "text", text: "no such file" }, { type: "image", mimeType: "image/png", data: "" }], isError: true },
    },
  }, {
    role: "tool", tool_call_id: "s", content: "{\"b\": 1, \"a\": [2]}",
    cloche: {
      tool: "stats.describe", args: {}, status: "ok", startedAt: 1, elapsedMs: 999.6,
      result: { content: [{ type: "text", text: "{\"b\": 1, \"a\": [2]}" }], structuredContent: { a: [2], b: 1 } },
    },
  }, {
    role: "tool", tool_call_id: "e", content: "(the tool returned no content)",
    cloche: { tool: "hash.sha256", args: {}, status: "ok", startedAt: 1, elapsedMs: 3, result: { content: [] } },
  });
  const shape = blocksOf(toMarkdown(conversation)).slice(5)
    .map((b) => (b.type === "code" ? `code: ${b.text}` : `${b.type}: ${seen(b)}`));
  assert.deepEqual(shape, [
    "heading: Tool call: x (error, 0 ms)",
    "paragraph: Arguments, as sent (not a JSON object):",
    "code: not json",
    "paragraph: Error:",
    "code: Error: there is no tool named \"x\", so nothing ran.",
    "heading: Tool call: net.fetch (denied)",
    "paragraph: Arguments:",
    "code: {\n  \"url\": \"https://example.com\"\n}",
    "paragraph: The user denied this call, so it did not run.",
    "heading: Tool call: python.run (error, 1 min 5 s)",
    "paragraph: No arguments.",
    "paragraph: Error:",
    "code: no such file\n[image/png content omitted]",
    "heading: Tool call: stats.describe (ok, 1.0 s)",
    "paragraph: No arguments.",
    "paragraph: Result:",
    "code: {\n  \"a\": [\n    2\n  ],\n  \"b\": 1\n}",
    "heading: Tool call: hash.sha256 (ok, 3 ms)",
    "paragraph: No arguments.",
    "paragraph: Result:",
    "paragraph: (no content)",
  ]);
});

test("titles, tool names and notices are shown as text, never as Markdown or HTML", () => {
  const conversation = {
    ...sample(), title: "<script>alert(1)</script> *bold* # [link](x)", systemPrompt: "", model: "",
    messages: [
      { role: "notice", kind: "error", text: "The relay said <b>no</b>\n\n_twice_ & `more`" },
    ],
  };
  conversation.messages.unshift({ role: "user", content: "Hi" }, {
    role: "assistant", content: "", tool_calls: [{ id: "c", type: "function", function: { name: "t", arguments: "{}" } }],
  }, {
    role: "tool", tool_call_id: "c", content: "ok",
    cloche: { tool: "odd`name``", args: {}, status: "ok", startedAt: 0, elapsedMs: 1, result: { content: [] } },
  });
  const markdown = toMarkdown(conversation);
  const blocks = blocksOf(markdown);
  assert.ok(!blocks.some((b) => b.type === "html"), markdown);
  const plain = [blocks[0], blocks.at(-1).tokens[0]].flatMap((b) => b.tokens);
  assert.deepEqual([...new Set(plain.map((t) => t.type))].sort(), ["escape", "text"], markdown);
  assert.equal(seen(blocks[0]), "<script>alert(1)</script> *bold* # [link](x)");
  assert.equal(blocks.find((b) => b.type === "heading" && b.depth === 4).tokens[1].text, "odd`name``");
  assert.equal(seen(blocks.at(-1)), "The relay said <b>no</b> _twice_ & `more`");
});

// --- File names

test("the file name comes from the title, in lower case with dashes", () => {
  /** @param {Partial<ReturnType<typeof sample>>} fields */
  const named = (fields) => ({ ...sample(), ...fields });
  assert.equal(exportFileName(sample(), "md"), "budget-2027-q1.md");
  assert.equal(exportFileName(sample(), ".json"), "budget-2027-q1.json");
  assert.equal(exportFileName(named({ title: "Café résumé — naïve" }), "md"), "cafe-resume-naive.md");
  assert.equal(exportFileName(named({ title: "../../etc/passwd" }), "md"), "etc-passwd.md");
  assert.equal(exportFileName(named({ title: "CON" }), "md"), "con-conversation.md");
  assert.equal(exportFileName(named({ title: "" }), "md"), "what-is-6-7-show-it-with-code.md", "untitled: its first message");
  assert.equal(exportFileName(named({ title: "", messages: [] }), "md"), "conversation.md");
  assert.equal(exportFileName(named({ title: "?!… 🙂" }), "md"), "conversation.md");
  const long = exportFileName(named({ title: "the quarterly budget review ".repeat(5) }), "md");
  assert.equal(long, "the-quarterly-budget-review-the-quarterly-budget-review-the.md", "cut at a word, 60 at most");
});

test("attached files travel with the export and are listed in the Markdown", () => {
  const conversation = sample();
  const info = { id: "att-0123abcd", name: "sales.csv", mediaType: "text/csv", size: 1200 };
  conversation.messages[0] = { ...conversation.messages[0], cloche: { attachments: [info] } };
  Object.assign(conversation, { attachments: [{ ...info, base64: "YSwxCg==" }] });
  const imported = fromJSON(toJSON(conversation), { now: 9_000, newId: () => "fresh-id" });
  assert.deepEqual(imported.attachments, conversation.attachments);
  assert.deepEqual(imported.messages[0].cloche.attachments, [info]);
  assert.match(toMarkdown(conversation), /- 📎 sales\.csv \(text\/csv, 1\.2 KB\) \(att-0123abcd\)/);

  const broken = JSON.parse(toJSON(conversation));
  delete broken.conversation.attachments[0].base64;
  assert.throws(() => fromJSON(JSON.stringify(broken)), /attachments\[0\]\.base64/);
  broken.conversation.attachments[0] = { ...info, id: "file-1", base64: "" };
  assert.throws(() => fromJSON(JSON.stringify(broken)), /attachments\[0\]\.id/);
});
