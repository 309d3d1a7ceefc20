// Deadlines hold against Python tools that never return, and only the guilty worker pays.
import { test, expect } from "@playwright/test";
import { startHost, callTool, installWheels, spareReady } from "./support/host.js";

const RequestTimeout = -32001;

test("a busy loop in a python.run session is interrupted at its deadline; the session and its worker survive", async ({ page }) => {
  await startHost(page);
  await callTool(page, "python.run", { code: "kept = 'still here'", session: "s" });
  await spareReady(page);  // the session took the spare; its replacement's boot is done
  const loop = await callTool(page, "python.run", { code: "while True:\n    pass", session: "s" }, 2_000);
  expect(loop.error?.code).toBe(RequestTimeout);
  expect(loop.error?.message).toContain("python.run did not finish within 2000 ms");
  expect(loop.error?.message).toContain("interrupted and its worker kept running");
  const after = await callTool(page, "python.run", { code: "kept", session: "s" });
  expect(after.result?.structuredContent?.value).toBe("'still here'");
  expect(await page.evaluate(() => window.events.filter((e) => e.type === "restarted"))).toEqual([]);
});

test("a busy loop in python.run without a session ends at its deadline with its interpreter, at once", async ({ page }) => {
  await startHost(page);
  const started = Date.now();
  const loop = await callTool(page, "python.run", { code: "while True:\n    pass" }, 2_000);
  const took = Date.now() - started;
  expect(loop.error?.code).toBe(RequestTimeout);
  expect(loop.error?.message).toMatch(/did not finish within 2000 ms and was cancelled; its interpreter, used for this call only, was discarded$/);
  expect(took).toBeLessThan(2_000 + 1_000);  // no grace period to wait out: nothing is kept
  const after = await callTool(page, "python.run", { code: "6 * 7" });
  expect(after.result?.structuredContent?.value).toBe("42");
  expect(await page.evaluate(() => window.events.filter((e) => e.type !== "started"))).toEqual([]);
});

test("a loop that swallows the interrupt in a session is terminated, its worker replaced, and others keep answering", async ({ page }) => {
  await startHost(page);
  await callTool(page, "python.run", { code: "kept = 1", session: "s" });
  await spareReady(page);
  const stubborn = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass";
  const outcome = page.evaluate(async (code) => {
    try {
      await window.host.callTool("python.run", { code, session: "s" }, { timeoutMs: 2_000 });
      return { ok: true };
    } catch (error) {
      return { code: error.code, message: String(error.message) };
    }
  }, stubborn);
  // While the session's worker spins, a tool on another worker, and python.run without a session, answer.
  const elsewhere = await callTool(page, "text.stats", { text: "one two three" });
  expect(elsewhere.result?.isError).toBeFalsy();
  expect(JSON.stringify(elsewhere.result?.structuredContent)).toContain("3");
  const sessionless = await callTool(page, "python.run", { code: "'meanwhile'" });
  expect(sessionless.result?.structuredContent?.value).toBe("'meanwhile'");

  const stopped = await outcome;
  expect(stopped.code).toBe(RequestTimeout);
  expect(stopped.message).toContain('did not stop within 1500 ms and was restarted (session "s" starts over empty)');
  const next = await callTool(page, "python.run", { code: "'kept' in globals()", session: "s" });
  expect(next.result?.structuredContent?.value).toBe("False");
  const restarted = await page.evaluate(() => window.events.filter((e) => e.type === "restarted")
    .map((e) => [e.worker, e.session]));
  expect(restarted).toEqual([["python-python", "s"]]);
});

test("a tool package installed at runtime appears through tools/list_changed", async ({ page }) => {
  await startHost(page, { packagesOf: { "python-tools": [] } });
  expect(await page.evaluate(() => window.host.tools.map((t) => t.name))).toEqual([]);
  const installed = await installWheels(page, ["cloche-tools-text", "cloche-tools-csv"]);
  expect(installed.packages).toEqual(["cloche-tools-text", "cloche-tools-csv"]);
  // Listed, and callable, the moment the install returns.
  expect(await page.evaluate(() => window.host.tools.map((t) => t.name).sort())).toEqual(["csv.summary", "text.stats"]);
  const stats = await callTool(page, "text.stats", { text: "a b" });
  expect(stats.result?.isError).toBeFalsy();

  const failure = (/** @type {any[]} */ requirements) => installWheels(page, requirements)
    .then(() => "installed", (error) => String(error.message));
  expect(await failure(["no-such-tool-package"])).toContain("no-such-tool-package is not in this site's pyodide-lock.json");
  expect(await failure([{ url: "https://example.test/x-1.0-py3-none-any.whl", sha256: "0".repeat(64) }]))
    .toContain("only wheels from this page's origin");
  // Asked by name, the worker refuses: it has no network to fetch anything with.
  const byName = await page.evaluate(() => window.host.request("python-tools", "cloche/install",
    { requirements: ["cloche-tools-json"] }).then(() => "installed", (error) => String(error.message)));
  expect(byName).toContain("the worker fetches nothing");
});

test("on a page that is not cross-origin isolated, a busy loop still ends: its worker is replaced", async ({ page }) => {
  // A page of this origin served without COOP and COEP (as a static host might): no
  // SharedArrayBuffer, so no interrupt buffer, and the deadline can only replace the worker.
  await page.route("**/not-isolated.html", (route) => route.fulfill({
    body: "<!doctype html><title>not isolated</title>", contentType: "text/html",
  }));
  await page.goto("/not-isolated.html");
  const outcome = await page.evaluate(async () => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 1_000 });
    await host.addWorker({ name: "python-python", url: new URL("/workers/python-worker.js", location.href),
      interruptible: true, options: { packages: ["cloche-tools-python"] } });
    const loop = await host.callTool("python.run", { code: "while True:\n    pass" }, { timeoutMs: 1_500 })
      .then(() => "finished", (error) => String(error.message));
    const after = await host.callTool("python.run", { code: "6 * 7" });
    return { isolated: self.crossOriginIsolated, loop, after: after.structuredContent.value };
  });
  expect(outcome.isolated).toBe(false);
  expect(outcome.loop).toContain("did not finish within 1500 ms");
  expect(outcome.loop).toContain("did not stop within 1000 ms and was restarted");
  expect(outcome.after).toBe("42");
});
