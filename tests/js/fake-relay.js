// A stand-in for the model relay: a real node:http server on 127.0.0.1 that answers each request
// with the next scripted reply and records what it was sent. Shared by the relay-client and
// agent-loop tests (a helper, not a test file).
import http from "node:http";

/**
 * @typedef {{method: string, url: string, headers: http.IncomingHttpHeaders, body: any,
 *            closed: Promise<void>}} RecordedRequest
 * @typedef {(req: http.IncomingMessage, res: http.ServerResponse, request: RecordedRequest) => void | Promise<void>} Handler
 * @typedef {{chunks: object[], done?: boolean} | {status: number, json?: any, text?: string,
 *            type?: string} | Handler} Reply
 */

export async function startFakeRelay() {
  /** @type {RecordedRequest[]} */
  const requests = [];
  /** @type {Reply[]} */
  const replies = [];
  const server = http.createServer(async (req, res) => {
    let text = "";
    for await (const part of req) text += part;
    /** @type {RecordedRequest} */
    const request = {
      method: req.method ?? "", url: req.url ?? "", headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
      closed: new Promise((resolve) => res.on("close", () => resolve())),
    };
    requests.push(request);
    const reply = replies.shift();
    if (!reply) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "the fake relay has no reply left", type: "test" } }));
    } else if (typeof reply === "function") {
      await reply(req, res, request);
    } else if ("chunks" in reply) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const chunk of reply.chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      if (reply.done !== false) res.write("data: [DONE]\n\n");
      res.end();
    } else {
      res.writeHead(reply.status, { "content-type": reply.type ?? "application/json" });
      res.end(reply.text ?? JSON.stringify(reply.json));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    baseURL: `http://127.0.0.1:${address.port}/`,
    requests,
    /** Queue replies, one per coming request. @param {Reply[]} more */
    reply(...more) {
      replies.push(...more);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Write raw pieces with a pause between them, so each reaches the client as its own read.
 * @param {http.ServerResponse} res
 * @param {(string | Buffer)[]} pieces
 */
export async function writeSlowly(res, pieces) {
  for (const piece of pieces) {
    res.write(piece);
    await sleep(15);
  }
}

/** A content delta. @param {string} content */
export const textChunk = (content) => ({
  id: "chatcmpl-1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }],
});

/**
 * The deltas of tool calls as an OpenAI stream sends them: id and name first, then the
 * arguments in two pieces.
 * @param {{id: string, name: string, args: string}[]} calls
 */
export function toolCallChunks(calls) {
  return calls.flatMap(({ id, name, args }, index) => {
    const half = Math.floor(args.length / 2);
    return [args.slice(0, half), args.slice(half)].reduce(
      (chunks, piece) => [...chunks, { choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] } }] }],
      [{ choices: [{ index: 0, delta: { role: "assistant", tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] } }] }],
    );
  }).concat([{ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] }]);
}

/** A whole streamed answer in a few deltas. @param {string[]} pieces */
export const answer = (...pieces) => ({
  chunks: [...pieces.map(textChunk), { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }],
});

/** @param {{id: string, name: string, args: string}[]} calls */
export const callTools = (...calls) => ({ chunks: toolCallChunks(calls) });
