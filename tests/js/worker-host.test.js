// WorkerHost over fake workers: namespace, routing, deadlines (declared ones too), replacement after
// a deadline or a crash, refused tool names, oversized replies and results.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerHost, declaredDeadline, DEADLINE_META, MAX_DECLARED_DEADLINE_MS } from "../../web/app/worker-host.js";
import { MAX_TEXT_PART_CHARS, MAX_STRUCTURED_CHARS } from "../../web/app/result-cap.js";
import { ErrorCode } from "../../web/app/jsonrpc.js";
import { fakeWorker } from "./fake-worker.js";
import { DEFAULT_HEAP_GROWTH_LIMIT_BYTES } from "../../web/app/worker-host.js";

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


/**
 * A host with one worker "a" whose fake offers `tools`.
 * @param {string[]} tools
 * @param {{meta?: Record<string, object>, interrupt?: boolean, spec?: object, host?: object}} [options]
 *   meta: tools' `_meta`; interrupt: false for a page without an interrupt buffer
 */
async function hostOfOne(tools, options = {}) {
  /** @type {{spawned?: number, handle?: any}} */
  const counter = {};
  const host = new WorkerHost({
    spawn: () => fakeWorker(tools, counter, { meta: options.meta, interrupt: options.interrupt }),
    graceMs: 100,
    ...options.host,
  });
  /** @type {import("../../web/app/worker-host.js").WorkerEvent[]} */
  const events = [];
  host.onWorkerEvent = (event) => events.push(event);
  await host.addWorker({ name: "a", ...options.spec });
  return { host, counter, events };
}

/**
 * How long a call took to fail with a timeout whose message matches.
 * @param {Promise<unknown>} call
 * @param {RegExp} message
 */
async function msUntilTimeout(call, message) {
  const started = Date.now();
  await assert.rejects(call, (error) => error.code === ErrorCode.RequestTimeout && message.test(error.message));
  return Date.now() - started;
}

test("a tool's declared deadline ends its call, not the host's 30 s default", async () => {
  const { host, counter } = await hostOfOne(["wasm.stuck", "wasm.echo"],
    { meta: { "wasm.stuck": { "cloche/deadlineMs": 150 } } });
  try {
    const took = await msUntilTimeout(host.callTool("wasm.stuck", {}),
      /wasm.stuck did not finish within 150 ms.*did not stop within 100 ms and was restarted/);
    assert.ok(took >= 140 && took < 2_000, `took ${took} ms`);
    assert.equal((await host.callTool("wasm.echo", {})).generation, 2);
    assert.equal(counter.spawned, 2);
  } finally { await host.close(); }
});

test("a call's deadline: the caller's, else the tool's, else the worker spec's, else the host's", async () => {
  const meta = { "x.interruptible": { "cloche/deadlineMs": 60 }, "y.interruptible": { "cloche/deadlineMs": "5s" } };
  const tools = ["x.interruptible", "y.interruptible"];
  const withSpec = await hostOfOne(tools, { meta, spec: { callTimeoutMs: 80 }, host: { callTimeoutMs: 20_000 } });
  try {
    const { host } = withSpec;
    await msUntilTimeout(host.callTool("x.interruptible", {}, { timeoutMs: 40 }), /within 40 ms/);
    await msUntilTimeout(host.callTool("x.interruptible", {}), /within 60 ms/);
    // A declared deadline that is not a positive number is not one.
    await msUntilTimeout(host.callTool("y.interruptible", {}), /within 80 ms/);
  } finally { await withSpec.host.close(); }
  const bare = await hostOfOne(tools, { meta, host: { callTimeoutMs: 90 } });
  try {
    await msUntilTimeout(bare.host.callTool("y.interruptible", {}), /within 90 ms/);
  } finally { await bare.host.close(); }
});

test("a caller's deadline of 0 or less is no deadline of its own: the tool's applies", async () => {
  const { host } = await hostOfOne(["py.sleep"], { meta: { "py.sleep": { [DEADLINE_META]: 2_000 } } });
  try {
    const slept = await host.callTool("py.sleep", { ms: 50 }, { timeoutMs: 0 });
    assert.deepEqual(slept, { content: [] });
    await assert.rejects(host.callTool("py.sleep", { ms: 3_000 }, { timeoutMs: -5 }), /within 2000 ms/);
  } finally { await host.close(); }
});

test("a declared deadline is cut to the longest a tool may declare", () => {
  assert.equal(declaredDeadline({ name: "t", inputSchema: {}, _meta: { [DEADLINE_META]: 1e12 } }), MAX_DECLARED_DEADLINE_MS);
  assert.equal(declaredDeadline({ name: "t", inputSchema: {}, _meta: { [DEADLINE_META]: 2_000 } }), 2_000);
  for (const bad of [0, -1, NaN, "2000", null]) {
    assert.equal(declaredDeadline({ name: "t", inputSchema: {}, _meta: { [DEADLINE_META]: bad } }), undefined);
  }
  assert.equal(declaredDeadline({ name: "t", inputSchema: {} }), undefined);
});

test("a worker that crashes is restarted: its calls fail with -32011, then calls work again", async () => {
  const { host, counter, events } = await hostOfOne(["py.sleep", "py.echo"]);
  try {
    const lost = host.callTool("py.sleep", { ms: 3_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    counter.handle.crash("out of memory");
    await assert.rejects(lost, (error) =>
      error.code === ErrorCode.WorkerRestarted && /"a" worker was restarted \(out of memory\)/.test(error.message));
    const after = await host.callTool("py.echo", { again: true });
    assert.equal(after.generation, 2);
    assert.equal(counter.spawned, 2);
    assert.deepEqual(events.map((e) => [e.type, e.reason]),
      [["started", undefined], ["restarting", "out of memory"], ["restarted", "out of memory"]]);
  } finally { await host.close(); }
});

test("a worker whose replacement does not start is removed with a failed event, and can be added again", async () => {
  /** @type {{spawned?: number, handle?: any}} */
  const counter = {};
  let broken = false;
  const host = new WorkerHost({
    spawn: () => {
      if (!broken) return fakeWorker(["py.echo"], counter);
      const handle = fakeWorker(["py.echo"], counter);
      return { ...handle, ready: Promise.reject(new Error("pyodide.asm.wasm is missing")) };
    },
    graceMs: 100,
  });
  /** @type {import("../../web/app/worker-host.js").WorkerEvent[]} */
  const events = [];
  host.onWorkerEvent = (event) => events.push(event);
  try {
    await host.addWorker({ name: "a" });
    broken = true;
    counter.handle.crash("out of memory");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(events.map((e) => e.type), ["started", "restarting", "failed"]);
    assert.match(events[2].reason ?? "", /restarted \(out of memory\) but did not start again: pyodide\.asm\.wasm is missing/);
    assert.equal(host.workers.has("a"), false);
    assert.deepEqual(host.tools, []);
    // The page's Retry: the same spec again, once the cause is gone.
    broken = false;
    await host.addWorker({ name: "a" });
    assert.equal((await host.callTool("py.echo", { back: true })).content[0].text, JSON.stringify({ back: true }));
  } finally { await host.close(); }
});

test("a tool installed into one worker under a name another worker offers is refused with an event", async () => {
  const { host } = await hostWith({ a: ["text.echo"], b: ["py.echo"] });
  const events = [];
  host.onWorkerEvent = (event) => events.push(event);
  try {
    const changed = new Promise((resolve) => { host.onToolsChanged = () => resolve(0); });
    await host.request("b", "cloche/install", { requirements: ["text.echo", "extra.echo"] });
    await changed;
    assert.deepEqual(events, [{ type: "refused-tools", worker: "b", tools: ["text.echo"],
      reason: "another worker already offers these names" }]);
    assert.deepEqual(host.tools.map((t) => [t.name, t.worker]).sort(),
      [["extra.echo", "b"], ["py.echo", "b"], ["text.echo", "a"]]);
    assert.equal((await host.callTool("text.echo", { from: "a" })).content[0].text, '{"from":"a"}');
  } finally { await host.close(); }
});

test("without an interrupt buffer, a busy call still ends at its deadline: the worker is replaced", async () => {
  // py.interruptible would stop at an interrupt; with none, only replacing the worker ends it.
  const { host, counter } = await hostOfOne(["py.interruptible", "py.echo"], { interrupt: false });
  try {
    assert.equal(counter.handle.interrupt, undefined);
    const took = await msUntilTimeout(host.callTool("py.interruptible", {}, { timeoutMs: 50 }),
      /did not finish within 50 ms.*did not stop within 100 ms and was restarted/);
    assert.ok(took < 2_000, `took ${took} ms`);
    assert.equal((await host.callTool("py.echo", {})).generation, 2);
    assert.equal(counter.spawned, 2);
  } finally { await host.close(); }
});

test("a giant text result is cut on the page with a marker; a giant structuredContent is dropped", async () => {
  const { host } = await hostOfOne(["py.huge"]);
  try {
    const size = MAX_TEXT_PART_CHARS + 1_234_567;
    const result = await host.callTool("py.huge", { size });
    assert.equal(result._meta?.["cloche/truncated"], true);
    assert.equal(result.content.length, 1);
    assert.equal(result.content[0].text,
      "x".repeat(MAX_TEXT_PART_CHARS) + "\n[… cut: 1,234,567 more characters; the result was larger than the page shows]");
    const structured = await host.callTool("py.huge", { size: MAX_STRUCTURED_CHARS, structured: true });
    assert.equal(structured.structuredContent, undefined);
    assert.match(structured.content.at(-1).text, /^\[… cut: the structured result, 262,155 characters of JSON/);
    const fine = await host.callTool("py.huge", { size: 1_000, structured: true });
    assert.equal(fine._meta, undefined);
    assert.equal(fine.structuredContent.text.length, 1_000);
  } finally { await host.close(); }
});

const MiB = 2 ** 20;

/**
 * A host over one fake worker that reports its heap like the Python worker (40 MiB at boot).
 * @param {string[]} tools
 * @param {object} [hostOptions]
 * @param {{heapBytes?: number}} [workerOptions]
 */
async function hostWithHeap(tools, hostOptions = {}, workerOptions = { heapBytes: 40 * MiB }) {
  /** @type {{spawned?: number, handle?: any}} */
  const counter = {};
  const host = new WorkerHost({ spawn: () => fakeWorker(tools, counter, workerOptions), graceMs: 100, ...hostOptions });
  /** @type {import("../../web/app/worker-host.js").WorkerEvent[]} */
  const events = [];
  /** @type {() => void} */
  let onRestarted = () => {};
  host.onWorkerEvent = (event) => {
    events.push(event);
    if (event.type === "restarted") onRestarted();
  };
  const restarted = () => new Promise((resolve) => { onRestarted = () => resolve(0); });
  await host.addWorker({ name: "a" });
  return { host, counter, events, restarted };
}

test("a worker whose heap grew far past its boot size is replaced when its call ends; the next call waits for the fresh one", async () => {
  const { host, counter, events } = await hostWithHeap(["py.grow", "py.echo"]);
  try {
    const grown = await host.callTool("py.grow", { bytes: DEFAULT_HEAP_GROWTH_LIMIT_BYTES + 10 * MiB });
    assert.equal(grown.generation, 1);  // the call itself is answered by the worker that grew
    const next = await host.callTool("py.echo", { right: "after" });
    assert.equal(next.generation, 2);
    assert.equal(counter.spawned, 2);
    assert.deepEqual(events.filter((e) => e.type !== "started").map((e) => [e.type, e.reason]), [
      ["restarting", "its memory grew to 562 MiB; replaced to give it back"],
      ["restarted", "its memory grew to 562 MiB; replaced to give it back"],
    ]);
  } finally { await host.close(); }
});

test("a heap that grew less than the limit keeps its worker; the limit is the host's option", async () => {
  const { host, counter } = await hostWithHeap(["py.grow", "py.echo"]);
  try {
    await host.callTool("py.grow", { bytes: 300 * MiB });
    await host.callTool("py.grow", { bytes: 200 * MiB });  // 500 MiB over boot in all: kept
    assert.equal((await host.callTool("py.echo", {})).generation, 1);
    assert.equal(counter.spawned, 1);
  } finally { await host.close(); }
  const strict = await hostWithHeap(["py.grow", "py.echo"], { heapGrowthLimitBytes: 2 * MiB });
  try {
    await strict.host.callTool("py.grow", { bytes: 3 * MiB });
    assert.equal((await strict.host.callTool("py.echo", {})).generation, 2);
    assert.match(strict.events.find((e) => e.type === "restarting")?.reason ?? "", /grew to 43 MiB/);
  } finally { await strict.host.close(); }
});

test("a worker with a grown heap is not replaced while another call is in flight on it, and no call is lost", async () => {
  const { host, counter } = await hostWithHeap(["py.grow", "py.sleep", "py.echo"]);
  try {
    const slow = host.callTool("py.sleep", { ms: 200 });
    await host.callTool("py.grow", { bytes: 2 * 2 ** 30 });
    assert.equal(counter.spawned, 1);  // py.sleep still runs there
    assert.deepEqual(await slow, { content: [] });
    assert.equal((await host.callTool("py.echo", {})).generation, 2);
    assert.equal(counter.spawned, 2);
  } finally { await host.close(); }
});

test("a stopped call whose late reply reports a grown heap gets its worker replaced", async () => {
  const { host, counter, restarted } = await hostWithHeap(["py.grow", "py.echo"]);
  try {
    const replaced = restarted();
    await assert.rejects(host.callTool("py.grow", { bytes: 3 * 2 ** 30, ms: 300 }, { timeoutMs: 50 }),
      /interrupted and its worker kept running/);
    assert.equal(counter.spawned, 1);
    const stoppedAt = Date.now();
    await replaced;  // once the worker answers the stopped call, with its heap at 3 GiB
    assert.ok(Date.now() - stoppedAt > 150, "replaced when the late reply came, not before");
    assert.equal((await host.callTool("py.echo", {})).generation, 2);
  } finally { await host.close(); }
});

test("a worker that does not report its heap (a WASM worker) is never replaced for it", async () => {
  const { host, counter } = await hostWithHeap(["py.grow", "py.echo"], {}, {});
  try {
    await host.callTool("py.grow", { bytes: 3 * 2 ** 30 });
    assert.equal((await host.callTool("py.echo", {})).generation, 1);
    assert.equal(counter.spawned, 1);
  } finally { await host.close(); }
});

test("a heap grown by data still in use keeps its worker; once it is mostly unused, the worker is replaced", async () => {
  const { host, counter, events } = await hostWithHeap(["py.grow", "py.echo"], {},
    { heapBytes: 30 * MiB, inUseBytes: 10 * MiB });
  try {
    await host.callTool("py.grow", { bytes: 1024 * MiB, keep: true });  // a python.run session's data
    await host.callTool("py.grow", { bytes: 400 * MiB });  // and garbage, under the limit
    assert.equal((await host.callTool("py.echo", {})).generation, 1);
    await host.callTool("py.grow", { bytes: 200 * MiB });  // 600 MiB unused now
    assert.equal((await host.callTool("py.echo", {})).generation, 2);
    assert.equal(counter.spawned, 2);
    assert.equal(events.find((e) => e.type === "restarting")?.reason,
      "its memory grew to 1.6 GiB, 1.0 GiB of it in use; replaced to give it back");
  } finally { await host.close(); }
});

test("control: with calls side by side, tool code answers another call with a forged reply", async () => {
  const { host } = await hostOfOne(["a.sleep", "a.forge"]);
  const victim = host.callTool("a.sleep", { ms: 100 });
  const forger = host.callTool("a.forge", { upTo: 50 });
  const [victimResult] = await Promise.all([victim, forger]);
  assert.equal(victimResult.content[0].text, "forged", "without the check, the forgery wins");
  await host.close();
});

test("one call at a time: a forged reply finds no other call to answer, and is dropped and counted", async () => {
  const { host } = await hostOfOne(["a.sleep", "a.forge"], { spec: { oneCallAtATime: true } });
  const victim = host.callTool("a.sleep", { ms: 100 });
  const forger = host.callTool("a.forge", { upTo: 50 });
  const [victimResult, forgerResult] = await Promise.all([victim, forger]);
  assert.deepEqual(victimResult.content, [], "the sleeping call got its own, genuine reply");
  // The forger's own call is answered by the first reply carrying its id: its code is the call.
  assert.equal(forgerResult.content[0].text, "forged");
  await new Promise((resolve) => setTimeout(resolve, 50));  // the rest of the forgeries arrive
  const peer = /** @type {any} */ (host.workers.get("a")).client.peer;
  assert.ok(peer.droppedReplies >= 49, `forged replies to ids not in flight are dropped (${peer.droppedReplies})`);
  await host.close();
});

test("one call at a time: a queued call waits, its deadline starts when it runs, and Stop takes it out of the queue", async () => {
  const { host } = await hostOfOne(["a.sleep"], { spec: { oneCallAtATime: true, callTimeoutMs: 150 } });
  const started = Date.now();
  const first = host.callTool("a.sleep", { ms: 100 });
  const second = host.callTool("a.sleep", { ms: 100 });
  const controller = new AbortController();
  const third = host.callTool("a.sleep", { ms: 100 }, { signal: controller.signal });
  controller.abort(new Error("stopped by the user"));
  await assert.rejects(third, /a.sleep was stopped before it started/);
  await Promise.all([first, second]);
  assert.ok(Date.now() - started >= 200, "the calls ran one after another");
  await host.close();
});

/** @param {WorkerHost} host @param {number} [ms] */
const settle = (host, ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

test("control: a worker trusted with its own list can inject a tool and hide one", async () => {
  const { host } = await hostOfOne(["a.inject", "a.hide", "a.echo"]);
  await host.callTool("a.inject", { name: "web.fetch_x" });
  await host.callTool("a.hide", { name: "a.echo" });
  await settle(host);
  const names = host.tools.map((t) => t.name);
  assert.ok(names.includes("web.fetch_x") && !names.includes("a.echo"), names.join(", "));
  await host.close();
});

test("a worker's tools are the host's: an injected tool is refused, a hidden one restarts the worker", async () => {
  const expectedTools = ["a.inject", "a.hide", "a.echo"];
  const { host, counter, events } = await hostOfOne(expectedTools, { spec: { expectedTools } });
  await host.callTool("a.inject", { name: "web.fetch_x" });
  await settle(host);
  assert.ok(!host.tools.some((t) => t.name === "web.fetch_x"));
  assert.deepEqual(events.filter((e) => e.type === "refused-tools").map((e) => [e.tools, e.reason]),
    [[["web.fetch_x"], "the host did not put these tools into the worker"]]);
  await host.callTool("a.hide", { name: "a.echo" });
  await settle(host, 200);
  assert.ok(events.some((e) => e.type === "restarted" && /stopped offering a.echo/.test(e.reason ?? "")));
  assert.equal(counter.spawned, 2);
  assert.deepEqual((await host.callTool("a.echo", { still: "here" })).content[0].text, '{"still":"here"}');
  await host.close();
});

test("a tools/list that pages on and on is refused at the page's caps, and the tools listed before stay", async () => {
  const { host } = await hostOfOne(["a.flood", "a.echo"]);
  await host.callTool("a.flood", {});
  await settle(host, 300);
  assert.deepEqual(host.tools.map((t) => t.name), ["a.flood", "a.echo"]);
  const client = /** @type {any} */ (host.workers.get("a")).client;
  await assert.rejects(client.listTools(), /over the page's caps \(20 pages, 1000 tools, 4194304 characters\)/);
  await host.close();
});

test("control: with the check off, a call whose code swallows its cancellation keeps its worker", async () => {
  const { host, counter } = await hostOfOne(["a.swallow", "a.echo"], { spec: { keepAfterCancel: true } });
  await assert.rejects(host.callTool("a.swallow", {}, { timeoutMs: 50 }), /interrupted and its worker kept running/);
  assert.equal(counter.spawned, 1);
  await host.close();
});

test("a call still running after its deadline and cancellation ends its worker", async () => {
  const { host, counter, events } = await hostOfOne(["a.swallow", "a.echo"]);
  await assert.rejects(host.callTool("a.swallow", {}, { timeoutMs: 50 }),
    /its code kept running after it was cancelled, so its worker was restarted/);
  assert.equal((await host.callTool("a.echo", { x: 1 })).content[0].text, '{"x":1}');
  assert.equal(counter.spawned, 2);
  assert.ok(events.some((e) => e.type === "restarted"));
  await host.close();
});

// python.run's isolation (isolateCalls): a call without a session gets a worker of its own, a
// session gets its own worker, and none sees another's state. `*.remember` stands for state a call
// leaves in its interpreter.

const ISOLATED = { oneCallAtATime: true, isolateCalls: { session: "session", reset: "reset", maxSessions: 2 } };

/** @param {WorkerHost} host @param {object} args */
const remembered = async (host, args) => JSON.parse((await host.callTool("a.remember", args)).content[0].text);

test("control: without isolation, a call sees what an earlier call, of any session, left behind", async () => {
  const { host } = await hostOfOne(["a.remember"], { spec: { oneCallAtATime: true } });
  await remembered(host, { value: "marker" });
  assert.deepEqual(await remembered(host, { value: "x", session: "b" }), ["marker"]);
  await host.close();
});

test("isolated: calls without a session each get a fresh worker, ended when they return", async () => {
  const { host, counter, events } = await hostOfOne(["a.remember"], { spec: ISOLATED });
  assert.deepEqual(await remembered(host, { value: "marker" }), []);
  assert.deepEqual(await remembered(host, { value: "again" }), [], "the second call does not see the first's marker");
  await settle(host);
  assert.equal(counter.spawned, 3, "the first spare, and one more for each call taken");
  assert.deepEqual(events.map((e) => e.type), ["started"], "a spare's replacement makes no event");
  assert.deepEqual(host.tools.map((t) => t.name), ["a.remember"]);
  await host.close();
});

test("isolated: a session keeps its state in a worker of its own, which no other session or call reaches", async () => {
  const { host } = await hostOfOne(["a.remember"], { spec: ISOLATED });
  assert.deepEqual(await remembered(host, { value: 1, session: "s" }), []);
  assert.deepEqual(await remembered(host, { value: 2, session: "s" }), [1]);
  assert.deepEqual(await remembered(host, { value: 9, session: "t" }), [], "another session starts empty");
  assert.deepEqual(await remembered(host, { value: 9 }), [], "so does a call without one");
  assert.deepEqual(await remembered(host, { value: 3, session: "s" }), [1, 2]);
  assert.deepEqual(await remembered(host, { value: 4, session: "s", reset: true }), [], "a reset starts a new worker");
  assert.deepEqual(host.sessionsOf("a"), ["t", "s"]);
  await host.close();
});

test("isolated: the first calls of one session, sent together, land in the same worker", async () => {
  const { host } = await hostOfOne(["a.remember"], { spec: ISOLATED });
  const both = await Promise.all([remembered(host, { value: 1, session: "s" }), remembered(host, { value: 2, session: "s" })]);
  assert.deepEqual(both, [[], [1]]);
  await host.close();
});

test("isolated: past maxSessions the least recently used idle session is closed; when all are busy a new one is refused", async () => {
  const { host, events } = await hostOfOne(["a.remember", "a.sleep"], { spec: ISOLATED });
  await remembered(host, { value: 1, session: "s" });
  await remembered(host, { value: 1, session: "t" });
  await remembered(host, { value: 2, session: "s" });  // t is now the least recently used
  await remembered(host, { value: 1, session: "u" });
  assert.deepEqual(host.sessionsOf("a"), ["s", "u"]);
  assert.deepEqual(await remembered(host, { value: 2, session: "t" }), [], "t started over");
  assert.deepEqual(host.sessionsOf("a"), ["u", "t"]);
  const busy = [host.callTool("a.sleep", { ms: 200, session: "u" }), host.callTool("a.sleep", { ms: 200, session: "t" })];
  await settle(host, 20);
  await assert.rejects(host.callTool("a.remember", { session: "v" }), (error) =>
    error.code === ErrorCode.InvalidRequest &&
    /cannot start session "v": all 2 sessions \(u, t\) are running a call/.test(error.message));
  await Promise.all(busy);
  assert.deepEqual(events.filter((e) => e.type !== "started"), [], "closing a session is no restart");
  await host.close();
});

test("isolated: a call without a session is cut off at its deadline and its worker discarded, no ping", async () => {
  const { host, counter } = await hostOfOne(["a.stuck", "a.remember"], { spec: ISOLATED });
  await assert.rejects(host.callTool("a.stuck", {}, { timeoutMs: 50 }), (error) =>
    error.code === ErrorCode.RequestTimeout &&
    /within 50 ms and was cancelled; its interpreter, used for this call only, was discarded$/.test(error.message));
  assert.deepEqual(await remembered(host, { value: 1 }), []);
  await settle(host);
  assert.equal(counter.spawned, 3);
  await host.close();
});

test("isolated: a session's stuck worker is restarted, and the error says the session starts over", async () => {
  const { host, events } = await hostOfOne(["a.stuck", "a.remember"], { spec: ISOLATED });
  await remembered(host, { value: 1, session: "s" });
  await assert.rejects(host.callTool("a.stuck", { session: "s" }, { timeoutMs: 50 }),
    /did not stop within 100 ms and was restarted \(session "s" starts over empty\)/);
  assert.deepEqual(await remembered(host, { value: 2, session: "s" }), []);
  assert.deepEqual(events.filter((e) => e.type === "restarted").map((e) => [e.worker, e.session]), [["a", "s"]]);
  await host.close();
});

test("isolated: a call stopped while it waits for the spare never runs; removing the worker ends every session's", async () => {
  const { host } = await hostOfOne(["a.remember"], { spec: ISOLATED });
  /** @type {{terminated: boolean}[]} */
  const spawned = [];
  const spawn = host.spawn;
  host.spawn = (spec) => {
    const handle = spawn(spec);
    const entry = { terminated: false };
    spawned.push(entry);
    const terminate = handle.terminate;
    handle.terminate = () => { entry.terminated = true; terminate(); };
    return handle;
  };
  const first = remembered(host, { value: 1 });
  const controller = new AbortController();
  const second = host.callTool("a.remember", { value: 2 }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(second, /a.remember was stopped before it started/);
  await first;
  await remembered(host, { value: 1, session: "s" });
  await host.removeWorker("a");
  await settle(host);
  assert.deepEqual(host.tools, []);
  assert.ok(spawned.length >= 2, String(spawned.length));
  assert.deepEqual(spawned.filter((w) => !w.terminated), [], "no worker is left running");
});

test("a tool a request installed is listed, and callable, the moment the request returns", async () => {
  const { host } = await hostOfOne(["a.echo"]);
  await host.request("a", "cloche/install", { requirements: ["a.new"] });
  assert.deepEqual(host.tools.map((t) => t.name), ["a.echo", "a.new"]);
  await host.close();
});

/** Wait until `check` holds, polling. @param {() => boolean} check */
async function until(check, ms = 2_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a worker with a standby is replaced by it at a restart, and a new standby starts", async () => {
  const counter = {};
  const host = new WorkerHost({ spawn: () => fakeWorker(["py.stuck", "py.echo"], counter), graceMs: 50 });
  try {
    await host.addWorker({ name: "a", standby: true });
    await until(() => counter.spawned === 2);  // the standby, once nothing else is starting
    await assert.rejects(host.callTool("py.stuck", {}, { timeoutMs: 50 }), /was restarted/);
    const next = await host.callTool("py.echo", { after: "the kill" });
    assert.equal(next.generation, 2, "the standby answered: no boot after the kill");
    await until(() => counter.spawned === 3);
    await assert.rejects(host.callTool("py.stuck", {}, { timeoutMs: 50 }), /was restarted/);
    assert.equal((await host.callTool("py.echo", {})).generation, 3);
  } finally { await host.close(); }
});

test("a standby started for other options or before a replayed install is not used", async () => {
  const counter = {};
  const host = new WorkerHost({ spawn: () => fakeWorker(["py.stuck", "py.echo"], counter), graceMs: 50 });
  const spec = { name: "a", standby: true, options: { packages: ["one"] } };
  try {
    await host.addWorker(spec);
    await until(() => counter.spawned === 2);
    // An install replayed on replacements: the standby missed it, so another starts with it.
    await host.request("a", "cloche/install", { requirements: ["extra.echo"] }, { replay: true });
    await until(() => counter.spawned === 3);
    await assert.rejects(host.callTool("py.stuck", {}, { timeoutMs: 50 }), /was restarted/);
    const replaced = await host.callTool("extra.echo", { x: 1 });
    assert.equal(replaced.generation, 3, "the standby started after the install, which it got");
    await until(() => counter.spawned === 4);
    // The spec changed (a package removed): its standby is stopped and a fresh worker starts.
    spec.options = { packages: [] };
    /** @type {any} */ (host.workers.get("a")).handle.crash("out of memory");
    await until(() => counter.spawned >= 5);
    assert.equal((await host.callTool("py.echo", {})).generation, 5);
  } finally { await host.close(); }
});
