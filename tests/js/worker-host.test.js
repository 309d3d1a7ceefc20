// WorkerHost over fake workers: namespace, routing, deadlines, replacement, oversized replies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerHost } from "../../web/app/worker-host.js";
import { ErrorCode } from "../../web/app/jsonrpc.js";
import { fakeWorker } from "./fake-worker.js";

/** @param {Record<string, string[]>} layout worker name -> its tools */
async function hostWith(layout, options = {}) {
  /** @type {Record<string, {spawned?: number}>} */
  const counters = {};
  const host = new WorkerHost({
    spawn: (spec) => fakeWorker(layout[spec.name], counters[spec.name] ??= {}),
    graceMs: 100,
    ...options,
  });
  for (const name of Object.keys(layout)) await host.addWorker({ name });
  return { host, counters };
}

test("tools of all workers are merged and calls are routed", async () => {
  const { host } = await hostWith({ a: ["text.echo"], b: ["json.echo"] });
  try {
    assert.deepEqual(host.tools.map((t) => [t.name, t.worker]), [["text.echo", "a"], ["json.echo", "b"]]);
    const result = await host.callTool("json.echo", { x: 1 });
    assert.equal(result.content[0].text, '{"x":1}');
    await assert.rejects(host.callTool("nope.tool", {}), (error) =>
      error.code === ErrorCode.InvalidParams && /unknown tool "nope.tool" \(tools: json.echo, text.echo\)/.test(error.message));
  } finally { await host.close(); }
});

test("a worker whose tool name is taken is refused with a clear error", async () => {
  const { host } = await hostWith({ a: ["text.echo"] });
  try {
    const counters = {};
    host.spawn = () => fakeWorker(["text.echo", "other.echo"], counters);
    await assert.rejects(host.addWorker({ name: "b" }),
      /tool "text.echo" is offered by both "a" and "b": rename one package/);
    assert.deepEqual(host.tools.map((t) => t.name), ["text.echo"]);
  } finally { await host.close(); }
});

test("progress notifications reach the caller", async () => {
  const { host } = await hostWith({ a: ["x.progress"] });
  try {
    const seen = [];
    await host.callTool("x.progress", {}, { onProgress: (p) => seen.push(p.progress) });
    assert.deepEqual(seen, [1, 2, 3]);
  } finally { await host.close(); }
});

test("an interrupted call times out and its worker survives", async () => {
  const { host, counters } = await hostWith({ a: ["py.interruptible", "py.echo"] });
  try {
    await assert.rejects(host.callTool("py.interruptible", {}, { timeoutMs: 50 }), (error) =>
      error.code === ErrorCode.RequestTimeout && /interrupted and its worker kept running/.test(error.message));
    assert.equal(counters.a.spawned, 1);
    const after = await host.callTool("py.echo", { ok: true });
    assert.equal(after.generation, 1);
  } finally { await host.close(); }
});

test("a worker that does not stop is replaced; its other calls fail, other workers carry on", async () => {
  const { host, counters } = await hostWith({ a: ["py.stuck", "py.sleep", "py.echo"], b: ["other.echo"] });
  const events = [];
  host.onWorkerEvent = (event) => events.push(event.type);
  try {
    const stuck = host.callTool("py.stuck", {}, { timeoutMs: 100 });
    const bystander = host.callTool("py.sleep", { ms: 10_000 });
    const elsewhere = await host.callTool("other.echo", { during: "the loop" });
    assert.equal(elsewhere.content[0].text, '{"during":"the loop"}');
    await assert.rejects(stuck, (error) =>
      error.code === ErrorCode.RequestTimeout && /did not stop within 100 ms and was restarted/.test(error.message));
    await assert.rejects(bystander, (error) =>
      error.code === ErrorCode.WorkerRestarted && /"a" worker was restarted/.test(error.message));
    const next = await host.callTool("py.echo", { again: 1 });
    assert.equal(next.generation, 2);
    assert.equal(counters.a.spawned, 2);
    assert.equal(counters.b.spawned, 1);
    assert.deepEqual(events.filter((e) => e === "restarted"), ["restarted"]);
  } finally { await host.close(); }
});

test("a reply over the size cap is refused before parsing, naming the cap", async () => {
  const { host } = await hostWith({ a: ["py.huge", "py.echo"] }, { maxMessageLength: 10_000 });
  try {
    await assert.rejects(host.callTool("py.huge", { size: 50_000 }), (error) =>
      error.code === ErrorCode.ResponseTooLarge && /over the page's cap of 10000/.test(error.message));
    const fine = await host.callTool("py.huge", { size: 100 });
    assert.equal(fine.content[0].text.length, 100);
  } finally { await host.close(); }
});

test("installed packages appear through list_changed and are replayed on a fresh worker", async () => {
  const { host } = await hostWith({ a: ["py.stuck", "py.echo"] });
  try {
    const changed = new Promise((resolve) => { host.onToolsChanged = () => resolve(0); });
    await host.request("a", "cloche/install", { requirements: ["extra.echo"] }, { replay: true });
    await changed;
    assert.ok(host.tools.some((t) => t.name === "extra.echo"));
    await assert.rejects(host.callTool("py.stuck", {}, { timeoutMs: 50 }));
    const result = await host.callTool("extra.echo", { after: "restart" });
    assert.equal(result.generation, 2);
  } finally { await host.close(); }
});

test("a call its caller stops is interrupted like a deadline, and the worker keeps answering", async () => {
  const { host, counters } = await hostWith({ a: ["py.interruptible", "py.echo"] });
  try {
    const controller = new AbortController();
    const call = host.callTool("py.interruptible", {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(call, (error) =>
      error.code === ErrorCode.Cancelled && /py.interruptible was stopped; the tool was interrupted and its worker kept running/.test(error.message));
    const after = await host.callTool("py.echo", { ok: true });
    assert.equal(after.generation, 1);
    assert.equal(counters.a.spawned, 1);
  } finally { await host.close(); }
});

test("a stopped call whose worker does not stop gets the worker replaced, so the next call works", async () => {
  const { host, counters } = await hostWith({ a: ["py.stuck", "py.echo"] });
  try {
    const controller = new AbortController();
    const call = host.callTool("py.stuck", {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(call, (error) =>
      error.code === ErrorCode.Cancelled && /did not stop within 100 ms and was restarted/.test(error.message));
    const next = await host.callTool("py.echo", { again: 1 });
    assert.equal(next.generation, 2);
    assert.equal(counters.a.spawned, 2);
    await assert.rejects(host.callTool("py.echo", {}, { signal: AbortSignal.abort() }),
      /was stopped before it started/);
  } finally { await host.close(); }
});

test("a call sent while a stopped worker is being checked waits for the check, and lands on the fresh worker", async () => {
  const { host } = await hostWith({ a: ["py.stuck", "py.echo"] });
  try {
    const controller = new AbortController();
    const stuck = host.callTool("py.stuck", {}, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    // The caller does not wait for the stop to settle: the next call follows at once.
    const next = host.callTool("py.echo", { right: "away" });
    await assert.rejects(stuck, /was restarted/);
    const result = await next;
    assert.equal(result.generation, 2);
  } finally { await host.close(); }
});
