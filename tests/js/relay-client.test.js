// The relay client against a real HTTP server standing in for the relay: SSE framing across
// network reads, OpenAI error bodies and other bodies, in-stream errors, tokens, aborts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { listModels, streamChat, RelayError, SSEParser } from "../../web/app/relay-client.js";
import { startFakeRelay, writeSlowly, textChunk } from "./fake-relay.js";

/** @type {Awaited<ReturnType<typeof startFakeRelay>>} */
let relay;
before(async () => { relay = await startFakeRelay(); });
after(() => relay.close());

/** @param {AsyncIterable<any>} stream */
async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** @param {{body?: object, token?: string, signal?: AbortSignal, baseURL?: string}} [options] */
const chat = (options = {}) => streamChat({
  baseURL: options.baseURL ?? relay.baseURL, token: options.token, signal: options.signal,
  body: options.body ?? { model: "fast", messages: [{ role: "user", content: "hi" }] },
});

test("a stream split at awkward places across network reads gives the same chunks", async () => {
  const euro = Buffer.from(JSON.stringify(textChunk("5 €")));
  const at = euro.indexOf(0xe2) + 1;  // between the bytes of "€"
  relay.reply(async (req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
    await writeSlowly(res, [
      ": keep-alive comment\r\n\r\n",
      'data: {"choices":[{"index":0,"delta":{"content":"He"}}]}\r',  // CR here, LF in the next read
      "\n\r\n",
      "data: ", Buffer.concat([euro.subarray(0, at)]), Buffer.concat([euro.subarray(at), Buffer.from("\n\n")]),
      'data: {"choices":[{"index":0,\ndata: "delta":{"content":"!"}}]}\n\n',  // one event, two data lines
      "event: message\nid: 7\nretry: 10\ndata: [DO", "NE]\n\n",
    ]);
    res.end();
  });
  const chunks = await collect(chat({ token: "s3cret", body: { model: "fast", messages: [], temperature: 0 } }));
  assert.deepEqual(chunks.map((chunk) => chunk.choices[0].delta.content), ["He", "5 €", "!"]);
  const request = relay.requests.at(-1);
  assert.equal(request?.method, "POST");
  assert.equal(request?.url, "/v1/chat/completions");
  assert.equal(request?.headers.authorization, "Bearer s3cret");
  assert.deepEqual(request?.body, { model: "fast", messages: [], temperature: 0, stream: true });
});

test("the SSE parser gives the same events at every split point of a stream", () => {
  const stream = "\uFEFFdata: first\n\n: hello\r\n\r\ndata: a\r\ndata:b\r\rdata: c\n\nevent: x\ndata\n\nid: 3\ndata: d\r\n\r\n" +
    "data: never dispatched";
  const whole = new SSEParser();
  const expected = [...whole.push(stream), ...whole.finish()];
  assert.deepEqual(expected, [
    { event: "message", data: "first", id: "" },
    { event: "message", data: "a\nb", id: "" },
    { event: "message", data: "c", id: "" },
    { event: "x", data: "", id: "" },
    { event: "message", data: "d", id: "3" },
  ]);
  for (let i = 0; i <= stream.length; i++) {
    const parser = new SSEParser();
    const events = [...parser.push(stream.slice(0, i)), ...parser.push(stream.slice(i)), ...parser.finish()];
    assert.deepEqual(events, expected, `split at ${i}`);
  }
});

test("a trailing CR ends the last line when the stream closes", () => {
  const parser = new SSEParser();
  assert.deepEqual(parser.push("data: x\r\r"), []);
  assert.deepEqual(parser.finish(), [{ event: "message", data: "x", id: "" }]);
});

test("an OpenAI error body becomes a RelayError with its status, code and message", async () => {
  relay.reply({ status: 400, json: { error: {
    message: "max_tokens 99999 is above this relay's cap of 4096.", type: "invalid_request_error",
    param: "max_tokens", code: "max_tokens_exceeded",
  } } });
  const error = await collect(chat()).catch((e) => e);
  assert.ok(error instanceof RelayError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "max_tokens_exceeded");
  assert.equal(error.param, "max_tokens");
  assert.equal(error.message, "max_tokens 99999 is above this relay's cap of 4096.");
  assert.equal(String(error),
    "The model relay answered 400 (max_tokens_exceeded): max_tokens 99999 is above this relay's cap of 4096.");
});

test("a body that is not an OpenAI error says the status and what came instead", async () => {
  relay.reply({ status: 502, type: "text/html", text: "<html><body>Bad Gateway from nginx</body></html>" });
  const error = await collect(chat()).catch((e) => e);
  assert.ok(error instanceof RelayError);
  assert.equal(error.status, 502);
  assert.match(error.message, /answered 502 Bad Gateway with something other than an OpenAI error \(text\/html\)/);
  assert.match(error.message, /Bad Gateway from nginx/);
});

test("an error event after the stream began throws, after the chunks before it", async () => {
  relay.reply({ chunks: [textChunk("Partial"), { error: {
    message: "The upstream did not answer within 120 s.", type: "upstream_error", param: null, code: "upstream_timeout",
  } }], done: false });
  const seen = [];
  const error = await (async () => {
    for await (const chunk of chat()) seen.push(chunk.choices[0].delta.content);
  })().catch((e) => e);
  assert.deepEqual(seen, ["Partial"]);
  assert.ok(error instanceof RelayError);
  assert.equal(error.code, "upstream_timeout");
  assert.equal(error.inStream, true);
  assert.match(String(error), /stream failed \(upstream_timeout\): The upstream did not answer within 120 s\./);
});

test("a stream that closes before [DONE] is an error, not a silently short answer", async () => {
  relay.reply({ chunks: [textChunk("Cut")], done: false });
  await assert.rejects(collect(chat()), (error) => error instanceof RelayError &&
    error.code === "stream_truncated" && /before its final \[DONE\]/.test(error.message));
});

test("a 200 that is not an event stream is refused with what it was", async () => {
  relay.reply({ status: 200, json: { choices: [] } });
  await assert.rejects(collect(chat()), /answered 200 with application\/json instead of an event stream/);
});

test("models: the ids, with the bearer token; without it, 401 as the body says", async () => {
  relay.reply(async (req, res) => {
    if (req.headers.authorization !== "Bearer t0ken") {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
      res.end(JSON.stringify({ error: {
        message: "This relay requires a valid bearer token.", type: "authentication_error", param: null, code: "invalid_token",
      } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "fast", object: "model" }, { id: "claude", object: "model" }] }));
  });
  const refused = await listModels({ baseURL: relay.baseURL }).catch((e) => e);
  assert.ok(refused instanceof RelayError);
  assert.equal(refused.status, 401);
  assert.equal(refused.code, "invalid_token");
  assert.equal(relay.requests.at(-1)?.url, "/v1/models");
  assert.equal(relay.requests.at(-1)?.headers.authorization, undefined);

  relay.reply({ status: 200, json: { object: "list", data: [{ id: "fast" }, { id: "claude" }] } });
  // A base URL without its trailing slash works too.
  assert.deepEqual(await listModels({ baseURL: relay.baseURL.slice(0, -1), token: "t0ken" }), ["fast", "claude"]);
  assert.equal(relay.requests.at(-1)?.headers.authorization, "Bearer t0ken");
});

test("a 401 with no OpenAI body still reads as unauthorized", async () => {
  relay.reply({ status: 401, type: "text/plain", text: "" });
  const error = await listModels({ baseURL: relay.baseURL }).catch((e) => e);
  assert.ok(error instanceof RelayError);
  assert.equal(error.code, "unauthorized");
  assert.match(String(error), /answered 401 \(unauthorized\): .*401 Unauthorized.*empty body/);
});

test("a relay that cannot be reached is a RelayError with status 0 that says so", async () => {
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (closed.address());
  await new Promise((resolve) => closed.close(() => resolve(undefined)));
  const error = await listModels({ baseURL: `http://127.0.0.1:${port}/` }).catch((e) => e);
  assert.ok(error instanceof RelayError);
  assert.equal(error.status, 0);
  assert.match(String(error), new RegExp(`^Could not reach the model relay \\(network_error\\): http://127\\.0\\.0\\.1:${port}/v1/models`));
});

test("aborting mid-stream rejects at once and closes the connection to the relay", { timeout: 5_000 }, async () => {
  relay.reply(async (req, res, request) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(textChunk("first"))}\n\n`);
    await request.closed;  // then nothing: only the abort can end this
  });
  const controller = new AbortController();
  const seen = [];
  const started = Date.now();
  const error = await (async () => {
    for await (const chunk of chat({ signal: controller.signal })) {
      seen.push(chunk.choices[0].delta.content);
      controller.abort();
    }
  })().catch((e) => e);
  assert.deepEqual(seen, ["first"]);
  assert.equal(error?.name, "AbortError");
  assert.ok(Date.now() - started < 2_000);
  await relay.requests.at(-1)?.closed;  // the relay sees the client go, so it can cancel upstream
});

test("after [DONE] the client lets go of the connection, even if the relay keeps it open", { timeout: 5_000 }, async () => {
  relay.reply(async (req, res, request) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(textChunk("all"))}\n\ndata: [DONE]\n\n`);
    await request.closed;
  });
  assert.equal((await collect(chat())).length, 1);
  await relay.requests.at(-1)?.closed;
});

test("aborting before the relay answers rejects with an AbortError", { timeout: 5_000 }, async () => {
  relay.reply(async (req, res, request) => { await request.closed; });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(collect(chat({ signal: controller.signal })), { name: "AbortError" });
  await relay.requests.at(-1)?.closed;
});
