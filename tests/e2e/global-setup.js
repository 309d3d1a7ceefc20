// Test fixtures built once per run into test-output/fixtures: the official MCP SDK clients bundled
// for the browser, 1.x (@modelcontextprotocol/sdk, speaks 2025-11-25; it imports CommonJS ajv, so
// it cannot load through an import map) and 2.x (@modelcontextprotocol/client, also 2026-07-28),
// and a wheel of test-only tools. Tests serve them with page.route, so they never enter dist/.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export const FIXTURES = "test-output/fixtures";

export default async function globalSetup() {
  mkdirSync(FIXTURES, { recursive: true });
  /** @param {string} contents @param {string} name */
  const bundle = (contents, name) => build({
    stdin: { contents, resolveDir: process.cwd() },
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: `${FIXTURES}/${name}`,
    logLevel: "warning",
  });
  await bundle('export { Client } from "@modelcontextprotocol/sdk/client/index.js";\n' +
    'export { ResultSchema } from "@modelcontextprotocol/sdk/types.js";\n', "mcp-sdk-client.js");
  await bundle('export { Client } from "@modelcontextprotocol/client";\n', "mcp-client-v2.js");
  execFileSync(".venv/bin/python", ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
    "--no-index", "--wheel-dir", FIXTURES, "tests/fixtures/conformance_tools"], { stdio: "inherit" });
}
