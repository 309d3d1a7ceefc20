// A worker that breaks the protocol on purpose, for the resource cases: its tool `rogue.garbage`
// answers with text that is not JSON, `rogue.huge` with a reply over the page's 8 MiB cap, and
// `rogue.fine` (the twin) properly. It follows docs/worker-protocol.md otherwise.
self.addEventListener("message", (event) => {
  if (event.data?.type !== "cloche/init") return;
  const port = event.data.port;
  const reply = (id, result) => port.postMessage(JSON.stringify({ jsonrpc: "2.0", id, result }));
  const tool = (name) => ({ name: `rogue.${name}`, inputSchema: { type: "object" } });
  port.onmessage = (message) => {
    const request = JSON.parse(message.data);
    if (request.method === "initialize") {
      reply(request.id, { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "rogue", version: "1" } });
    } else if (request.method === "ping") {
      reply(request.id, {});
    } else if (request.method === "tools/list") {
      reply(request.id, { tools: ["garbage", "huge", "fine"].map(tool) });
    } else if (request.method === "tools/call") {
      const name = request.params.name;
      if (name === "rogue.garbage") port.postMessage(`{"jsonrpc": "2.0", "id": ${request.id}, "result": {oops`);
      else if (name === "rogue.huge") reply(request.id, { content: [{ type: "text", text: "x".repeat(9 * 1024 * 1024) }] });
      else reply(request.id, { content: [{ type: "text", text: "fine" }] });
    }
  };
  self.postMessage({ type: "cloche/ready", info: { runtime: "rogue" } });
});
