// The agent loop with a fake host and the fake relay's real HTTP streams: what the user sees in
// the conversation, and what the model is sent next.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { runAgent, rerunToolCall, wireMessages, DEFAULT_MAX_STEPS } from "../../web/app/agent-loop.js";
import { streamChat } from "../../web/app/relay-client.js";
import { JsonRpcError } from "../../web/app/jsonrpc.js";
import { startFakeRelay, answer, callTools, textChunk, toolCallChunks, sleep } from "./fake-relay.js";

/** @type {Awaited<ReturnType<typeof startFakeRelay>>} */
let relay;
before(async () => { relay = await startFakeRelay(); });
after(() => relay.close());

const SANDBOXED = { readOnlyHint: true, openWorldHint: false };
const TOOLS = [
  {
    name: "python.run", title: "Run Python", description: "Runs Python code; returns what it printed.",
    inputSchema: { type: "object", properties: { code: { type: "string" } }, required: ["code"] },
    annotations: SANDBOXED, worker: "python",
  },
  {
    name: "hash.sha256", description: "The SHA-256 of a text.",
    inputSchema: { properties: { text: { type: "string" } } },  // no "type": the loop adds it
    annotations: SANDBOXED, worker: "wasm",
  },
  {  // no annotations: it asks first
    name: "net.fetch", description: "Fetches a URL.",
    inputSchema: { type: "object", properties: { url: { type: "string" } } }, worker: "net",
  },
];

/**
 * A conversation, a fake host whose tools answer through `handlers`, and runAgent's options.
 * @param {{handlers?: Record<string, (args: any, options: any) => any>, approve?: (request: any) => Promise<any>,
 *          maxSteps?: number, signal?: AbortSignal, onChange?: (conversation: any) => void}} [setup]
 */
function scene(setup = {}) {
  /** @type {any} */
  const conversation = { systemPrompt: "You are terse.", messages: [{ role: "user", content: "Hi" }], allowedTools: [] };
  /** @type {{name: string, args: any, signal?: AbortSignal}[]} */
  const hostCalls = [];
  /** @type {any[]} */
  const approvals = [];
  /** @type {any[][]} */
  const snapshots = [];
  const firstRequest = relay.requests.length;
  const options = {
    conversation, model: "fast", tools: TOOLS, maxSteps: setup.maxSteps, signal: setup.signal,
    callTool: async (/** @type {string} */ name, /** @type {any} */ args, /** @type {any} */ options) => {
      hostCalls.push({ name, args, signal: options.signal });
      const handler = setup.handlers?.[name];
      if (!handler) throw new Error(`the test gave no handler for ${name}`);
      return handler(args, options);
    },
    chat: (/** @type {object} */ body, /** @type {AbortSignal | undefined} */ signal) =>
      streamChat({ baseURL: relay.baseURL, body, signal }),
    approve: async (/** @type {any} */ request) => {
      approvals.push(request);
      if (!setup.approve) throw new Error("approve was called but the test expected no prompt");
      return setup.approve(request);
    },
    onChange: () => {
      snapshots.push(structuredClone(conversation.messages));
      setup.onChange?.(conversation);
    },
  };
  return {
    conversation, hostCalls, approvals, snapshots, options,
    /** The bodies the model was sent in this scene. */
    sent: () => relay.requests.slice(firstRequest).map((request) => request.body),
    /** The tool messages, in order. */
    toolMessages: () => conversation.messages.filter((/** @type {any} */ m) => m.role === "tool"),
  };
}

const text = (/** @type {string} */ value) => ({ content: [{ type: "text", text: value }] });

test("the model calls a dotted tool, gets its result, and its answer streams in", async () => {
  relay.reply(callTools({ id: "call_1", name: "python_run", args: '{"code": "print(1+1)"}' }), answer("It ", "is 2."));
  const s = scene({ handlers: { "python.run": () => text("2\n") } });
  assert.deepEqual(await runAgent(s.options), { status: "done" });

  assert.deepEqual(s.hostCalls.map(({ name, args }) => ({ name, args })), [{ name: "python.run", args: { code: "print(1+1)" } }]);
  const [user, call, result, reply] = s.conversation.messages;
  assert.equal(s.conversation.messages.length, 4);
  assert.deepEqual(user, { role: "user", content: "Hi" });
  assert.deepEqual(call, { role: "assistant", content: "", tool_calls: [
    { id: "call_1", type: "function", function: { name: "python_run", arguments: '{"code": "print(1+1)"}' } }] });
  assert.equal(result.tool_call_id, "call_1");
  assert.equal(result.content, "2\n");
  assert.equal(result.cloche.tool, "python.run");
  assert.equal(result.cloche.status, "ok");
  assert.deepEqual(result.cloche.args, { code: "print(1+1)" });
  assert.deepEqual(result.cloche.result, text("2\n"));
  assert.equal(typeof result.cloche.elapsedMs, "number");
  assert.deepEqual(reply, { role: "assistant", content: "It is 2." });

  // The UI saw each state: the answer growing while streaming, the call running.
  const lastOf = (/** @type {any[]} */ messages) => messages.at(-1);
  assert.ok(s.snapshots.some((m) => lastOf(m).role === "assistant" && lastOf(m).content === "It " &&
    lastOf(m).cloche?.streaming === true));
  assert.ok(s.snapshots.some((m) => lastOf(m).role === "tool" && lastOf(m).cloche.status === "running"));

  const [first, second] = s.sent();
  assert.equal(s.sent().length, 2);
  assert.equal(first.model, "fast");
  assert.equal(first.stream, true);
  assert.deepEqual(first.messages, [{ role: "system", content: "You are terse." }, { role: "user", content: "Hi" }]);
  assert.deepEqual(first.tools.map((/** @type {any} */ t) => t.function.name), ["python_run", "hash_sha256", "net_fetch"]);
  assert.deepEqual(first.tools[0], { type: "function", function: {
    name: "python_run", description: "Run Python: Runs Python code; returns what it printed.",
    parameters: { type: "object", properties: { code: { type: "string" } }, required: ["code"] } } });
  assert.equal(first.tools[1].function.description, "The SHA-256 of a text.");
  assert.equal(first.tools[1].function.parameters.type, "object");
  assert.deepEqual(second.messages.slice(2), [
    { role: "assistant", content: null, tool_calls: call.tool_calls },
    { role: "tool", tool_call_id: "call_1", content: "2\n" },
  ]);
});

test("two tool calls in one turn run in order and both results reach the model", async () => {
  relay.reply(callTools(
    { id: "a", name: "python_run", args: '{"code": "x"}' },
    { id: "b", name: "hash_sha256", args: '{"text": "abc"}' },
  ), answer("Done."));
  const s = scene({ handlers: { "python.run": () => text("ran"), "hash.sha256": () => text("ba7816bf") } });
  assert.equal((await runAgent(s.options)).status, "done");
  assert.deepEqual(s.hostCalls.map((c) => c.name), ["python.run", "hash.sha256"]);
  // While the first ran, the second was queued as pending.
  assert.ok(s.snapshots.some((m) => {
    const tools = m.filter((x) => x.role === "tool");
    return tools.length === 2 && tools[0].cloche.status === "running" && tools[1].cloche.status === "pending";
  }));
  const tools = s.sent()[1].messages.filter((/** @type {any} */ m) => m.role === "tool");
  assert.deepEqual(tools, [
    { role: "tool", tool_call_id: "a", content: "ran" },
    { role: "tool", tool_call_id: "b", content: "ba7816bf" },
  ]);
});

test("progress of a running call is recorded for its card", async () => {
  relay.reply(callTools({ id: "p", name: "python_run", args: '{"code": "slow()"}' }), answer("ok"));
  const s = scene({ handlers: { "python.run": async (args, { onProgress }) => {
    onProgress({ progressToken: "p1", progress: 1, total: 4, message: "a quarter" });
    await sleep(5);
    onProgress({ progressToken: "p1", progress: 3 });
    return text("finished");
  } } });
  await runAgent(s.options);
  const seen = s.snapshots.map((m) => m.find((x) => x.role === "tool")?.cloche.progress).filter(Boolean);
  assert.deepEqual(seen[0], { progress: 1, total: 4, message: "a quarter" });
  assert.deepEqual(seen.at(-1), { progress: 3 });
  assert.equal(s.toolMessages()[0].cloche.status, "ok");
});

test("structuredContent is sent unless the text already says it; other parts are named", async () => {
  relay.reply(callTools(
    { id: "s1", name: "python_run", args: '{"code": "primes()"}' },
    { id: "s2", name: "hash_sha256", args: '{"text": "x"}' },
  ), answer("ok"));
  const s = scene({ handlers: {
    "python.run": () => ({ content: [{ type: "text", text: "Found 3 primes" },
      { type: "image", mimeType: "image/png", data: "AAECAw==" }], structuredContent: { count: 3, largest: 5 } }),
    "hash.sha256": () => ({ content: [{ type: "text", text: '{"hex": "2d71", "bytes": 1}' }],
      structuredContent: { bytes: 1, hex: "2d71" } }),
  } });
  await runAgent(s.options);
  const [primes, hash] = s.sent()[1].messages.filter((/** @type {any} */ m) => m.role === "tool");
  assert.equal(primes.content, 'Found 3 primes\n[image/png, 4 bytes omitted]\n{"count":3,"largest":5}');
  assert.equal(hash.content, '{"hex": "2d71", "bytes": 1}');
});

test("a tool's error result and a thrown error are both told to the model and shown", async () => {
  relay.reply(callTools(
    { id: "e1", name: "python_run", args: '{"code": "1/0"}' },
    { id: "e2", name: "hash_sha256", args: '{"text": "x"}' },
  ), answer("Sorry, that failed."));
  const s = scene({ handlers: {
    "python.run": () => ({ content: [{ type: "text", text: "ZeroDivisionError: division by zero" }], isError: true }),
    "hash.sha256": () => { throw new JsonRpcError(-32001, "hash.sha256 did not finish within 30000 ms and was cancelled"); },
  } });
  assert.equal((await runAgent(s.options)).status, "done");
  const [failed, thrown] = s.toolMessages();
  assert.equal(failed.cloche.status, "error");
  assert.equal(failed.content, "Tool error: ZeroDivisionError: division by zero");
  assert.equal(thrown.cloche.status, "error");
  assert.deepEqual(thrown.cloche.error, { code: -32001, message: "hash.sha256 did not finish within 30000 ms and was cancelled" });
  const sent = s.sent()[1].messages.filter((/** @type {any} */ m) => m.role === "tool").map((/** @type {any} */ m) => m.content);
  assert.deepEqual(sent, ["Tool error: ZeroDivisionError: division by zero",
    "Tool error: hash.sha256 did not finish within 30000 ms and was cancelled"]);
});

test("approval once: the user is asked each time the tool is called", async () => {
  relay.reply(callTools({ id: "f1", name: "net_fetch", args: '{"url": "https://example.org"}' }), answer("Fetched."));
  const s = scene({ approve: async () => "once", handlers: { "net.fetch": () => text("<html>") } });
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.approvals.length, 1);
  const request = s.approvals[0];
  assert.equal(request.tool.name, "net.fetch");
  assert.deepEqual(request.args, { url: "https://example.org" });
  assert.equal(request.callId, "f1");
  assert.match(request.reason, /declares no annotations/);
  assert.ok(s.snapshots.some((m) => m.find((x) => x.role === "tool")?.cloche.status === "approval"));
  assert.equal(s.toolMessages()[0].content, "<html>");
  assert.deepEqual(s.conversation.allowedTools, []);

  s.conversation.messages.push({ role: "user", content: "Again" });
  relay.reply(callTools({ id: "f2", name: "net_fetch", args: '{"url": "https://example.org"}' }), answer("Again."));
  await runAgent(s.options);
  assert.equal(s.approvals.length, 2);
  assert.equal(s.hostCalls.length, 2);
});

test("approval for the conversation: asked once, then the tool runs without asking", async () => {
  relay.reply(
    callTools({ id: "c1", name: "net_fetch", args: '{"url": "https://a.example"}' }),
    callTools({ id: "c2", name: "net_fetch", args: '{"url": "https://b.example"}' }),
    answer("Both fetched."),
  );
  const s = scene({ approve: async () => "conversation", handlers: { "net.fetch": (args) => text(args.url) } });
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.approvals.length, 1);
  assert.deepEqual(s.conversation.allowedTools, ["net.fetch"]);
  assert.deepEqual(s.hostCalls.map((c) => c.args.url), ["https://a.example", "https://b.example"]);
});

test("a denied call does not run and the model's next request says the user denied it", async () => {
  relay.reply(callTools({ id: "d1", name: "net_fetch", args: '{"url": "https://example.org"}' }), answer("Understood."));
  const s = scene({ approve: async () => "deny" });
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.hostCalls.length, 0);
  const [denied] = s.toolMessages();
  assert.equal(denied.cloche.status, "denied");
  const told = s.sent()[1].messages.find((/** @type {any} */ m) => m.role === "tool");
  assert.equal(told.tool_call_id, "d1");
  assert.match(told.content, /The user denied this call/);
  assert.match(told.content, /Do not call this tool again unless you first ask the user/);
});

test("an unknown tool name is an error the model reads, with the tools it can call", async () => {
  relay.reply(callTools({ id: "u1", name: "web_search", args: '{"q": "x"}' }), answer("I cannot search."));
  const s = scene();
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.hostCalls.length, 0);
  const [unknown] = s.toolMessages();
  assert.equal(unknown.cloche.status, "error");
  assert.equal(unknown.cloche.tool, "web_search");
  assert.equal(s.sent()[1].messages.find((/** @type {any} */ m) => m.role === "tool").content,
    'Error: there is no tool named "web_search", so nothing ran. The tools are: python_run, hash_sha256, net_fetch.');
});

test("arguments that are not a JSON object are an error the model can fix", async () => {
  relay.reply(callTools(
    { id: "j1", name: "python_run", args: '{"code": "print(1)"' },
    { id: "j2", name: "hash_sha256", args: '["abc"]' },
  ), answer("Let me retry."));
  const s = scene({ handlers: {} });
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.hostCalls.length, 0);
  const [truncated, array] = s.toolMessages();
  assert.equal(truncated.cloche.status, "error");
  assert.match(truncated.content, /arguments of this python_run call are not valid JSON/);
  assert.match(truncated.content, /You sent: \{"code": "print\(1\)"\n/);
  assert.match(array.content, /arguments of this hash_sha256 call are JSON array, not an object/);
  // The history stays sendable to every provider: the broken arguments are not resent as they were.
  const call = s.sent()[1].messages.find((/** @type {any} */ m) => m.role === "assistant");
  assert.deepEqual(call.tool_calls.map((/** @type {any} */ c) => c.function.arguments), ["{}", "{}"]);
});

test("the step limit stops a model that keeps calling tools, and says how to go on", async () => {
  relay.reply(
    callTools({ id: "l1", name: "python_run", args: '{"code": "1"}' }),
    callTools({ id: "l2", name: "python_run", args: '{"code": "2"}' }),
  );
  const s = scene({ maxSteps: 2, handlers: { "python.run": (args) => text(args.code) } });
  assert.deepEqual(await runAgent(s.options), { status: "step-limit" });
  assert.equal(s.sent().length, 2);
  assert.equal(s.hostCalls.length, 2);
  const last = s.conversation.messages.at(-1);
  assert.equal(last.role, "notice");
  assert.equal(last.kind, "step-limit");
  assert.match(last.text, /after 2 steps/);
  assert.match(last.text, /Send a message/);
  assert.ok(DEFAULT_MAX_STEPS >= 2);
  assert.ok(!wireMessages(s.conversation).some((m) => /** @type {any} */ (m).role === "notice"));
});

test("stop while streaming keeps the text, drops the half-made tool call, and closes the stream", { timeout: 5_000 }, async () => {
  /** @type {() => void} */
  let toolDeltaSent = () => {};
  const sentToolDelta = new Promise((resolve) => { toolDeltaSent = () => resolve(undefined); });
  relay.reply(async (req, res, request) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(textChunk("Let me check"))}\n\n`);
    const [start, half] = toolCallChunks([{ id: "x1", name: "python_run", args: '{"code": "2+2"}' }]);
    res.write(`data: ${JSON.stringify(start)}\n\ndata: ${JSON.stringify(half)}\n\n`);
    toolDeltaSent();
    await request.closed;
  });
  const controller = new AbortController();
  const s = scene({ signal: controller.signal });
  const running = runAgent(s.options);
  await sentToolDelta;
  await sleep(50);
  controller.abort();
  assert.deepEqual(await running, { status: "stopped" });
  assert.deepEqual(s.conversation.messages.slice(1), [
    { role: "assistant", content: "Let me check" },
    { role: "notice", kind: "stopped", text: "Stopped." },
  ]);
  assert.equal(s.hostCalls.length, 0);
  await relay.requests.at(-1)?.closed;
});

test("stop before any text leaves no empty answer behind", { timeout: 5_000 }, async () => {
  relay.reply(async (req, res, request) => { await request.closed; });
  const controller = new AbortController();
  const s = scene({ signal: controller.signal });
  const running = runAgent(s.options);
  await sleep(50);
  controller.abort();
  assert.equal((await running).status, "stopped");
  assert.deepEqual(s.conversation.messages.map((/** @type {any} */ m) => m.role), ["user", "notice"]);
});

test("stop during a running tool interrupts it through the signal and stops the queued call", { timeout: 5_000 }, async () => {
  relay.reply(callTools(
    { id: "r1", name: "python_run", args: '{"code": "while True: pass"}' },
    { id: "r2", name: "hash_sha256", args: '{"text": "x"}' },
  ));
  const controller = new AbortController();
  /** @type {() => void} */
  let started = () => {};
  const running = new Promise((resolve) => { started = () => resolve(undefined); });
  // This tool never settles by itself: the loop must not wait for it once stopped.
  const s = scene({ signal: controller.signal, handlers: { "python.run": () => { started(); return new Promise(() => {}); } } });
  const run = runAgent(s.options);
  await running;
  controller.abort();
  assert.deepEqual(await run, { status: "stopped" });
  assert.equal(s.hostCalls.length, 1);
  assert.equal(s.hostCalls[0].signal?.aborted, true);
  assert.equal(s.sent().length, 1);
  const tools = s.toolMessages();
  assert.deepEqual(tools.map((m) => [m.cloche.status, m.content]),
    [["stopped", "The user stopped this call."], ["stopped", "The user stopped this call."]]);
  assert.deepEqual(s.conversation.messages.at(-1), { role: "notice", kind: "stopped", text: "Stopped." });
  // Every tool call left in the history is answered, so the next request is valid.
  const wire = /** @type {any[]} */ (wireMessages(s.conversation));
  const answered = new Set(wire.filter((m) => m.role === "tool").map((m) => m.tool_call_id));
  assert.deepEqual(wire.find((m) => m.role === "assistant").tool_calls.map((/** @type {any} */ c) => c.id).filter((/** @type {string} */ id) => !answered.has(id)), []);
});

test("stop while the approval prompt is open ends the wait", { timeout: 5_000 }, async () => {
  relay.reply(callTools({ id: "w1", name: "net_fetch", args: '{"url": "https://example.org"}' }));
  const controller = new AbortController();
  const s = scene({ signal: controller.signal, approve: () => new Promise(() => {}) });
  const run = runAgent(s.options);
  while (!s.approvals.length) await sleep(5);
  controller.abort();
  assert.equal((await run).status, "stopped");
  assert.equal(s.hostCalls.length, 0);
  assert.equal(s.toolMessages()[0].cloche.status, "stopped");
});

test("a relay 5xx becomes an error notice, with no empty answer left behind", async () => {
  relay.reply({ status: 502, json: { error: {
    message: "Could not connect to the upstream.", type: "upstream_error", param: null, code: "upstream_unreachable",
  } } });
  const s = scene();
  assert.deepEqual(await runAgent(s.options), { status: "error" });
  assert.deepEqual(s.conversation.messages.slice(1), [{ role: "notice", kind: "error",
    text: "The model relay answered 502 (upstream_unreachable): Could not connect to the upstream." }]);
});

test("a stream that fails midway keeps the text so far and says what failed", async () => {
  relay.reply(callTools({ id: "m1", name: "python_run", args: '{"code": "1"}' }), {
    chunks: [textChunk("The answer is"), { error: { message: "The upstream went silent.", code: "upstream_timeout" } }],
    done: false,
  });
  const s = scene({ handlers: { "python.run": () => text("1") } });
  assert.equal((await runAgent(s.options)).status, "error");
  const [, , tool, partial, failure] = s.conversation.messages;
  assert.equal(tool.content, "1");
  assert.deepEqual(partial, { role: "assistant", content: "The answer is" });
  assert.equal(failure.kind, "error");
  assert.match(failure.text, /upstream_timeout.*The upstream went silent\./);
});

test("re-running a call replaces its card and what the model sees, without asking again", async () => {
  relay.reply(callTools({ id: "q1", name: "net_fetch", args: '{"url": "https://example.org"}' }), answer("It failed."));
  let attempt = 0;
  const s = scene({ approve: async () => "once", handlers: { "net.fetch": () => {
    attempt++;
    if (attempt === 1) throw new Error("network is down");
    return text("<html>ok</html>");
  } } });
  await runAgent(s.options);
  const [message] = s.toolMessages();
  assert.equal(message.content, "Tool error: network is down");
  assert.equal(s.approvals.length, 1);

  let changes = 0;
  const outcome = await rerunToolCall({
    conversation: s.conversation, message, tools: TOOLS, callTool: s.options.callTool,
    onChange: () => changes++,
  });
  assert.deepEqual(outcome, { status: "ok" });
  assert.equal(s.approvals.length, 1);
  assert.deepEqual(s.hostCalls.at(-1)?.args, { url: "https://example.org" });
  assert.equal(message.cloche.status, "ok");
  assert.equal(message.cloche.error, undefined);
  assert.deepEqual(message.cloche.result, text("<html>ok</html>"));
  assert.ok(changes >= 2);
  const wire = /** @type {any[]} */ (wireMessages(s.conversation));
  assert.equal(wire.find((m) => m.role === "tool").content, "<html>ok</html>");
});

test("what is sent: the system prompt when there is one, no notices, no page fields", () => {
  const conversation = {
    systemPrompt: "",
    messages: /** @type {any[]} */ ([
      { role: "user", content: "Hi" },
      { role: "notice", kind: "error", text: "The model relay answered 502" },
      { role: "assistant", content: "Hello", cloche: { streaming: true } },
    ]),
    allowedTools: [],
  };
  assert.deepEqual(wireMessages(conversation), [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }]);
  conversation.systemPrompt = "Be brief.";
  assert.deepEqual(wireMessages(conversation)[0], { role: "system", content: "Be brief." });
  assert.equal(conversation.messages[2].cloche.streaming, true);  // the conversation itself is untouched
});

test("an attached file reaches the tool by its id: the model sees id and name, the card keeps the id", async () => {
  const FILE_TOOL = {
    name: "hash.sha256", description: "The SHA-256 of bytes.",
    inputSchema: { type: "object", properties: { base64: { type: "string", contentEncoding: "base64" } } },
    annotations: SANDBOXED, worker: "wasm",
  };
  relay.reply(callTools({ id: "f1", name: "hash_sha256", args: '{"base64": "att-0123abcd"}' }), answer("Hashed."));
  const s = scene({ handlers: { "hash.sha256": () => text("ba7816bf") } });
  s.options.tools = [FILE_TOOL];
  s.conversation.messages = [{ role: "user", content: "Hash this", cloche: {
    attachments: [{ id: "att-0123abcd", name: "abc.bin", mediaType: "application/octet-stream", size: 3 }] } }];
  s.conversation.attachments = [{ id: "att-0123abcd", name: "abc.bin", mediaType: "application/octet-stream",
    size: 3, base64: "YWJj" }];
  assert.equal((await runAgent(s.options)).status, "done");
  assert.deepEqual(s.hostCalls.map(({ args }) => args), [{ base64: "YWJj" }]);
  assert.deepEqual(s.toolMessages()[0].cloche.args, { base64: "att-0123abcd" });
  const [first] = s.sent();
  const user = first.messages.find((/** @type {any} */ m) => m.role === "user");
  assert.match(user.content, /^Hash this\n\n/);
  assert.match(user.content, /att-0123abcd: abc\.bin/);
  assert.ok(!JSON.stringify(s.sent()).includes("YWJj"), "the bytes never reach the model");
});

test("an attachment id the conversation does not have fails the call, naming the files it has", async () => {
  relay.reply(callTools({ id: "f2", name: "hash_sha256", args: '{"base64": "att-99999999"}' }), answer("Sorry."));
  const s = scene({ handlers: {} });
  s.options.tools = [{ name: "hash.sha256", inputSchema: { type: "object", properties: {
    base64: { type: "string", contentEncoding: "base64" } } }, annotations: SANDBOXED, worker: "wasm" }];
  s.conversation.attachments = [{ id: "att-0123abcd", name: "abc.bin", mediaType: "", size: 3, base64: "YWJj" }];
  assert.equal((await runAgent(s.options)).status, "done");
  assert.equal(s.hostCalls.length, 0);
  const [message] = s.toolMessages();
  assert.equal(message.cloche.status, "error");
  assert.match(message.content, /att-99999999/);
  assert.match(message.content, /att-0123abcd \(abc\.bin\)/);
});
