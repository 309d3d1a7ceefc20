// The official @modelcontextprotocol/sdk Client, unchanged, over Cloche's MessagePortTransport to
// the real Python worker: initialize, list, call, progress, cancel.
import { test, expect } from "@playwright/test";
import { serveFixtures, conformanceWheel } from "./support/host.js";

// The SDK's validator (ajv) compiles schemas with `new Function`, which the page's CSP refuses; the
// SDK client is a test harness here, never part of the app, so only its page skips the CSP.
test.use({ bypassCSP: true });

test("the official MCP SDK client drives the Python worker through MessagePortTransport", async ({ page }) => {
  await serveFixtures(page);
  await page.goto("/healthz");
  const outcome = await page.evaluate(async (wheel) => {
    const { Client, ResultSchema } = await import("/__fixtures__/mcp-sdk-client.js");
    const { wheelsFor } = await import("/app/wheel-source.js");
    const { MessagePortTransport } = await import("/app/transports.js");
    const { spawnModuleWorker } = await import("/app/worker-spawn.js");
    const handle = spawnModuleWorker({
      name: "python", url: "/workers/python-worker.js", options: { packages: ["cloche-tools-text"] },
    });
    await handle.ready;
    const client = new Client({ name: "sdk-conformance", version: "1.0.0" });
    await client.connect(new MessagePortTransport(handle.port));
    const server = client.getServerVersion();

    // The worker fetches nothing: the page reads the wheel, checks its sha256 and sends its bytes.
    const wheels = await wheelsFor([wheel], { baseURL: location.href });
    const install = await client.request({ method: "cloche/install", params: { wheels } }, ResultSchema);
    const tools = (await client.listTools()).tools.map((/** @type {any} */ t) => t.name);

    const stats = await client.callTool({ name: "text.stats", arguments: { text: "Hello there, world." } });

    const progress = [];
    const counted = await client.callTool({ name: "conformance.count", arguments: { to: 5 } }, undefined,
      { onprogress: (/** @type {any} */ p) => progress.push([p.progress, p.total]) });

    const controller = new AbortController();
    const running = client.callTool({ name: "conformance.count", arguments: { to: 1000, delay: 0.05 } },
      undefined, { signal: controller.signal, onprogress: () => controller.abort("enough") });
    const cancelled = await running.then(() => "finished", (/** @type {any} */ error) => String(error));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = await client.callTool({ name: "conformance.cancellations", arguments: {} });

    const invalid = await client.callTool({ name: "text.stats", arguments: { nope: 1 } })
      .then(() => "accepted", (/** @type {any} */ error) => String(error));
    await client.close();
    handle.terminate();
    return { server, install, tools, stats, progress, counted, cancelled, seen, invalid };
  }, conformanceWheel());

  expect(outcome.server.name).toBe("cloche-python");
  expect(outcome.install.packages).toEqual(["cloche-conformance-tools"]);
  expect(outcome.tools).toEqual(expect.arrayContaining(["text.stats", "conformance.count", "conformance.cancellations"]));
  expect(outcome.stats.isError).toBeFalsy();
  expect(outcome.stats.structuredContent).toBeTruthy();
  expect(outcome.progress).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  expect(outcome.counted.structuredContent).toEqual({ result: 5 });
  expect(outcome.cancelled).toContain("enough");
  expect(outcome.seen.structuredContent).toEqual({ result: [1000] });
  expect(outcome.invalid).toContain("-32602");
});
