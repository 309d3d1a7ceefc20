// `cloche mcp --http` as the official TypeScript SDK clients meet it: @modelcontextprotocol/sdk 1.x
// (initialize, 2025-11-25) and @modelcontextprotocol/client 2.x (server/discover, 2026-07-28).
// The real command from the venv, a WASM and a Python tool, progress, the bearer token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";

const ROOT = new URL("../../", import.meta.url).pathname;
const PYTHON = `${ROOT}.venv/bin/python`;
const PORT = 8802;
const TOKEN = "token-for-the-typescript-client";
const URL_ = new URL(`http://127.0.0.1:${PORT}/mcp`);

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;
let stderr = "";

/** @param {number} port */
const listening = (port) => new Promise((resolve) => {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("connect", () => { socket.destroy(); resolve(true); });
  socket.on("error", () => resolve(false));
});

before(async () => {
  assert.ok(existsSync(`${ROOT}dist/registry.json`), "dist/ is not built: run `cloche build` first");
  server = spawn(PYTHON, ["-m", "cloche_server.cli", "mcp", "--dist", `${ROOT}dist`,
    "--only", "hash", "--only", "cloche-tools-python", "--http", `127.0.0.1:${PORT}`], {
    env: { ...process.env, CLOCHE_MCP_TOKEN: TOKEN }, stdio: ["ignore", "ignore", "pipe"],
  });
  server.stderr?.on("data", (chunk) => { stderr += chunk; });
  for (let i = 0; i < 300 && !(await listening(PORT)); i++) {
    if (server.exitCode !== null) throw new Error(`cloche mcp --http exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

after(() => { server?.kill("SIGTERM"); });

/** @param {string} token */
async function connect(token) {
  const client = new Client({ name: "cloche-test", version: "0" });
  const transport = new StreamableHTTPClientTransport(URL_, {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

/**
 * The same session for either client: `call` is its callTool, which differs between 1.x and 2.x.
 * @param {{listTools: () => Promise<{tools: {name: string}[]}>}} client
 * @param {(params: {name: string, arguments: object}, options?: object) => Promise<any>} call
 */
async function listAndCall(client, call) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["hash.md5", "hash.sha1", "hash.sha256", "python.run"]);
  const hashed = await call({ name: "hash.sha256", arguments: { text: "abc" } });
  assert.match(String(hashed.structuredContent.hex), /^ba7816bf/);
  /** @type {number[]} */
  const seen = [];
  const ran = await call(
    { name: "python.run", arguments: { code: "progress(1, 2)\nprogress(2, 2)\nsum(range(10))" } },
    { onprogress: (/** @type {{progress: number}} */ p) => { seen.push(p.progress); }, timeout: 60_000 });
  assert.equal(ran.isError, undefined, JSON.stringify(ran.content));
  assert.equal(ran.structuredContent.value, "45");
  assert.deepEqual(seen, [1, 2]);
  const invalid = await call({ name: "hash.sha256", arguments: { txt: 1 } }).catch((e) => e);
  assert.equal(invalid.code, -32602);
  assert.match(String(invalid.message ?? JSON.stringify(invalid)), /txt/);
}

test("the TypeScript SDK 1.x client initializes at 2025-11-25, lists and calls WASM and Python tools", async () => {
  const { client, transport } = await connect(TOKEN);
  try {
    assert.equal(transport.protocolVersion, "2025-11-25");
    await listAndCall(client, (params, options) => client.callTool(params, undefined, options));
  } finally {
    await client.close();
  }
});

test("the TypeScript SDK 2.x client discovers 2026-07-28, lists and calls WASM and Python tools", async () => {
  // The 2.x client speaks 2025 unless asked: "auto" probes server/discover and takes 2026-07-28.
  const client = new ClientV2({ name: "cloche-test", version: "0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(new TransportV2(URL_, {
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
  }));
  try {
    assert.equal(client.getProtocolEra(), "modern");
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    assert.equal(client.getServerVersion()?.name, "cloche");
    await listAndCall(client, (params, options) => client.callTool(params, options));
  } finally {
    await client.close();
  }
});

test("a client with a wrong token is refused", async () => {
  await assert.rejects(connect("wrong"), /401|Unauthorized/);
});
