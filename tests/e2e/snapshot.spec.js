// Python workers started from a memory snapshot (docs/performance.md): the first visit makes one,
// a repeat visit starts from it, and every tool answers as it does in a worker started afresh;
// a snapshot Pyodide refuses is dropped and the page carries on.
import { test, expect } from "@playwright/test";

/** One call of every Python tool the page boots with (cloche-tools-date and -web start on demand). */
const CALLS = [
  ["csv.summary", { text: "name,age\nada,36\nalan,41\n" }],
  ["json.format", { text: '{"b": 1, "a": [1, 2]}', sort_keys: true }],
  ["json.query", { data: { items: [{ id: 1 }, { id: 2 }] }, path: "items[*].id" }],
  ["python.run", { code: "import sys, json\nprint(json.dumps(sorted(m for m in ('json', 'cloche') if m in sys.modules)))\n6 * 7" }],
  ["regex.replace", { pattern: "(\\w+)@", replacement: "<\\1>@", text: "ada@example.org" }],
  ["regex.search", { pattern: "\\d+", text: "a1 b22 c333" }],
  ["text.stats", { text: "the quick brown fox jumps over the lazy dog" }],
];

/** @param {import("@playwright/test").Page} page */
async function pythonReady(page) {
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
}

/** How each Python worker of the page started, and the page's counts. @param {import("@playwright/test").Page} page */
async function starts(page) {
  return page.evaluate(() => ({
    counts: { ...window.clocheBootAssets.counts },
    workers: Object.fromEntries([...window.cloche.host.workers.values()]
      .filter((w) => w.spec.runtime === "python").map((w) => [w.spec.name, w.info.started])),
  }));
}

/** @param {import("@playwright/test").Page} page */
async function callAll(page) {
  return page.evaluate(async (calls) => {
    const results = {};
    for (const [name, args] of calls) {
      const result = await window.cloche.host.callTool(name, args);
      results[name] = { isError: Boolean(result.isError), content: result.content, structured: result.structuredContent };
    }
    return results;
  }, CALLS);
}

/** The stored snapshots' keys and sizes. @param {import("@playwright/test").Page} page */
async function stored(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open("cloche-snapshots", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("snapshots");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const store = open.result.transaction("snapshots").objectStore("snapshots");
      const keys = store.getAllKeys();
      const values = store.getAll();
      values.onsuccess = () => { resolve(keys.result.map((key, i) => [key, values.result[i].length])); open.result.close(); };
    };
  }));
}

/** @param {import("@playwright/test").Page} page */
async function randomDraws(page) {
  return page.evaluate(async () => {
    const draws = [];
    for (let i = 0; i < 2; i++) {
      const result = await window.cloche.host.callTool("python.run",
        { code: "import random, tempfile, os\nprint(random.random(), next(tempfile._get_candidate_names()))" });
      draws.push(result.structuredContent.stdout.trim());
    }
    return draws;
  });
}

test("a repeat visit starts Python from the first visit's snapshot, and every tool answers as in a fresh worker", async ({ browser }) => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  try {
    const first = await context.newPage();
    await first.goto("/");
    await pythonReady(first);
    await expect.poll(async () => (await stored(first)).length, { timeout: 30_000 }).toBe(1);
    const [[, size]] = await stored(first);
    expect(size, "a snapshot holds the interpreter's heap").toBeGreaterThan(8 * 2 ** 20);
    const fresh = await starts(first);
    expect(Object.values(fresh.workers).every((how) => how === "fresh")).toBe(true);
    expect(fresh.counts.made).toBe(1);
    const freshResults = await callAll(first);
    await first.close();

    const again = await context.newPage();
    await again.goto("/");
    await pythonReady(again);
    const restored = await starts(again);
    expect(restored.workers, "every Python worker of the repeat visit starts from the snapshot").toEqual(
      Object.fromEntries(Object.keys(restored.workers).map((name) => [name, "snapshot"])));
    expect(restored.counts.fresh).toBe(0);
    const restoredResults = await callAll(again);
    expect(restoredResults).toEqual(freshResults);
    for (const [name, result] of Object.entries(restoredResults)) expect(result.isError, name).toBe(false);
    // Each python.run call without a session gets an interpreter restored from the same heap:
    // its random state is drawn again, so two calls do not repeat each other.
    const draws = await randomDraws(again);
    expect(draws[0]).not.toBe(draws[1]);
    await again.close();

    // ?snapshots=off starts every worker afresh, with the same answers.
    const off = await context.newPage();
    await off.goto("/?snapshots=off");
    await pythonReady(off);
    const plain = await starts(off);
    expect(Object.values(plain.workers).every((how) => how === "fresh")).toBe(true);
    expect(await callAll(off)).toEqual(freshResults);
  } finally {
    await context.close();
  }
});

test("a snapshot Pyodide refuses is dropped: the workers start afresh, the tools answer, and a new one is made", async ({ browser }) => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  try {
    const first = await context.newPage();
    await first.goto("/");
    await pythonReady(first);
    await expect.poll(async () => (await stored(first)).length, { timeout: 30_000 }).toBe(1);
    const [[key]] = await stored(first);
    // Damaged in storage: the right key, bytes that are no snapshot.
    await first.evaluate((key) => new Promise((resolve, reject) => {
      const open = indexedDB.open("cloche-snapshots", 1);
      open.onsuccess = () => {
        const transaction = open.result.transaction("snapshots", "readwrite");
        transaction.objectStore("snapshots").put(new Uint8Array(4096).fill(7), key);
        transaction.oncomplete = () => { open.result.close(); resolve(null); };
        transaction.onerror = () => reject(transaction.error);
      };
    }), key);
    await first.close();

    const page = await context.newPage();
    const warnings = [];
    page.on("console", (message) => { if (message.type() === "warning") warnings.push(message.text()); });
    await page.goto("/");
    await pythonReady(page);
    const after = await starts(page);
    expect(Object.values(after.workers).every((how) => how === "fresh")).toBe(true);
    expect(after.counts.refused).toBeGreaterThan(0);
    expect(warnings.join("\n")).toMatch(/the Python snapshot was dropped: the snapshot was not restored/);
    const stats = await page.evaluate(() => window.cloche.host.callTool("text.stats", { text: "still works" }));
    expect(stats.isError).toBeFalsy();
    // The next worker to start makes a good one again.
    await expect.poll(async () => (await stored(page)).map(([, size]) => size > 8 * 2 ** 20), { timeout: 60_000 })
      .toEqual([true]);
  } finally {
    await context.close();
  }
});
