// The runtimes behind the page (web/app/runtime-manager.js) over a fake WorkerHost: which workers
// start with which packages, the tools listed, installing and removing packages while the page
// runs, and the choices remembered in storage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Runtimes, readChoices, packagesAtStart, PACKAGES_KEY } from "../../web/app/runtime-manager.js";

const BASE = new URL("https://cloche.test/app/");
const W1_URL = new URL("wasm/w1/manifest.json", BASE).href;
const W2_URL = new URL("wasm/w2/manifest.json", BASE).href;

const tool = (/** @type {string} */ name) => ({ name, description: `The ${name} tool.`, inputSchema: { type: "object" } });

/** @returns {import("../../web/app/tool-workers.js").Registry} */
function registry() {
  return {
    registryVersion: 1,
    packages: [
      { name: "a", version: "1.0", runtime: "python", namespaces: ["alpha"], tools: [tool("alpha.one"), tool("alpha.two")] },
      { name: "b", version: "2.0", runtime: "python", namespaces: ["beta"], boot: false, tools: [tool("beta.one")] },
      { name: "py", version: "3.0", runtime: "python", namespaces: ["python"], tools: [tool("python.run")] },
    ],
    wasmPackages: [
      { name: "w1", version: "0.1", manifest: "wasm/w1/manifest.json", tools: [tool("w1.hash")] },
      { name: "w2", version: "0.2", manifest: "wasm/w2/manifest.json", boot: false,
        tools: [tool("w2.primes"), tool("w2.count")] },
    ],
  };
}

/**
 * @template T
 * @returns {{promise: Promise<T>, resolve: (value: T) => void, reject: (error: unknown) => void}}
 */
function deferred() {
  /** @type {any} */
  let resolve;
  /** @type {any} */
  let reject;
  const promise = new Promise((yes, no) => { resolve = yes; reject = no; });
  return { promise, resolve, reject };
}

/** A tick of the event loop, for promise chains to settle. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An in-memory Storage with what Runtimes uses. */
function memoryStorage(/** @type {Record<string, string>} */ items = {}) {
  return {
    items,
    getItem: (/** @type {string} */ key) => (key in items ? items[key] : null),
    setItem: (/** @type {string} */ key, /** @type {string} */ value) => { items[key] = String(value); },
  };
}

/**
 * A fake WorkerHost: a worker's tools are those of the packages (Python) or manifests (WASM) in
 * its spec's options, and change with cloche/install, cloche/load and cloche/unload.
 */
function fakeHost(reg = registry()) {
  const toolsOf = (/** @type {string} */ name) =>
    [...reg.packages, ...reg.wasmPackages ?? []].find((p) => p.name === name)?.tools ?? [];
  const wasmAt = (/** @type {string} */ url) =>
    (reg.wasmPackages ?? []).find((p) => new URL(p.manifest, BASE).href === url);
  const host = {
    /** @type {any[][]} every call, in order */
    log: [],
    /** @type {Map<string, {spec: any, tools: any[]}>} */
    running: new Map(),
    /** @type {Promise<void> | null} addWorker waits for it when set */
    gate: /** @type {Promise<void> | null} */ (null),
    /** @type {Map<string, Error>} worker name -> the error its start fails with */
    failStart: new Map(),
    /** @type {Error | null} request rejects with it when set */
    failRequest: /** @type {Error | null} */ (null),
    /** @type {Map<string, {promise: Promise<any>, resolve: (v: any) => void, reject: (e: unknown) => void}>} */
    calls: new Map(),
    onToolsChanged: () => {},
    onWorkerEvent: (/** @type {any} */ _event) => {},

    /** @param {any} spec */
    async addWorker(spec) {
      host.log.push(["addWorker", spec.name, structuredClone(spec.options)]);
      if (host.gate) await host.gate;
      if (host.running.has(spec.name)) throw new Error(`a worker named "${spec.name}" is already running`);
      const failure = host.failStart.get(spec.name);
      if (failure) throw failure;
      const tools = spec.name === "wasm"
        ? spec.options.manifests.flatMap((/** @type {string} */ url) => wasmAt(url)?.tools ?? [])
        : spec.options.packages.flatMap(toolsOf);
      host.running.set(spec.name, { spec, tools });
      host.onToolsChanged();
      return { name: spec.name, generation: host.log.length };
    },

    /** @param {string} name */
    async removeWorker(name) {
      host.log.push(["removeWorker", name]);
      if (!host.running.delete(name)) return;
      host.onToolsChanged();
    },

    get tools() {
      return [...host.running.entries()].flatMap(([worker, w]) => w.tools.map((t) => ({ ...t, worker })));
    },

    /**
     * @param {string} worker
     * @param {string} method
     * @param {any} params
     */
    async request(worker, method, params) {
      host.log.push(["request", worker, method, params]);
      const running = host.running.get(worker);
      if (!running) throw new Error(`no worker named "${worker}"`);
      await tick();
      if (host.failRequest) throw host.failRequest;
      if (method === "cloche/install") {
        running.tools = [...running.tools, ...params.wheels.map((/** @type {any} */ w) => w.fileName.split("-")[0]).flatMap(toolsOf)];
      }
      else if (method === "cloche/load") running.tools = [...running.tools, ...wasmAt(params.manifestURL)?.tools ?? []];
      else if (method === "cloche/unload") {
        const gone = new Set(toolsOf(params.package).map((t) => t.name));
        running.tools = running.tools.filter((t) => !gone.has(t.name));
      } else throw new Error(`unexpected method ${method}`);
      host.onToolsChanged();
      return {};
    },

    /**
     * @param {string} name
     * @param {object} args
     * @param {object} [options]
     */
    callTool(name, args, options) {
      host.log.push(["callTool", name, args, options]);
      const call = deferred();
      host.calls.set(name, call);
      const session = /** @type {any} */ (args).session;
      if (typeof session === "string" && !host.sessions.includes(session)) host.sessions.push(session);
      return call.promise;
    },

    /** @type {string[]} the sessions python.run's calls named, as WorkerHost#sessionsOf lists them */
    sessions: /** @type {string[]} */ ([]),
    sessionsOf: () => host.sessions,

    /** @param {string} type */
    logged(type) {
      return host.log.filter((entry) => entry[0] === type);
    },
  };
  return host;
}

/**
 * Runtimes over a fake host and storage.
 * @param {{storage?: ReturnType<typeof memoryStorage>, host?: ReturnType<typeof fakeHost>}} [parts]
 */
function scene(parts = {}) {
  const host = parts.host ?? fakeHost();
  const storage = parts.storage ?? memoryStorage();
  let changes = 0;
  const runtimes = new Runtimes({
    host: /** @type {any} */ (host), baseURL: BASE, storage: /** @type {any} */ (storage),
    onChange: () => { changes++; },
    // The page's fetch of the lock's wheels, as wheel-source.js does it (tested on its own).
    wheelsFor: async (/** @type {any[]} */ names) => names.map(wheelOf),
  });
  return { runtimes, host, storage, changes: () => changes };
}

/** @param {string} name */
const wheelOf = (name) => ({ fileName: `${name}-1.0-py3-none-any.whl`, base64: "UEsFBg==" });

/** Runtimes started on the fixture registry, every worker up. */
async function started(/** @type {Parameters<typeof scene>[0]} */ parts = {}) {
  const s = scene(parts);
  s.runtimes.start(registry());
  await Promise.all(s.runtimes.starting.values());
  return s;
}

/** @param {{tools: {name: string, worker: string}[]}} runtimes */
const listed = (runtimes) => runtimes.tools.map((t) => `${t.name}@${t.worker}`).sort();
/** @param {{packages: {name: string, state: string}[]}} runtimes */
const states = (runtimes) => Object.fromEntries(runtimes.packages.map((p) => [p.name, p.state]));
/** @param {ReturnType<typeof memoryStorage>} storage */
const remembered = (storage) => JSON.parse(storage.getItem(PACKAGES_KEY) ?? "null");

test("readChoices tolerates missing, garbage and ill-typed choices", () => {
  const none = { added: [], removed: [] };
  assert.deepEqual(readChoices(memoryStorage()), none);
  for (const text of ["", "not json {", "null", "42", "[]", '"text"', "{}"]) {
    assert.deepEqual(readChoices(memoryStorage({ [PACKAGES_KEY]: text })), none, text);
  }
  assert.deepEqual(readChoices(memoryStorage({ [PACKAGES_KEY]: '{"added":"b","removed":["a",1,null,"w1"]}' })),
    { added: [], removed: ["a", "w1"] });
  assert.deepEqual(readChoices(memoryStorage({ [PACKAGES_KEY]: '{"added":["b"],"removed":[]}' })),
    { added: ["b"], removed: [] });
});

test("packagesAtStart: the boot packages, less those removed, plus those added; unknown names ignored", () => {
  const sorted = (/** @type {Set<string>} */ set) => [...set].sort();
  assert.deepEqual(sorted(packagesAtStart(registry(), { added: [], removed: [] })), ["a", "py", "w1"]);
  assert.deepEqual(sorted(packagesAtStart(registry(), { added: ["b", "w2", "gone"], removed: ["a", "w1", "nothing"] })),
    ["b", "py", "w2"]);
  assert.deepEqual(sorted(packagesAtStart(registry(), { added: ["a"], removed: [] })), ["a", "py", "w1"]);
});

test("start() starts each worker with its packages and lists the loaded packages' tools at once", async () => {
  const { runtimes, host } = scene();
  const gate = deferred();
  host.gate = gate.promise;
  runtimes.start(registry());

  assert.deepEqual(host.logged("addWorker").sort(), [
    ["addWorker", "python-python", { packages: ["py"] }],
    ["addWorker", "python-tools", { packages: ["a"] }],
    ["addWorker", "wasm", { manifests: [W1_URL] }],
  ]);
  // Listed before any worker is up, from the registry; nothing of b or w2.
  assert.equal(host.running.size, 0);
  assert.deepEqual(listed(runtimes), [
    "alpha.one@python-tools", "alpha.two@python-tools", "python.run@python-python", "w1.hash@wasm",
  ]);
  assert.equal(runtimes.workerOf("alpha.one"), "python-tools");
  assert.equal(runtimes.workerOf("beta.one"), undefined);
  assert.deepEqual(Object.fromEntries(Object.entries(runtimes.workers).map(([n, w]) => [n, [w.state, w.kind]])), {
    "python-tools": ["starting", "python"], "python-python": ["starting", "python"], wasm: ["starting", "wasm"],
  });
  assert.deepEqual(states(runtimes), { a: "loaded", b: "available", py: "loaded", w1: "loaded", w2: "available" });
  const b = runtimes.packages.find((p) => p.name === "b");
  assert.deepEqual(b, {
    name: "b", version: "2.0", runtime: "python", worker: "python-tools", boot: false, tools: ["beta.one"],
    state: "available", message: "", permissions: { network: [], storage: false }, grant: "none",
  });
  assert.deepEqual(runtimes.packages.find((p) => p.name === "w1"),
    { name: "w1", version: "0.1", runtime: "wasm", worker: "wasm", boot: true, tools: ["w1.hash"], state: "loaded", message: "",
      permissions: { network: [], storage: false }, grant: "none" });

  gate.resolve(undefined);
  await Promise.all(runtimes.starting.values());
  for (const [name, worker] of Object.entries(runtimes.workers)) {
    assert.equal(worker.state, "ready", name);
    assert.equal(worker.info.name, name);
  }
  assert.deepEqual(listed(runtimes), [
    "alpha.one@python-tools", "alpha.two@python-tools", "python.run@python-python", "w1.hash@wasm",
  ]);
});

test("install of a Python package: cloche/install in python-tools, its tools appear, kept for restarts and remembered", async () => {
  const { runtimes, host, storage } = await started();
  const spec = host.running.get("python-tools")?.spec;
  await runtimes.install("b");

  assert.deepEqual(host.logged("request"), [["request", "python-tools", "cloche/install", { wheels: [wheelOf("b")] }]]);
  assert.ok(listed(runtimes).includes("beta.one@python-tools"));
  assert.equal(runtimes.workerOf("beta.one"), "python-tools");
  assert.equal(states(runtimes).b, "loaded");
  // The spec the host holds (and re-reads on a restart) now loads b too.
  assert.deepEqual(spec.options.packages, ["a", "b"]);
  assert.equal(runtimes.specs.get("python-tools"), spec);
  assert.deepEqual(remembered(storage), { added: ["b"], removed: [] });

  // Installing it again does nothing.
  await runtimes.install("b");
  assert.equal(host.logged("request").length, 1);
});

test("install and remove of a WASM package: cloche/load with its manifest URL, cloche/unload", async () => {
  const { runtimes, host, storage } = await started();
  await runtimes.install("w2");
  assert.deepEqual(host.logged("request"), [["request", "wasm", "cloche/load", { manifestURL: W2_URL }]]);
  assert.deepEqual(listed(runtimes).filter((t) => t.startsWith("w")), ["w1.hash@wasm", "w2.count@wasm", "w2.primes@wasm"]);
  assert.deepEqual(runtimes.specs.get("wasm")?.options.manifests, [W1_URL, W2_URL]);
  assert.equal(states(runtimes).w2, "loaded");
  assert.deepEqual(remembered(storage), { added: ["w2"], removed: [] });

  await runtimes.remove("w2");
  assert.deepEqual(host.logged("request")[1], ["request", "wasm", "cloche/unload", { package: "w2" }]);
  assert.deepEqual(listed(runtimes).filter((t) => t.startsWith("w")), ["w1.hash@wasm"]);
  assert.deepEqual(runtimes.specs.get("wasm")?.options.manifests, [W1_URL]);
  assert.equal(states(runtimes).w2, "available");
  assert.deepEqual(remembered(storage), { added: [], removed: [] });
  assert.deepEqual(host.logged("removeWorker"), [], "the wasm worker keeps running");
});

test("remove of a Python package restarts python-tools without it; a later start honours the choices", async () => {
  const storage = memoryStorage();
  const { runtimes, host } = await started({ storage });
  await runtimes.remove("a");
  const after = host.log.slice(3);  // past the three starts
  assert.deepEqual(after, [
    ["removeWorker", "python-tools"],
    ["addWorker", "python-tools", { packages: [] }],
  ]);
  assert.equal(runtimes.workers["python-tools"].state, "ready");
  assert.deepEqual(listed(runtimes).filter((t) => t.startsWith("alpha")), []);
  assert.equal(states(runtimes).a, "available");
  assert.deepEqual(remembered(storage), { added: [], removed: ["a"] });

  await runtimes.install("b");
  assert.deepEqual(remembered(storage), { added: ["b"], removed: ["a"] });

  // The next visit: b is loaded at start, a is not.
  const next = await started({ storage });
  assert.deepEqual(next.host.logged("addWorker").find((entry) => entry[1] === "python-tools"),
    ["addWorker", "python-tools", { packages: ["b"] }]);
  assert.deepEqual(listed(next.runtimes), ["beta.one@python-tools", "python.run@python-python", "w1.hash@wasm"]);
  assert.deepEqual(states(next.runtimes), { a: "available", b: "loaded", py: "loaded", w1: "loaded", w2: "available" });

  // Installing a again un-remembers its removal.
  await next.runtimes.install("a");
  assert.deepEqual(next.host.logged("request"), [["request", "python-tools", "cloche/install", { wheels: [wheelOf("a")] }]]);
  assert.deepEqual(remembered(storage), { added: ["b"], removed: [] });
});

test("remove of an isolated package stops its own worker; install starts it again", async () => {
  const { runtimes, host, storage } = await started();
  await runtimes.remove("py");
  assert.deepEqual(host.log.slice(3), [["removeWorker", "python-python"]]);
  assert.equal(host.running.has("python-python"), false);
  assert.equal("python-python" in runtimes.workers, false);
  assert.equal(runtimes.specs.has("python-python"), false);
  assert.equal(runtimes.starting.has("python-python"), false);
  assert.equal(runtimes.workerOf("python.run"), undefined);
  assert.equal(states(runtimes).py, "available");
  assert.deepEqual(remembered(storage), { added: [], removed: ["py"] });

  await runtimes.install("py");
  assert.deepEqual(host.log.slice(4), [["addWorker", "python-python", { packages: ["py"] }]]);
  assert.equal(runtimes.workers["python-python"].state, "ready");
  assert.equal(runtimes.workerOf("python.run"), "python-python");
  assert.equal(states(runtimes).py, "loaded");
  assert.deepEqual(remembered(storage), { added: [], removed: [] });
  assert.deepEqual(host.logged("request"), [], "an isolated package needs no cloche/install");
});

test("calling a tool whose package is not loaded says so and names the package", async () => {
  const { runtimes, host } = await started();
  await assert.rejects(runtimes.callTool("beta.one", {}), (/** @type {any} */ error) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /not loaded/);
    assert.match(error.message, /package b\b/);
    return true;
  });
  await assert.rejects(runtimes.callTool("w2.primes", {}), /w2\.primes is in the package w2, which is not loaded/);
  assert.deepEqual(host.logged("callTool"), []);
});

test("a worker counts a running call as busy, and not after it ends either way", async () => {
  const { runtimes, host } = await started();
  const running = runtimes.callTool("alpha.one", { x: 1 }, { timeoutMs: 5 });
  assert.equal(runtimes.workers["python-tools"].busy, 1);
  assert.equal(runtimes.workers.wasm.busy, 0);
  await tick();
  assert.deepEqual(host.logged("callTool"), [["callTool", "alpha.one", { x: 1 }, { timeoutMs: 5 }]]);
  host.calls.get("alpha.one")?.resolve({ content: [{ type: "text", text: "ok" }] });
  assert.deepEqual(await running, { content: [{ type: "text", text: "ok" }] });
  assert.equal(runtimes.workers["python-tools"].busy, 0);

  const failing = runtimes.callTool("w1.hash", {});
  assert.equal(runtimes.workers.wasm.busy, 1);
  await tick();
  host.calls.get("w1.hash")?.reject(new Error("trap"));
  await assert.rejects(failing, /trap/);
  assert.equal(runtimes.workers.wasm.busy, 0);
});

test("a call to a worker still starting waits until it is up", async () => {
  const { runtimes, host } = scene();
  const gate = deferred();
  host.gate = gate.promise;
  runtimes.start(registry());
  const call = runtimes.callTool("python.run", { code: "1" });
  await tick();
  assert.deepEqual(host.logged("callTool"), []);
  gate.resolve(undefined);
  await Promise.all(runtimes.starting.values());
  await tick();
  assert.equal(host.logged("callTool").length, 1);
  assert.equal(runtimes.workers["python-python"].busy, 1);
  host.calls.get("python.run")?.resolve({ content: [] });
  await call;
  assert.equal(runtimes.workers["python-python"].busy, 0);
});

test("python.run's worker shows its sessions once a call ends; other workers have none", async () => {
  const { runtimes, host } = await started();
  assert.deepEqual(runtimes.workers["python-python"].sessions, []);
  assert.equal(runtimes.workers["python-tools"].sessions, undefined);
  const call = runtimes.callTool("python.run", { code: "x = 1", session: "notes" });
  await tick();
  host.calls.get("python.run")?.resolve({ content: [] });
  await call;
  assert.deepEqual(runtimes.workers["python-python"].sessions, ["notes"]);
});

test("a failed install leaves the package available with a message naming it, and rejects", async () => {
  const { runtimes, host, storage } = await started();
  host.failRequest = new Error("the index is unreachable");
  await assert.rejects(runtimes.install("b"), /the index is unreachable/);
  const b = runtimes.packages.find((p) => p.name === "b");
  assert.equal(b?.state, "available");
  assert.equal(b?.message, "Installing b failed: the index is unreachable");
  assert.equal(runtimes.loaded.has("b"), false);
  assert.deepEqual(runtimes.specs.get("python-tools")?.options.packages, ["a"]);
  assert.equal(runtimes.workerOf("beta.one"), undefined);
  assert.equal(storage.getItem(PACKAGES_KEY), null, "nothing remembered");

  // The next attempt that works clears the message.
  host.failRequest = null;
  await runtimes.install("b");
  assert.deepEqual(runtimes.packages.find((p) => p.name === "b")?.message, "");
  assert.equal(states(runtimes).b, "loaded");
});

test("a worker that fails to start is shown failed, refuses installs and calls, and Retry starts it", async () => {
  const host = fakeHost();
  host.failStart.set("python-tools", new Error("pyodide did not download"));
  const { runtimes } = scene({ host });
  runtimes.start(registry());
  await Promise.allSettled(runtimes.starting.values());
  assert.equal(runtimes.workers["python-tools"].state, "failed");
  assert.equal(runtimes.workers["python-tools"].message, "pyodide did not download");
  assert.equal(runtimes.workers.wasm.state, "ready");

  await assert.rejects(runtimes.install("b"), /its worker failed to start \(pyodide did not download\); use Retry first/);
  assert.match(runtimes.packages.find((p) => p.name === "b")?.message ?? "", /^Installing b failed: /);
  await assert.rejects(runtimes.callTool("alpha.one", {}), /alpha\.one is not available: its worker failed to start/);

  host.failStart.clear();
  runtimes.retry();
  assert.equal(runtimes.workers["python-tools"].state, "starting");
  await Promise.all(runtimes.starting.values());
  assert.equal(runtimes.workers["python-tools"].state, "ready");
  assert.deepEqual(host.logged("addWorker").filter((entry) => entry[1] !== "python-tools").length, 2,
    "Retry starts only the failed worker");
});

test("boot progress and restart events show on the worker", async () => {
  const { runtimes, host } = scene();
  const gate = deferred();
  host.gate = gate.promise;
  runtimes.start(registry());
  runtimes.onBootProgress("python-tools", { phase: "download", done: 5e6, total: 10e6 });
  assert.equal(runtimes.workers["python-tools"].fraction, 0.5 / 3);
  assert.equal(runtimes.workers["python-tools"].detail, "Downloading Python: 5.0 MB of 10.0 MB");
  runtimes.onBootProgress("wasm", { phase: "modules", done: 1, total: 4 });
  assert.equal(runtimes.workers.wasm.fraction, 0.25);
  assert.equal(runtimes.workers.wasm.detail, "Loading WebAssembly modules: 2 of 4");
  gate.resolve(undefined);
  await Promise.all(runtimes.starting.values());

  runtimes.onBootProgress("python-tools", { phase: "boot" });
  assert.equal(runtimes.workers["python-tools"].detail, "", "progress after the start is ignored");
  host.onWorkerEvent({ type: "restarting", worker: "python-tools", reason: "a call did not stop" });
  assert.deepEqual([runtimes.workers["python-tools"].state, runtimes.workers["python-tools"].message],
    ["restarting", "a call did not stop"]);
  host.onWorkerEvent({ type: "restarted", worker: "python-tools" });
  assert.deepEqual([runtimes.workers["python-tools"].state, runtimes.workers["python-tools"].message], ["ready", ""]);
});

test("an isolated package whose worker cannot start stays available, its worker gone, nothing remembered", async () => {
  const { runtimes, host, storage } = await started();
  await runtimes.remove("py");
  host.failStart.set("python-python", new Error("out of memory"));
  await assert.rejects(runtimes.install("py"), /out of memory/);
  assert.equal(states(runtimes).py, "available");
  assert.match(runtimes.packages.find((p) => p.name === "py")?.message ?? "", /Installing py failed: out of memory/);
  assert.equal("python-python" in runtimes.workers, false);
  assert.equal(runtimes.workerOf("python.run"), undefined);
  assert.deepEqual(remembered(storage), { added: [], removed: ["py"] });
});

test("a removal is remembered even when the restart without the package fails", async () => {
  const { runtimes, host, storage } = await started();
  host.failStart.set("python-tools", new Error("pyodide did not download"));
  await assert.rejects(runtimes.remove("a"), /pyodide did not download/);
  assert.equal(states(runtimes).a, "available");
  assert.equal(runtimes.workers["python-tools"].state, "failed");
  assert.deepEqual(remembered(storage), { added: [], removed: ["a"] });
});

test("a package that asks for network or storage asks the user once before its first call or its install", async () => {
  const reg = registry();
  reg.packages.push({ name: "n", version: "1.0", runtime: "python", namespaces: ["net"], boot: false,
    permissions: { network: ["https://api.example.org"], storage: true }, tools: [tool("net.get")] });
  reg.packages.push({ name: "s", version: "1.0", runtime: "python", namespaces: ["store"],
    permissions: { network: [], storage: true }, tools: [tool("store.put")] });
  const host = fakeHost(reg);
  const storage = memoryStorage();
  const { Grants } = await import("../../web/app/permissions.js");
  const grants = new Grants(storage);
  /** @type {{name: string, added: any, answer: ReturnType<typeof deferred<"allow" | "deny">>}[]} */
  const asked = [];
  const runtimes = new Runtimes({
    host: /** @type {any} */ (host), baseURL: BASE, storage: /** @type {any} */ (storage), onChange: () => {},
    wheelsFor: async (/** @type {any[]} */ names) => names.map(wheelOf), grants,
    askConsent: (pkg, status) => {
      const answer = /** @type {ReturnType<typeof deferred<"allow" | "deny">>} */ (deferred());
      asked.push({ name: pkg.name, added: status.added, answer });
      return answer.promise;
    },
  });
  runtimes.start(reg);
  await Promise.all(runtimes.starting.values());
  assert.ok(runtimes.specs.has("python-store"));  // its own worker
  assert.equal(runtimes.packages.find((p) => p.name === "s")?.grant, "ask");
  // Two calls before the answer: one question; neither call reaches the worker before it.
  const first = runtimes.callTool("store.put", {});
  const second = runtimes.callTool("store.put", {});
  await tick();
  assert.deepEqual(asked.map((a) => a.name), ["s"]);
  assert.deepEqual(asked[0].added, { network: [], storage: true });
  assert.equal(host.logged("callTool").length, 0);
  asked[0].answer.resolve("deny");
  await tick(); await tick();
  assert.equal(host.logged("callTool").length, 2);  // denied, the tool still runs; the host refuses its requests
  host.calls.get("store.put")?.resolve({ content: [] });
  await Promise.race([Promise.all([first, second]), tick()]);
  assert.equal(grants.status(reg.packages[4]).state, "denied");
  assert.equal(runtimes.packages.find((p) => p.name === "s")?.grant, "denied");
  // Installing a package that asks: the question comes first, then the install.
  const installing = runtimes.install("n");
  await tick();
  assert.deepEqual(asked.map((a) => a.name), ["s", "n"]);
  asked[1].answer.resolve("allow");
  await installing;
  assert.equal(grants.status(reg.packages[3]).state, "allowed");
  assert.equal(runtimes.packages.find((p) => p.name === "n")?.state, "loaded");
});
