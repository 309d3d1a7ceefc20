// The official MCP SDK clients, unchanged, over Cloche's MessagePortTransport to the real Python
// worker: list, call, progress, cancel. The 1.x client (@modelcontextprotocol/sdk) initializes at
// 2025-11-25; the 2.x client (@modelcontextprotocol/client), negotiating, finds 2026-07-28.
import { test, expect } from "@playwright/test";
import { serveFixtures, conformanceWheel } from "./support/host.js";

// The SDK's validator (ajv) compiles schemas with `new Function`, which the page's CSP refuses; the
// SDK client is a test harness here, never part of the app, so only its page skips the CSP.
test.use({ bypassCSP: true });

/**
 * One session of an official client with a fresh Python worker, in the page.
 * @param {import("@playwright/test").Page} page
 * @param {"1.x" | "2.x"} sdk
 */
async function driveThePythonWorker(page, sdk) {
  await serveFixtures(page);
  await page.goto("/healthz");
  return page.evaluate(async ({ wheel, sdk }) => {
    const { wheelsFor } = await import("/app/wheel-source.js");
    const { MessagePortTransport } = await import("/app/transports.js");
    const { spawnModuleWorker } = await import("/app/worker-spawn.js");
    const handle = spawnModuleWorker({
      name: "python", url: "/workers/python-worker.js", options: { packages: ["cloche-tools-text"] },
    });
    await handle.ready;
    const transport = new MessagePortTransport(handle.port);
    /** @type {any} */
    let client;
    /** @type {any} */
    let anyResult;
    /** @type {(params: object, options?: object) => Promise<any>} */
    let callTool;
    /** @type {() => string | undefined} */
    let negotiated;
    if (sdk === "1.x") {
      const { Client, ResultSchema } = await import("/__fixtures__/mcp-sdk-client.js");
      client = new Client({ name: "sdk-conformance", version: "1.0.0" });
      // The 1.x client hands the initialize result's version to a transport that takes it.
      /** @type {string | undefined} */
      let version;
      Object.assign(transport, { setProtocolVersion: (/** @type {string} */ v) => { version = v; } });
      negotiated = () => version;
      anyResult = ResultSchema;
      callTool = (params, options) => client.callTool(params, undefined, options);
    } else {
      const { Client } = await import("/__fixtures__/mcp-client-v2.js");
      // Speaks 2025-11-25 unless asked: "auto" probes server/discover first.
      client = new Client({ name: "sdk-conformance", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
      negotiated = () => `${client.getProtocolEra()} ${client.getNegotiatedProtocolVersion()}`;
      // A Standard Schema that takes any result, for Cloche's own methods.
      anyResult = { "~standard": { version: 1, vendor: "test", validate: (/** @type {any} */ value) => ({ value }) } };
      callTool = (params, options) => client.callTool(params, options);
    }
    await client.connect(transport);
    const server = client.getServerVersion();

    // The worker fetches nothing: the page reads the wheel, checks its sha256 and sends its bytes.
    const wheels = await wheelsFor([wheel], { baseURL: location.href });
    const install = await client.request({ method: "cloche/install", params: { wheels } }, anyResult);
    const tools = (await client.listTools()).tools.map((/** @type {any} */ t) => t.name);

    const stats = await callTool({ name: "text.stats", arguments: { text: "Hello there, world." } });

    const progress = [];
    const counted = await callTool({ name: "conformance.count", arguments: { to: 5 } },
      { onprogress: (/** @type {any} */ p) => progress.push([p.progress, p.total]) });

    const controller = new AbortController();
    const running = callTool({ name: "conformance.count", arguments: { to: 1000, delay: 0.05 } },
      { signal: controller.signal, onprogress: () => controller.abort("enough") });
    const cancelled = await running.then(() => "finished", (/** @type {any} */ error) => String(error));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = await callTool({ name: "conformance.cancellations", arguments: {} });

    // The 2.x client's errors do not show their code in their message.
    const invalid = await callTool({ name: "text.stats", arguments: { nope: 1 } })
      .then(() => "accepted", (/** @type {any} */ error) => `${error.code} ${error.message}`);
    const version = negotiated();
    await client.close();
    handle.terminate();
    return { version, server, install, tools, stats, progress, counted, cancelled, seen, invalid };
  }, { wheel: conformanceWheel(), sdk });
}

/** @param {Awaited<ReturnType<typeof driveThePythonWorker>>} outcome */
function expectAWorkingSession(outcome) {
  expect(outcome.server.name).toBe("cloche-python");
  expect(outcome.install.packages).toEqual(["cloche-conformance-tools"]);
  expect(outcome.tools).toEqual(expect.arrayContaining(["text.stats", "conformance.count", "conformance.cancellations"]));
  expect(outcome.stats.isError).toBeFalsy();
  expect(outcome.stats.structuredContent).toBeTruthy();
  expect(outcome.progress).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  expect(outcome.counted.structuredContent).toEqual({ result: 5 });
  expect(outcome.cancelled).toContain("enough");
  expect(outcome.seen.structuredContent).toEqual({ result: [1000] });
  expect(outcome.invalid).toMatch(/^-32602 .*nope/);
}

test("the official MCP SDK 1.x client drives the Python worker through MessagePortTransport at 2025-11-25", async ({ page }) => {
  const outcome = await driveThePythonWorker(page, "1.x");
  expect(outcome.version).toBe("2025-11-25");
  expectAWorkingSession(outcome);
});

test("the official MCP SDK 2.x client drives the Python worker through MessagePortTransport at 2026-07-28", async ({ page }) => {
  const outcome = await driveThePythonWorker(page, "2.x");
  expect(outcome.version).toBe("modern 2026-07-28");
  expectAWorkingSession(outcome);
});
