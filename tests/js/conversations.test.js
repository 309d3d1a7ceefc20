// Conversations kept in IndexedDB (fake-indexeddb stands in for the browser's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { IDBFactory } from "fake-indexeddb";
import { ConversationStore, newConversation, titleOf, UNTITLED, CLOSED_MID_CALL } from "../../web/app/conversations.js";

test("a conversation is kept with its messages, prompt and model, and listed newest first", async () => {
  const indexedDB = new IDBFactory();
  const store = new ConversationStore({ indexedDB });
  const older = newConversation({ model: "fast", now: 1 });
  const newer = newConversation({ model: "claude", systemPrompt: "Be brief.", now: 2 });
  newer.messages.push({ role: "user", content: "What is 6 × 7?" },
    { role: "tool", tool_call_id: "c1", content: "42", cloche: { tool: "python.run", status: "ok" } });
  await store.put(older);
  await store.put(newer);
  newer.messages.push({ role: "user", content: "changed after saving" });
  store.close();

  const reopened = new ConversationStore({ indexedDB });
  assert.deepEqual((await reopened.list()).map((c) => [c.id, c.title]),
    [[newer.id, "What is 6 × 7?"], [older.id, UNTITLED]]);
  const loaded = await reopened.get(newer.id);
  assert.equal(loaded?.systemPrompt, "Be brief.");
  assert.equal(loaded?.model, "claude");
  assert.equal(loaded?.messages.length, 2, "a save keeps the conversation as it was then");
  assert.equal(loaded?.messages[1].cloche.tool, "python.run");
});

test("rename and delete", async () => {
  const store = new ConversationStore({ indexedDB: new IDBFactory() });
  const conversation = newConversation();
  await store.put(conversation);
  conversation.title = "Budget";
  await store.put(conversation);
  assert.deepEqual((await store.list()).map((c) => c.title), ["Budget"]);
  await store.delete(conversation.id);
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.get(conversation.id), undefined);
});

test("the title falls back to the first user message, shortened", () => {
  const conversation = newConversation();
  assert.equal(titleOf(conversation), UNTITLED);
  conversation.messages.push({ role: "user", content: "  Summarise   this very long question about CSV files and their columns please " });
  assert.equal(titleOf(conversation), "Summarise this very long question about CSV fil…");
  conversation.title = " Mine ";
  assert.equal(titleOf(conversation), "Mine");
});

test("a conversation saved mid-run is finished honestly when it is opened again", async () => {
  const store = new ConversationStore({ indexedDB: new IDBFactory() });
  const conversation = newConversation();
  conversation.messages.push(
    { role: "user", content: "run it" },
    { role: "assistant", content: "Running", tool_calls: [{ id: "c1" }], cloche: { streaming: true } },
    { role: "tool", tool_call_id: "c1", content: "", cloche: { tool: "python.run", status: "running" } },
  );
  await store.put(conversation);
  const loaded = await store.get(conversation.id);
  assert.equal(loaded?.messages[1].cloche.streaming, undefined);
  assert.equal(loaded?.messages[2].cloche.status, "stopped");
  assert.equal(loaded?.messages[2].content, CLOSED_MID_CALL);
});
