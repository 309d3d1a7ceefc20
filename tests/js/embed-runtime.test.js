// The docs embed's runtime (web/embed/embed-runtime.js) over fake workers: titles from
// registry.json before any worker, workers started only for the demos about to be used, a package
// a later demo needs added to the running worker, and one start however many demos ask at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EmbedRuntime } from "../../web/embed/embed-runtime.js";
import { describeTool } from "../../web/embed/embed-registry.js";
import { fakeWorker } from "./fake-worker.js";

const DIST = new URL("https://docs.example.org/cloche/");
const tool = (/** @type {string} */ name) => ({ name, title: name, inputSchema: { type: "object" } });
const REGISTRY = {
  registryVersion: 1,
  packages: [
    { name: "cloche-tools-text", version: "0.1.0", runtime: "python", namespaces: ["text"], tools: [tool("text.stats")] },
    { name: "cloche-tools-python", version: "0.1.0", runtime: "python", namespaces: ["python"], tools: [tool("python.run")] },
  ],
  wasmPackages: [
    { name: "hash", version: "1.0.0", manifest: "wasm/hash/manifest.json", tools: [tool("hash.sha256")] },
    { name: "primes", version: "1.0.0", manifest: "wasm/primes/manifest.json", tools: [tool("primes.count")] },
  ],
};
const manifest = (/** @type {string} */ name) => new URL(`wasm/${name}/manifest.json`, DIST).href;

/** A runtime whose registry.json (fetched once per page) is REGISTRY and whose workers are fakes. */
function embed() {
  globalThis.fetch = async (url) => {
    assert.equal(String(url), new URL("registry.json", DIST).href);
    return new Response(JSON.stringify(REGISTRY));
  };
  /** @type {{name: string, options: any}[]} */
  const spawned = [];
  const runtime = new EmbedRuntime({
    baseURL: DIST,
    spawn: (spec) => {
      spawned.push({ name: spec.name, options: structuredClone(spec.options) });
      const tools = spec.name === "wasm"
        ? spec.options.manifests.flatMap((/** @type {string} */ url) => (url.includes("hash") ? ["hash.sha256"] : ["primes.count"]))
        : REGISTRY.packages.filter((p) => spec.options.packages.includes(p.name)).flatMap((p) => p.tools.map((t) => t.name));
      return fakeWorker(tools, {}, { loads: { [manifest("primes")]: ["primes.count"] }, interrupt: false });
    },
  });
  return { runtime, spawned };
}

test("a tool is described from registry.json before any worker; an unknown one names what there is", async () => {
  const { runtime, spawned } = embed();
  const info = await runtime.describe("hash.sha256");
  assert.deepEqual([info.runtime, info.worker, info.pkg.name], ["wasm", "wasm", "hash"]);
  await assert.rejects(runtime.describe("nope.tool"),
    /this site's Cloche has no tool named "nope.tool"; it has: text.stats, python.run, hash.sha256, primes.count/);
  assert.throws(() => describeTool(/** @type {any} */ (REGISTRY), ""), /no tool named ""/);
  assert.deepEqual(spawned, []);
  await runtime.close();
});

test("workers start for the demos about to be used, once, and a later package joins the running worker", async () => {
  const { runtime, spawned } = embed();
  try {
    // Two demos of the same worker asking at once: one start.
    await Promise.all([runtime.prepare(["hash.sha256"]), runtime.prepare(["hash.sha256"])]);
    assert.deepEqual(spawned, [{ name: "wasm", options: { manifests: [manifest("hash")] } }]);
    assert.deepEqual(runtime.workers, ["wasm"]);
    // Another WASM package: loaded into the running worker, not a second one.
    const result = await runtime.callTool("primes.count", {}).catch((error) => error);
    assert.equal(spawned.length, 1);
    assert.match(String(result.message ?? JSON.stringify(result)), /primes|fake has no behaviour/);
    assert.ok(runtime.host.tools.some((t) => t.name === "primes.count"));
    // Python only when a Python demo is about to be used; python.run in a worker of its own.
    await runtime.prepare(["text.stats", "python.run"]);
    assert.deepEqual(runtime.workers.sort(), ["python-python", "python-tools", "wasm"]);
    assert.deepEqual(spawned.find((s) => s.name === "python-tools")?.options, { packages: ["cloche-tools-text"] });
  } finally {
    await runtime.close();
  }
});
