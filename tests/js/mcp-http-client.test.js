// `cloche mcp --http` as the official TypeScript SDK client (@modelcontextprotocol/sdk 1.x) meets
// it: the real command from the venv, a WASM and a Python tool, progress, the bearer token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

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
  return client;
}

test("the TypeScript SDK client lists and calls WASM and Python tools over HTTP", async () => {
  const client = await connect(TOKEN);
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ["hash.md5", "hash.sha1", "hash.sha256", "python.run"]);
    const hashed = await client.callTool({ name: "hash.sha256", arguments: { text: "abc" } });
    assert.match(String(/** @type {any} */ (hashed.structuredContent).hex), /^ba7816bf/);
    /** @type {number[]} */
    const seen = [];
    const ran = await client.callTool(
      { name: "python.run", arguments: { code: "progress(1, 2)\nprogress(2, 2)\nsum(range(10))" } },
      undefined, { onprogress: (p) => { seen.push(p.progress); }, timeout: 60_000 });
    assert.equal(ran.isError, undefined, JSON.stringify(ran.content));
    assert.equal(/** @type {any} */ (ran.structuredContent).value, "45");
    assert.deepEqual(seen, [1, 2]);
    const invalid = await client.callTool({ name: "hash.sha256", arguments: { txt: 1 } }).catch((e) => e);
    assert.match(String(invalid.message ?? JSON.stringify(invalid)), /txt/);
  } finally {
    await client.close();
  }
});

test("a client with a wrong token is refused", async () => {
  await assert.rejects(connect("wrong"), /401|Unauthorized/);
});
