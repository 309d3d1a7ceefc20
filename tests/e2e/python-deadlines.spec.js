// Deadlines hold against Python tools that never return, and only the guilty worker pays.
import { test, expect } from "@playwright/test";
import { startHost, callTool } from "./support/host.js";

const RequestTimeout = -32001;

test("a busy loop in python.run is interrupted at its deadline and the worker survives", async ({ page }) => {
  await startHost(page);
  const loop = await callTool(page, "python.run", { code: "while True:\n    pass" }, 2_000);
  expect(loop.error?.code).toBe(RequestTimeout);
  expect(loop.error?.message).toContain("python.run did not finish within 2000 ms");
  expect(loop.error?.message).toContain("interrupted and its worker kept running");
  const after = await callTool(page, "python.run", { code: "6 * 7" });
  expect(after.result?.structuredContent?.value).toBe("42");
  expect(await page.evaluate(() => window.events.filter((e) => e.type === "restarted"))).toEqual([]);
});

test("a loop that swallows the interrupt is terminated, replaced, and others keep answering", async ({ page }) => {
  await startHost(page);
  const stubborn = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass";
  const outcome = page.evaluate(async (code) => {
    try {
      await window.host.callTool("python.run", { code }, { timeoutMs: 2_000 });
      return { ok: true };
    } catch (error) {
      return { code: error.code, message: String(error.message) };
    }
  }, stubborn);
  // While python.run's worker spins, a tool on the other worker answers.
  const elsewhere = await callTool(page, "text.stats", { text: "one two three" });
  expect(elsewhere.result?.isError).toBeFalsy();
  expect(JSON.stringify(elsewhere.result?.structuredContent)).toContain("3");

  const stopped = await outcome;
  expect(stopped.code).toBe(RequestTimeout);
  expect(stopped.message).toContain("did not stop within 1500 ms and was restarted");
  const next = await callTool(page, "python.run", { code: "'back'" });
  expect(next.result?.structuredContent?.value).toBe("'back'");
  const restarted = await page.evaluate(() => window.events.filter((e) => e.type === "restarted").map((e) => e.worker));
  expect(restarted).toEqual(["python-python"]);
});

test("a tool package installed at runtime appears through tools/list_changed", async ({ page }) => {
  await startHost(page, { packagesOf: { "python-tools": [] } });
  expect(await page.evaluate(() => window.host.tools.map((t) => t.name))).toEqual([]);
  const installed = await page.evaluate(async () => {
    const changed = new Promise((resolve) => { window.host.onToolsChanged = resolve; });
    const result = await window.host.request("python-tools", "cloche/install",
      { requirements: ["cloche-tools-text", "/cloche_tools_csv-0.1.0-py3-none-any.whl"] }, { replay: true });
    await changed;
    return result;
  });
  expect(installed.packages).toEqual(["cloche-tools-text", "cloche-tools-csv"]);
  await expect.poll(() => page.evaluate(() => window.host.tools.map((t) => t.name).sort()))
    .toEqual(["csv.summary", "text.stats"]);
  const stats = await callTool(page, "text.stats", { text: "a b" });
  expect(stats.result?.isError).toBeFalsy();

  const missing = await page.evaluate(() => window.host.request("python-tools", "cloche/install",
    { requirements: ["no-such-tool-package"] }).then(() => "installed", (error) => String(error.message)));
  expect(missing).toContain("no-such-tool-package");
  const foreign = await page.evaluate(() => window.host.request("python-tools", "cloche/install",
    { requirements: ["https://example.test/x-1.0-py3-none-any.whl"] }).then(() => "installed", (error) => String(error.message)));
  expect(foreign).toContain("only wheels from this page's origin");
});
