// A fake tool worker for host tests: a JS MCP server on the far end of a MessageChannel.
import { JsonRpcPeer, JsonRpcError, ErrorCode } from "../../web/app/jsonrpc.js";
import { MessagePortTransport } from "../../web/app/transports.js";

/**
 * @param {string[]} toolNames  qualified names this worker offers
 * @param {{spawned?: number}} counter  counts spawns, to tell a replacement from the original
 */
export function fakeWorker(toolNames, counter = {}) {
  counter.spawned = (counter.spawned ?? 0) + 1;
  const generation = counter.spawned;
  const { port1, port2 } = new MessageChannel();
  const server = new JsonRpcPeer(new MessagePortTransport(port2));
  let blocked = false;  // a worker stuck in a loop answers nothing, pings included
  /** @type {(() => void) | null} */
  let onInterrupt = null;
  let tools = [...toolNames];
  const listed = () => tools.map((name) => ({ name, inputSchema: { type: "object" } }));
  const guard = (/** @type {(p: any) => any} */ fn) => (/** @type {any} */ params) =>
    blocked ? new Promise(() => {}) : fn(params);

  server.setRequestHandler("initialize", guard((params) => ({
    protocolVersion: params.protocolVersion, capabilities: { tools: { listChanged: true } },
    serverInfo: { name: "fake", version: String(generation) },
  })));
  server.setRequestHandler("ping", guard(() => ({})));
  server.setRequestHandler("tools/list", guard(() => ({ tools: listed() })));
  server.setRequestHandler("cloche/install", guard((params) => {
    tools.push(...params.requirements);
    server.notify("notifications/tools/list_changed");
    return { packages: params.requirements };
  }));
  server.setRequestHandler("tools/call", guard(async ({ name, arguments: args, _meta }) => {
    if (!tools.includes(name)) throw new JsonRpcError(ErrorCode.InvalidParams, `unknown tool ${name}`);
    const tool = name.split(".").pop();
    if (tool === "echo") return { content: [{ type: "text", text: JSON.stringify(args) }], generation };
    if (tool === "progress") {
      for (let i = 1; i <= 3; i++) {
        await server.notify("notifications/progress", { progressToken: _meta.progressToken, progress: i, total: 3 });
      }
      return { content: [] };
    }
    if (tool === "huge") return { content: [{ type: "text", text: "x".repeat(args.size) }] };
    if (tool === "interruptible") {
      // Stands for a busy Python loop: the worker answers nothing until the interrupt buffer stops it.
      blocked = true;
      await new Promise((resolve) => { onInterrupt = () => resolve(0); });
      blocked = false;
      return { content: [{ type: "text", text: "KeyboardInterrupt" }], isError: true };
    }
    if (tool === "stuck") { blocked = true; return new Promise(() => {}); }
    if (tool === "sleep") { await new Promise((r) => setTimeout(r, args.ms)); return { content: [] }; }
    throw new Error(`fake has no behaviour for ${name}`);
  }));
  server.start();

  return {
    port: port1,
    ready: Promise.resolve({ generation }),
    terminate: () => { blocked = true; server.close(); port1.close(); },
    interrupt: () => { onInterrupt?.(); onInterrupt = null; },
    clearInterrupt: () => {},
  };
}
