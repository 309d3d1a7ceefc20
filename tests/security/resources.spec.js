// Resource cases: tool code that loops, swallows the interrupt, eats memory, recurses, floods its
// output, returns too much or traps; WASM packages whose module or manifest is wrong; a worker that
// sends malformed or oversized JSON-RPC. Each has a twin that stays under the limit and succeeds.
// Every case must end with a clear error, the page must stay responsive, the tools of other
// workers must still answer, and a worker that was replaced must answer again.
import { test, expect } from "@playwright/test";
import { serveRogueWorker } from "./support/rogue.js";
import { readFileSync, writeFileSync } from "node:fs";

const MISBEHAVE = "tests/wasm_fixtures/misbehave";
/** @type {{case: string, limit: string, twin: string, attempt: string, detail: string}[]} */
const results = [];
/** @type {import("@playwright/test").Page} */
let page;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  // Fixtures under /wasm/ and /workers/, the only paths the workers' policy lets them load from.
  await page.route("**/wasm/__test__/**", (route) => {
    const [name, file] = new URL(route.request().url()).pathname.replace("/wasm/__test__/", "").split("/");
    if (name === "broken") return route.fulfill({ body: '{"manifestVersion": 1, "name": "broken", "tools": "nope"}', contentType: "application/json" });
    if (name === "tampered" && file === "manifest.json") {
      const manifest = JSON.parse(readFileSync(`${MISBEHAVE}/manifest.json`, "utf8"));
      return route.fulfill({ body: JSON.stringify({ ...manifest, name: "tampered", sha256: "0".repeat(64) }), contentType: "application/json" });
    }
    const folder = name === "misbehave" || name === "tampered" ? MISBEHAVE : `tool_packages/wasm/${name}`;
    return route.fulfill({ path: `${folder}/${file}`, contentType: file.endsWith(".wasm") ? "application/wasm" : "application/json" });
  });
  await serveRogueWorker(page);
  await page.goto("/healthz");
  await page.evaluate(async () => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 1_000 });
    const url = (/** @type {string} */ path) => new URL(path, location.href);
    await Promise.all([
      host.addWorker({ name: "python-tools", url: url("/workers/python-worker.js"), interruptible: true,
        options: { packages: ["cloche-tools-text"] } }),
      host.addWorker({ name: "python-python", url: url("/workers/python-worker.js"), interruptible: true,
        options: { packages: ["cloche-tools-python"] } }),
      host.addWorker({ name: "wasm", url: url("/workers/wasm-worker.js"),
        options: { manifests: ["/wasm/hash/manifest.json", "/wasm/__test__/misbehave/manifest.json"] } }),
      host.addWorker({ name: "rogue", url: url("/workers/__test__/rogue-worker.js"), callTimeoutMs: 3_000 }),
    ]);
    window.host = host;
    window.events = [];
    host.onWorkerEvent = (event) => window.events.push(event);
    window.call = async (/** @type {string} */ name, /** @type {any} */ args, /** @type {number | undefined} */ timeoutMs) => {
      const started = performance.now();
      try {
        const result = await host.callTool(name, args, timeoutMs ? { timeoutMs } : {});
        const text = result.content?.map((/** @type {any} */ c) => c.text ?? "").join("") ?? "";
        const shown = text.length > 900 ? `${text.slice(0, 600)} … ${text.slice(-300)}` : text;
        return { ok: !result.isError, text: shown, length: text.length, truncated: Boolean(result._meta?.["cloche/truncated"]),
          ms: performance.now() - started };
      } catch (error) {
        return { ok: false, code: /** @type {any} */ (error).code, text: String(/** @type {any} */ (error).message).slice(0, 600),
          ms: performance.now() - started };
      }
    };
  });
});

test.afterAll(async () => {
  writeFileSync("test-output/security/resources.json", `${JSON.stringify(results, null, 2)}\n`);
  const twins = results.filter((r) => r.twin === "ok").length;
  const contained = results.filter((r) => r.attempt === "contained").length;
  console.log(`security: ${results.length} resource cases, ${twins} twins under the limit succeeded, ` +
    `${contained} attempts contained`);
  await page?.close();
});

/** @param {string} name @param {any} args @param {number} [timeoutMs] */
const call = (name, args, timeoutMs) => page.evaluate(([n, a, t]) => window.call(n, a, t), [name, args, timeoutMs]);

/** The page answers at once, and every worker's tools answer. */
async function allWell() {
  const started = Date.now();
  expect(await page.evaluate(() => 1 + 1)).toBe(2);
  expect(Date.now() - started, "the page stays responsive").toBeLessThan(2_000);
  expect((await call("text.stats", { text: "still here" })).ok).toBe(true);
  expect((await call("python.run", { code: "print(6 * 7)" })).text).toContain("42");
  expect((await call("hash.sha256", { text: "abc" })).text).toContain("ba7816bf");
  expect((await call("rogue.fine", {})).text).toBe("fine");
}

/**
 * @type {{case: string, limit: string, twin: [string, any], attempt: [string, any, number?],
 *         expect: RegExp}[]}
 */
const CASES = [
  { case: "a busy loop in Python", limit: "deadline: interrupted",
    twin: ["python.run", { code: "print(sum(range(10**6)))" }],
    attempt: ["python.run", { code: "while True:\n    pass" }, 2_000], expect: /did not finish within 2000 ms/ },
  { case: "a busy loop that swallows KeyboardInterrupt", limit: "deadline: worker replaced",
    twin: ["python.run", { code: "n = 0\nwhile n < 10**5:\n    n += 1\nprint(n)" }],
    attempt: ["python.run", { code: "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass" }, 2_000],
    expect: /did not finish within 2000 ms.*restarted/ },
  { case: "a memory bomb in Python", limit: "the worker's heap cap: MemoryError",
    twin: ["python.run", { code: "b = bytearray(50 * 1024**2)\nprint(len(b))" }],
    attempt: ["python.run", { code: "chunks = []\nwhile True:\n    chunks.append(bytearray(256 * 1024**2))" }, 60_000],
    expect: /MemoryError/ },
  { case: "unbounded recursion in Python", limit: "Python's recursion limit",
    twin: ["python.run", { code: "def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nprint(f(200))" }],
    attempt: ["python.run", { code: "def f(n):\n    return f(n + 1)\nf(0)" }], expect: /RecursionError/ },
  { case: "a stdout flood in Python", limit: "the page's result cap: cut with a marker",
    twin: ["python.run", { code: "for i in range(100):\n    print(i)" }],
    attempt: ["python.run", { code: "import sys\nfor i in range(60_000):\n    sys.stdout.write('x' * 100 + '\\n')" }, 30_000],
    expect: /cut|too large|over the page's cap/ },
  { case: "a giant result from Python", limit: "the message cap (8 MiB) or the result cap",
    twin: ["python.run", { code: "'y' * 1000" }],
    attempt: ["python.run", { code: "'y' * (12 * 1024**2)" }, 30_000], expect: /cut|too large|over the page's cap/ },
  { case: "a WASM busy loop", limit: "the manifest's deadline (2000 ms)",
    twin: ["misbehave.echo", { text: "fine" }], attempt: ["misbehave.loop", {}], expect: /did not finish within 2000 ms/ },
  { case: "a WASM memory bomb", limit: "the manifest's memory limit",
    twin: ["misbehave.echo", { text: "fine" }], attempt: ["misbehave.grow", {}], expect: /memory/i },
  { case: "a WASM trap", limit: "the call fails, the worker goes on",
    twin: ["misbehave.echo", { text: "fine" }], attempt: ["misbehave.trap", {}], expect: /trap|unreachable/i },
  { case: "a WASM output flood", limit: "the manifest's outputBytes",
    twin: ["misbehave.echo", { text: "fine" }], attempt: ["misbehave.flood", {}], expect: /output/i },
  { case: "malformed JSON-RPC from a worker", limit: "the call's deadline",
    twin: ["rogue.fine", {}], attempt: ["rogue.garbage", {}], expect: /did not finish within 3000 ms/ },
  { case: "oversized JSON-RPC from a worker", limit: "the page's 8 MiB message cap",
    twin: ["rogue.fine", {}], attempt: ["rogue.huge", {}], expect: /over the page's cap/ },
];

for (const item of CASES) {
  test(`resource: ${item.case}`, async () => {
    const twin = await call(...item.twin);
    expect(twin.ok, `the twin under the limit succeeds: ${twin.text}`).toBe(true);
    const attempt = await call(...item.attempt);
    // python.run reports an exception in the code it ran inside its result, as "error".
    const contained = item.expect.test(attempt.text) || attempt.truncated;
    results.push({ case: item.case, limit: item.limit, twin: twin.ok ? "ok" : "failed",
      attempt: contained ? "contained" : "not contained", detail: attempt.text.slice(0, 300) });
    expect(contained, `ended clearly (${item.expect}): ${attempt.text.slice(0, 300)}`).toBe(true);
    await allWell();
    // The same tool, replaced or not, answers again.
    expect((await call(...item.twin)).ok).toBe(true);
  });
}

test("resource: a WASM module whose sha256 is wrong, and a malformed manifest, are refused", async () => {
  const loads = await page.evaluate(async () => {
    const load = (/** @type {string} */ manifestURL) => window.host.request("wasm", "cloche/load", { manifestURL })
      .then(() => "loaded", (/** @type {any} */ error) => String(error.message));
    return { tampered: await load("/wasm/__test__/tampered/manifest.json"), broken: await load("/wasm/__test__/broken/manifest.json"),
      twin: await load("/wasm/__test__/primes/manifest.json") };
  });
  expect(loads.tampered).toMatch(/sha256 [0-9a-f]{64}, but the manifest says 0{64}/);
  expect(loads.broken).toMatch(/tools/);
  expect(loads.twin).toBe("loaded");
  results.push({ case: "a WASM module whose sha256 is wrong", limit: "the manifest's sha256", twin: "ok",
    attempt: "contained", detail: loads.tampered.slice(0, 300) });
  results.push({ case: "a malformed WASM manifest", limit: "the manifest check", twin: "ok",
    attempt: "contained", detail: loads.broken.slice(0, 300) });
  await allWell();
});
