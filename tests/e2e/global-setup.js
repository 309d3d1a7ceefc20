// Test fixtures built once per run into test-output/fixtures: the official MCP SDK client bundled
// for the browser (its client imports CommonJS ajv, so it cannot load through an import map), and
// a wheel of test-only tools. Tests serve them with page.route, so they never enter dist/.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export const FIXTURES = "test-output/fixtures";

export default async function globalSetup() {
  mkdirSync(FIXTURES, { recursive: true });
  await build({
    stdin: {
      contents: 'export { Client } from "@modelcontextprotocol/sdk/client/index.js";\n' +
        'export { ResultSchema } from "@modelcontextprotocol/sdk/types.js";\n',
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: `${FIXTURES}/mcp-sdk-client.js`,
    logLevel: "warning",
  });
  execFileSync(".venv/bin/python", ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
    "--no-index", "--wheel-dir", FIXTURES, "tests/fixtures/conformance_tools"], { stdio: "inherit" });
}
