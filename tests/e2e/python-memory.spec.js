// The Python heap has a ceiling (dist's pyodide.asm.wasm declares a 2 GiB maximum), and memory a
// call grew and let go is given back by replacing the worker (docs/worker-protocol.md, "Memory").
// python.run's calls without a session end with their interpreter, which gives everything back;
// the replacement is seen on a long-lived worker (python.run's without its isolation stands for a
// tool package's), and a session's data keeps its worker.
import { test, expect } from "@playwright/test";
import { startHost, callTool } from "./support/host.js";

const WORKER = "python-python";
const MiB = 2 ** 20;

/**
 * @param {import("@playwright/test").Page} page
 * @param {{longLived?: boolean}} [options]
 */
async function startPython(page, options = {}) {
  await startHost(page, { packagesOf: { [WORKER]: ["cloche-tools-python"] }, longLived: options.longLived });
  // Each event with the time it came, to measure how long a replacement takes.
  await page.evaluate(() => {
    const record = window.host.onWorkerEvent;
    window.host.onWorkerEvent = (/** @type {any} */ event) => record({ ...event, at: performance.now() });
  });
}

/**
 * The heap of the worker behind python.run (or behind one of its sessions): at boot, and as it
 * last reported.
 * @param {import("@playwright/test").Page} page
 * @param {string} [session]
 */
const heapOf = (page, session) => page.evaluate(async ({ name, session }) => {
  const pool = window.host.workers.get(name);
  const worker = session ? await pool.sessions.get(session).worker : pool;
  return { boot: worker.info.heapBytes, now: worker.heap?.bytes, inUse: worker.heap?.inUseBytes };
}, { name: WORKER, session });

/** @param {import("@playwright/test").Page} page */
const restarts = (page) => page.evaluate(() => window.events.filter((e) => e.type !== "started"));

/** @param {string} code */
const run = (page, code, args = {}) => callTool(page, "python.run", { code, ...args }, 60_000);

test("allocations past the heap's cap raise MemoryError, the code carries on, the next call is answered", async ({ page }) => {
  await startPython(page);
  // 10 x 256 MiB: Pyodide as shipped (a 4 GiB heap) grants all ten; the 2 GiB cap stops the 8th.
  const code = "chunks = []\ntry:\n    while len(chunks) < 10:\n        chunks.append(bytearray(256 * 2**20))\n" +
    "except MemoryError:\n    pass\nlen(chunks)";
  const capped = await run(page, code);
  expect(capped.result?.isError).toBeFalsy();
  const kept = Number(capped.result?.structuredContent?.value);
  expect(kept).toBeGreaterThanOrEqual(6);  // 7 here: the boot heap (30 MiB) plus 7 x 256 MiB
  expect(kept).toBeLessThan(8);  // 2 GiB in all is the cap
  const next = await run(page, "6 * 7");
  expect(next.result?.structuredContent?.value).toBe("42");
});

test("a memory bomb without a session stops at the cap with MemoryError, and its memory goes with its interpreter", async ({ page }) => {
  await startPython(page);
  const bomb = await run(page, "x = []\nwhile True:\n    x.append(bytearray(10**7))");
  expect(bomb.result?.isError).toBe(true);
  expect(bomb.result?.content?.[0]?.text).toMatch(/\nMemoryError\n$/);
  const next = await run(page, "'fresh'");
  expect(next.result?.structuredContent?.value).toBe("'fresh'");
  expect(await restarts(page)).toEqual([]);  // nothing to replace: that interpreter was this call's only
  const spare = await heapOf(page);
  expect(spare.now ?? spare.boot).toBeLessThan(spare.boot + 64 * MiB);
});

test("a memory bomb on a long-lived worker stops at the cap; the worker is replaced and the heap is back at its boot size", async ({ page }) => {
  await startPython(page, { longLived: true });
  const { boot } = await heapOf(page);
  const bomb = await run(page, "x = []\nwhile True:\n    x.append(bytearray(10**7))");
  expect(bomb.result?.isError).toBe(true);
  expect(bomb.result?.content?.[0]?.text).toMatch(/\nMemoryError\n$/);
  const grown = await heapOf(page);
  expect(grown.now).toBeGreaterThan(1900 * MiB);
  expect(grown.now).toBeLessThanOrEqual(2048 * MiB);  // the cap; stock Pyodide went to 3.87 GiB
  // The next call waits for the fresh worker and lands on it.
  const next = await run(page, "'back'");
  expect(next.result?.structuredContent?.value).toBe("'back'");
  const events = await restarts(page);
  expect(events.map((e) => e.type)).toEqual(["restarting", "restarted"]);
  expect(events[0].reason).toMatch(/^its memory grew to 1\.9 GiB, \d+ MiB of it in use; replaced to give it back$/);
  const after = await heapOf(page);
  expect(after.now).toBeLessThan(boot + 64 * MiB);
  test.info().annotations.push({ type: "heap", description:
    `boot ${(boot / MiB).toFixed(0)} MiB, after the bomb ${(grown.now / MiB).toFixed(0)} MiB ` +
    `(${((grown.inUse ?? 0) / MiB).toFixed(0)} MiB in use), after the replacement ` +
    `${(after.now / MiB).toFixed(0)} MiB; replaced in ${Math.round(events[1].at - events[0].at)} ms` });
});

test("a call that grew a long-lived worker's heap by 1 GiB and let it go leaves a fresh worker for the next call", async ({ page }) => {
  await startPython(page, { longLived: true });
  const { boot } = await heapOf(page);
  const big = await run(page, "b = bytearray(1024**3)\nlen(b)");
  expect(big.result?.structuredContent?.value).toBe("1073741824");
  const next = await run(page, "'fresh'");
  expect(next.result?.structuredContent?.value).toBe("'fresh'");
  expect((await restarts(page)).map((e) => e.type)).toEqual(["restarting", "restarted"]);
  expect((await heapOf(page)).now).toBeLessThan(boot + 64 * MiB);
});

test("a python.run session's data keeps its worker: memory in use is not taken away", async ({ page }) => {
  await startPython(page);
  const kept = await run(page, "b = bytearray(1024**3)\nlen(b)", { session: "data" });
  expect(kept.result?.structuredContent?.value).toBe("1073741824");
  const heap = await heapOf(page, "data");
  expect(heap.now - heap.boot).toBeGreaterThan(1000 * MiB);
  expect(heap.inUse).toBeGreaterThan(1024 * MiB);
  const again = await run(page, "len(b)", { session: "data" });
  expect(again.result?.structuredContent?.value).toBe("1073741824");
  expect(await restarts(page)).toEqual([]);
});
