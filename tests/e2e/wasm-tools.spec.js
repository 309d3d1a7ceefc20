// WASM tools in a real Chromium, through the page's WorkerHost and the official MCP SDK client:
// every tool listed and called, hash mismatches refused, memory limits and deadlines enforced,
// and no Pyodide downloaded by a page that only uses WASM tools.
import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { callTool, serveFixtures } from "./support/host.js";

const RequestTimeout = -32001;
const registry = () => JSON.parse(readFileSync("dist/registry.json", "utf8"));

/** Serve tool_packages/wasm/<p>/ and tests/wasm_fixtures/<p>/ at /wasm/__test__/<p>/, some files replaced. */
async function serveWasmFixtures(page, replaced = {}) {
  await page.route("**/wasm/__test__/**", (route) => {
    const path = new URL(route.request().url()).pathname.replace("/wasm/__test__/", "");
    if (path in replaced) return route.fulfill({ body: replaced[path], contentType: "application/json" });
    const [name, file] = path.split("/");
    const folder = name === "misbehave" ? "tests/wasm_fixtures" : "tool_packages/wasm";
    const contentType = file.endsWith(".wasm") ? "application/wasm" : "application/json";
    return route.fulfill({ path: `${folder}/${name}/${file}`, contentType });
  });
}

/** A page with a WorkerHost that runs one WASM worker with every first-party package. */
async function startWasmHost(page) {
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto("/healthz");
  const manifests = registry().wasmPackages.map((p) => p.manifest);
  await page.evaluate(async (manifests) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 500 });
    const events = [];
    host.onWorkerEvent = (event) => events.push(event);
    await host.addWorker({ name: "wasm", url: new URL("/workers/wasm-worker.js", location.href),
      options: { manifests } });
    Object.assign(window, { host, events });
  }, manifests);
  return requests;
}

const SAMPLES = {
  "hash.sha256": [{ text: "abc" }, { hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" }],
  "hash.sha1": [{ text: "abc" }, { hex: "a9993e364706816aba3e25717850c26c9cd0d89d" }],
  "hash.md5": [{ base64: "YWJj" }, { hex: "900150983cd24fb0d6963f7d28e17f72" }],
  "grep.search": [{ pattern: "b+", text: "abbcb" }, { count: 2 }],
  "textstats.analyze": [{ text: "one two two" }, { words: 3, uniqueWords: 2 }],
  "codec.base64_encode": [{ text: "hi" }, { base64: "aGk=" }],
  "codec.base64_decode": [{ base64: "aGk=" }, { text: "hi" }],
  "codec.hex_encode": [{ text: "hi" }, { hex: "6869" }],
  "codec.hex_decode": [{ hex: "6869" }, { text: "hi" }],
  "primes.count": [{ limit: 10_000_000 }, { count: 664579, largest: 9999991 }],
  "primes.factor": [{ n: 360 }, { factors: [2, 2, 2, 3, 3, 5] }],
  "primes.check": [{ numbers: [2047, 2147483647] }, { results: [{ n: 2047, prime: false }, { n: 2147483647, prime: true }], primes: 1 }],
};

test("every WASM tool is listed and called through MCP, and Pyodide is never downloaded", async ({ page }) => {
  const requests = await startWasmHost(page);
  const listed = await page.evaluate(() => window.host.tools.map((t) => t.name).sort());
  const expected = registry().wasmPackages.flatMap((p) => p.tools.map((t) => t.name)).sort();
  expect(listed).toEqual(expected);
  expect(Object.keys(SAMPLES).sort()).toEqual(expected);
  for (const [name, [args, answer]] of Object.entries(SAMPLES)) {
    const { result, error } = await callTool(page, name, args);
    expect(error, name).toBeUndefined();
    expect(result.isError, name).toBeFalsy();
    expect(result.structuredContent, name).toMatchObject(answer);
  }
  expect(requests.some((url) => url.includes("/vendor/browser_wasi_shim/"))).toBe(true);
  expect(requests.filter((url) => url.includes("pyodide"))).toEqual([]);
});

test("a WASM package kept beside the dist (/local-packages/) loads into the running worker and answers", async ({ page }) => {
  await startWasmHost(page);
  const loaded = await page.evaluate(async () => {
    await window.host.request("wasm", "cloche/load", { manifestURL: "/local-packages/misbehave/manifest.json" });
    return window.host.callTool("misbehave.echo", { text: "from beside the dist" });
  });
  expect(JSON.stringify(loaded)).toContain("from beside the dist");
});

test("a module whose sha256 does not match its manifest is refused", async ({ page }) => {
  const manifest = JSON.parse(readFileSync("tool_packages/wasm/hash/manifest.json", "utf8"));
  await serveWasmFixtures(page, {
    "hash/manifest.json": JSON.stringify({ ...manifest, name: "hash2", sha256: "0".repeat(64) }),
  });
  await startWasmHost(page);
  const refused = await page.evaluate(() => window.host.request("wasm", "cloche/load",
    { manifestURL: "/wasm/__test__/hash/manifest.json" }).then(() => "loaded", (error) => String(error.message)));
  expect(refused).toMatch(/package hash2: .*hash\.wasm has sha256 [0-9a-f]{64}, but the manifest says 0{64}/);
  expect(await page.evaluate(() => window.host.tools.some((t) => t.name.startsWith("hash2.")))).toBe(false);
});

test("memory growth past the limit fails that call and nothing else; a loop is stopped at its deadline", async ({ page }) => {
  await serveWasmFixtures(page);
  await startWasmHost(page);
  const loaded = await page.evaluate(async () => {
    const changed = new Promise((resolve) => { window.host.onToolsChanged = resolve; });
    const result = await window.host.request("wasm", "cloche/load",
      { manifestURL: "/wasm/__test__/misbehave/manifest.json" }, { replay: true });
    await changed;
    return result;
  });
  expect(loaded).toEqual({ packages: ["misbehave"] });

  const grow = await callTool(page, "misbehave.grow", {});
  expect(grow.result?.isError).toBe(true);
  expect(grow.result?.content[0].text).toMatch(/^the tool ran out of memory \(limit 16 MiB\)/);
  const flood = await callTool(page, "misbehave.flood", {});
  expect(flood.result?.content[0].text).toMatch(/output exceeded its limit of 65536 bytes/);
  expect((await callTool(page, "misbehave.echo", { text: "fine" })).result?.structuredContent).toEqual({ text: "fine" });
  expect((await callTool(page, "hash.md5", { text: "abc" })).result?.isError).toBeFalsy();

  // No timeout passed: the manifest's own limits.deadlineMs, not the host's 30 s default, ends it.
  const { deadlineMs } = JSON.parse(readFileSync("tests/wasm_fixtures/misbehave/manifest.json", "utf8")).limits;
  expect(deadlineMs).toBeLessThan(5_000);
  const started = Date.now();
  const loop = await callTool(page, "misbehave.loop", {});
  const took = Date.now() - started;
  expect(loop.error?.code).toBe(RequestTimeout);
  expect(loop.error?.message).toContain(`misbehave.loop did not finish within ${deadlineMs} ms`);
  expect(took).toBeGreaterThanOrEqual(deadlineMs);
  expect(took).toBeLessThan(deadlineMs + 5_000);  // the deadline, the 500 ms grace, and slack
  await expect.poll(() => page.evaluate(() => window.events.filter((e) => e.type === "restarted").map((e) => e.worker)))
    .toEqual(["wasm"]);
  // The replacement worker has the first-party packages and the one loaded at runtime.
  expect((await callTool(page, "hash.md5", { text: "abc" })).result?.structuredContent?.hex)
    .toBe("900150983cd24fb0d6963f7d28e17f72");
  expect((await callTool(page, "misbehave.echo", { text: "back" })).result?.structuredContent).toEqual({ text: "back" });
});

// The SDK's validator (ajv) compiles schemas with `new Function`, which the page's CSP refuses; the
// SDK client is a test harness here, never part of the app, so only its page skips the CSP.
// The 1.x client (@modelcontextprotocol/sdk) initializes at 2025-11-25; the 2.x client
// (@modelcontextprotocol/client), negotiating, finds 2026-07-28.
test.describe("the official MCP SDK client", () => {
  test.use({ bypassCSP: true });
  for (const [sdk, era] of [["1.x", "2025-11-25"], ["2.x", "2026-07-28"]]) {
    test(`the official MCP SDK ${sdk} client drives the WASM worker through MessagePortTransport at ${era}`, async ({ page }) => {
      await serveFixtures(page);
      await page.goto("/healthz");
      const manifests = registry().wasmPackages.map((p) => p.manifest);
      const outcome = await page.evaluate(async ({ manifests, sdk }) => {
        const { MessagePortTransport } = await import("/app/transports.js");
        const { spawnModuleWorker } = await import("/app/worker-spawn.js");
        const handle = spawnModuleWorker({ name: "wasm", url: "/workers/wasm-worker.js", options: { manifests } });
        await handle.ready;
        const transport = new MessagePortTransport(handle.port);
        let client, negotiated;
        if (sdk === "1.x") {
          const { Client } = await import("/__fixtures__/mcp-sdk-client.js");
          client = new Client({ name: "sdk-conformance", version: "1.0.0" });
          // The 1.x client hands the initialize result's version to a transport that takes it.
          transport.setProtocolVersion = (version) => { negotiated = version; };
        } else {
          const { Client } = await import("/__fixtures__/mcp-client-v2.js");
          // Speaks 2025-11-25 unless asked: "auto" probes server/discover first.
          client = new Client({ name: "sdk-conformance", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
        }
        await client.connect(transport);
        if (sdk === "2.x") negotiated = `${client.getProtocolEra()} ${client.getNegotiatedProtocolVersion()}`;
        const server = client.getServerVersion();
        const tools = (await client.listTools()).tools;
        const hashed = await client.callTool({ name: "hash.sha256", arguments: { text: "abc" } });
        // Valid by the schema, refused by the module itself: a tool error, not a protocol error.
        const failed = await client.callTool({ name: "hash.sha256", arguments: { text: "a", base64: "YQ==" } });
        // The 2.x client's errors do not show their code in their message.
        const refused = (error) => `${error.code} ${error.message}`;
        const invalid = await client.callTool({ name: "hash.sha256", arguments: { text: 1 } })
          .then(() => "accepted", refused);
        const unknown = await client.callTool({ name: "hash.nope", arguments: {} })
          .then(() => "accepted", refused);
        // ping is 2025's: the 2.x client sends none at 2026-07-28.
        if (sdk === "1.x") await client.ping();
        await client.close();
        handle.terminate();
        return { negotiated, server, tools, hashed, failed, invalid, unknown };
      }, { manifests, sdk });
      expect(outcome.negotiated).toBe(sdk === "1.x" ? era : `modern ${era}`);
      expect(outcome.server.name).toBe("cloche-wasm");
      expect(outcome.tools.length).toBe(Object.keys(SAMPLES).length);
      expect(outcome.tools.find((t) => t.name === "hash.sha256").outputSchema.type).toBe("object");
      expect(outcome.hashed.structuredContent.hex).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      expect(outcome.failed.isError).toBe(true);
      expect(outcome.failed.content[0].text).toContain("exactly one");
      expect(outcome.invalid).toMatch(/^-32602 .*text/);
      expect(outcome.unknown).toMatch(/^-32602 .*hash\.nope/);
    });
  }
});
