// Permissions per tool package on the page: origin patterns (the same cases as the Python
// matcher's tests), the user's grants per package and version, the host's cloche/fetch and
// cloche/store services checked outside the worker, the packages' stores in IndexedDB
// (fake-indexeddb), and which packages get a worker of their own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { originMatches, Grants, GRANTS_KEY, permissionLines, permissionsOf } from "../../web/app/permissions.js";
import { packageServices, proxyThrough, fetchRequest } from "../../web/app/package-services.js";
import { PackageStore, MAX_KEYS } from "../../web/app/package-store.js";
import { pythonWorkerSpecs, packageOfWorker, workerOfPackage } from "../../web/app/tool-workers.js";
import { WorkerHost } from "../../web/app/worker-host.js";
import { fakeWorker } from "./fake-worker.js";

function memoryStorage(/** @type {Record<string, string>} */ items = {}) {
  return {
    items,
    getItem: (/** @type {string} */ key) => (key in items ? items[key] : null),
    setItem: (/** @type {string} */ key, /** @type {string} */ value) => { items[key] = String(value); },
  };
}

const tool = (/** @type {string} */ name) => ({ name, inputSchema: { type: "object" } });
const NET = { name: "cloche-net-tools", version: "1.0.0", runtime: "python", namespaces: ["net"],
  permissions: { network: ["http://127.0.0.1:8792"], storage: true }, tools: [tool("net.get")] };
const NOTES = { name: "cloche-notes-tools", version: "1.0.0", runtime: "python", namespaces: ["notes"],
  permissions: { network: [], storage: true }, tools: [tool("notes.read")] };
const PLAIN = { name: "cloche-tools-text", version: "0.1.0", runtime: "python", namespaces: ["text"],
  permissions: { network: [], storage: false }, tools: [tool("text.stats")] };
const REGISTRY = { registryVersion: 1, packages: [NET, NOTES, PLAIN] };

test("origin patterns: exact origin and port, subdomains, any host; nothing else", () => {
  const cases = [
    ["https://api.example.org", "https://api.example.org/v1?q=1", true],
    ["https://api.example.org", "https://api.example.org:443/", true],
    ["https://api.example.org", "https://api.example.org:8443/", false],
    ["https://api.example.org", "http://api.example.org/", false],
    ["https://api.example.org", "https://evil.org/?https://api.example.org", false],
    ["https://api.example.org", "https://api.example.org.evil.org/", false],
    ["http://127.0.0.1:8792", "http://127.0.0.1:8792/data", true],
    ["http://127.0.0.1:8792", "http://127.0.0.1:8793/data", false],
    ["https://*.example.org", "https://a.b.example.org/", true],
    ["https://*.example.org", "https://example.org/", false],
    ["https://*.example.org", "https://badexample.org/", false],
    ["https://*", "https://anything.test:8443/", true],
    ["https://*", "http://anything.test/", false],
    ["https://*", "file:///etc/passwd", false],
    ["https://[::1]", "https://[::1]/", true],
  ];
  for (const [pattern, url, expected] of cases) assert.equal(originMatches(pattern, url), expected, `${pattern} ${url}`);
});

test("what a package asks for, in words", () => {
  assert.deepEqual(permissionLines(permissionsOf({ name: "web", permissions: { network: ["https://*", "http://*"] } })),
    ["Network: any site over https, any site over http"]);
  assert.deepEqual(permissionLines({ network: ["https://*.example.org"], storage: true, deadlineMs: 5000, memoryBytes: 64 * 2 ** 20 },
    { limits: true }), ["Network: any subdomain of example.org (https)", "Storage: a private store on this browser",
    "Deadline: 5 s a call", "Memory: up to 64 MiB"]);
  assert.deepEqual(permissionsOf({ name: "old" }), { network: [], storage: false });
});

test("grants: asked once per package; remembered per version; more in a new version asks again and says what", () => {
  const storage = memoryStorage();
  const grants = new Grants(storage);
  assert.deepEqual(grants.status(PLAIN), { state: "none" });
  const first = grants.status(NET);
  assert.equal(first.state, "ask");
  assert.deepEqual(first.state === "ask" && first.added, { network: ["http://127.0.0.1:8792"], storage: true });
  grants.decide(NET, "allow");
  assert.deepEqual(grants.status(NET), { state: "allowed", grant: { network: ["http://127.0.0.1:8792"], storage: true } });
  // A new version asking for no more carries the decision over.
  assert.equal(grants.status({ ...NET, version: "1.0.1" }).state, "allowed");
  assert.equal(JSON.parse(storage.items[GRANTS_KEY])["cloche-net-tools"].version, "1.0.1");
  // One asking for more asks again, naming only what is new.
  const more = { ...NET, version: "2.0.0", permissions: { network: ["http://127.0.0.1:8792", "https://api.example.org"], storage: true } };
  const again = grants.status(more);
  assert.equal(again.state, "ask");
  assert.deepEqual(again.state === "ask" && again.added, { network: ["https://api.example.org"], storage: false });
  assert.equal(again.state === "ask" && again.previous?.version, "1.0.1");
  assert.deepEqual(grants.granted(more), { network: [], storage: false });  // nothing until answered
  grants.decide(more, "deny");
  assert.equal(grants.status(more).state, "denied");
  // Revoking an allowed package refuses it from then on; allowing again restores it.
  grants.decide(NOTES, "allow");
  grants.revoke("cloche-notes-tools");
  assert.equal(grants.status(NOTES).state, "denied");
  grants.forget("cloche-notes-tools");
  assert.equal(grants.status(NOTES).state, "ask");
  // A damaged record asks again rather than granting anything.
  storage.items[GRANTS_KEY] = "{not json";
  assert.equal(grants.status(NET).state, "ask");
});

test("packages that declare network, storage or memory get a worker of their own, named for them", () => {
  const memory = { ...PLAIN, name: "big", namespaces: ["big"], permissions: { network: [], storage: false, memoryBytes: 64 * 2 ** 20 } };
  const registry = { ...REGISTRY, packages: [...REGISTRY.packages, memory] };
  const specs = pythonWorkerSpecs(/** @type {any} */ (registry), new URL("https://cloche.test/"));
  assert.deepEqual(specs.map((s) => [s.name, s.options.packages]), [
    ["python-tools", ["cloche-tools-text"]], ["python-net", ["cloche-net-tools"]],
    ["python-notes", ["cloche-notes-tools"]], ["python-big", ["big"]],
  ]);
  assert.equal(specs.find((s) => s.name === "python-big")?.memoryLimitBytes, 64 * 2 ** 20);
  assert.equal(workerOfPackage(/** @type {any} */ (registry), "cloche-net-tools"), "python-net");
  assert.equal(packageOfWorker(/** @type {any} */ (registry), "python-net")?.name, "cloche-net-tools");
  assert.equal(packageOfWorker(/** @type {any} */ (registry), "python-tools"), null);
  assert.equal(packageOfWorker(/** @type {any} */ (registry), "wasm"), null);
});

/** Services over a recording proxy and a fresh store. */
function services(/** @type {Record<string, "allow" | "deny">} */ decisions = {}) {
  const grants = new Grants(memoryStorage());
  for (const [name, decision] of Object.entries(decisions)) {
    grants.decide(/** @type {any} */ (REGISTRY.packages.find((p) => p.name === name)), decision);
  }
  /** @type {any[]} */
  const proxied = [];
  const store = new PackageStore({ indexedDB: new IDBFactory(), IDBKeyRange });
  const answer = { status: 200, statusText: "OK", url: "", headers: [], body: btoa("hello") };
  const served = packageServices({
    packageOfWorker: (worker) => /** @type {any} */ (packageOfWorker(/** @type {any} */ (REGISTRY), worker)),
    grants, store, proxy: async (request) => { proxied.push(request); return { ...answer, url: request.url }; },
  });
  return { served, proxied, grants, store };
}

test("cloche/fetch: the asking worker's package, its declaration and the user's grant decide; the proxy gets the grant", async () => {
  const { served, proxied, grants } = services({ "cloche-net-tools": "allow" });
  const fetch = served["cloche/fetch"];
  const ok = await fetch({ url: "http://127.0.0.1:8792/data", headers: [["accept", "text/plain"]] }, "python-net");
  assert.equal(ok.url, "http://127.0.0.1:8792/data");
  assert.deepEqual(proxied, [{ url: "http://127.0.0.1:8792/data", method: "GET", headers: [["accept", "text/plain"]],
    body: null, allow: ["http://127.0.0.1:8792"] }]);
  await assert.rejects(fetch({ url: "http://127.0.0.1:8793/data" }, "python-net"),
    /cloche-net-tools 1\.0\.0 asked for http:\/\/127\.0\.0\.1:8793\/data, outside the origins it declared and was granted \(http:\/\/127\.0\.0\.1:8792\); nothing was fetched/);
  await assert.rejects(fetch({ url: "http://127.0.0.1:8792/" }, "python-notes"),
    /cloche-notes-tools 1\.0\.0 declared no network access, so it has none/);
  await assert.rejects(fetch({ url: "http://127.0.0.1:8792/" }, "python-tools"),
    /the tools of worker "python-tools" declared no network access/);
  await assert.rejects(fetch({ url: "http://127.0.0.1:8792/" }, "wasm"), /declared no network access/);
  grants.revoke("cloche-net-tools");
  await assert.rejects(fetch({ url: "http://127.0.0.1:8792/" }, "python-net"),
    /network access for cloche-net-tools 1\.0\.0 is not allowed on this browser \(denied or revoked\); nothing was done/);
  assert.equal(proxied.length, 1);
});

test("cloche/fetch before the user answered is refused, and malformed requests say what is wrong", async () => {
  const { served, proxied } = services();
  await assert.rejects(served["cloche/fetch"]({ url: "http://127.0.0.1:8792/" }, "python-net"),
    /has not been granted network access yet: allow it when the page asks/);
  for (const [params, message] of /** @type {[any, RegExp][]} */ ([
    [{}, /needs an http or https URL/],
    [{ url: "file:///etc/passwd" }, /needs an http or https URL/],
    [{ url: "https://a.test/", method: "CONNECT" }, /method must be one of GET/],
    [{ url: "https://a.test/", headers: { a: "b" } }, /headers must be a list/],
    [{ url: "https://a.test/", body: 5 }, /body must be null or base64/],
  ])) assert.throws(() => fetchRequest(params), message);
  assert.equal(proxied.length, 0);
});

test("cloche/store: one namespace per package, only with storage granted, surviving a new store object", async () => {
  const { served, grants, store } = services({ "cloche-net-tools": "allow", "cloche-notes-tools": "allow" });
  const storeOp = served["cloche/store"];
  await storeOp({ op: "set", key: "secret", value: { n: 1 } }, "python-net");
  assert.deepEqual(await storeOp({ op: "get", key: "secret" }, "python-net"), { found: true, value: { n: 1 } });
  assert.deepEqual(await storeOp({ op: "get", key: "secret" }, "python-notes"), { found: false, value: null });
  await storeOp({ op: "set", key: "mine", value: "notes" }, "python-notes");
  assert.deepEqual(await storeOp({ op: "keys" }, "python-net"), { keys: ["secret"] });
  assert.deepEqual(await storeOp({ op: "keys" }, "python-notes"), { keys: ["mine"] });
  await assert.rejects(storeOp({ op: "keys" }, "python-tools"), /declared no store/);
  await assert.rejects(storeOp({ op: "drop" }, "python-net"), /op "get", "set", "delete" or "keys"/);
  await assert.rejects(storeOp({ op: "get", key: "" }, "python-net"), /key must be a string of 1 to 256/);
  grants.revoke("cloche-notes-tools");
  await assert.rejects(storeOp({ op: "get", key: "mine" }, "python-notes"), /its store for cloche-notes-tools 1\.0\.0 is not allowed/);
  await storeOp({ op: "delete", key: "secret" }, "python-net");
  assert.deepEqual(await storeOp({ op: "keys" }, "python-net"), { keys: [] });
  assert.deepEqual(await store.keys("cloche-notes-tools"), ["mine"]);
  await store.clear("cloche-notes-tools");
  assert.deepEqual(await store.keys("cloche-notes-tools"), []);
});

test("a package's store refuses values over 1 MiB and keys past its limit", async () => {
  const store = new PackageStore({ indexedDB: new IDBFactory(), IDBKeyRange });
  await assert.rejects(store.set("p", "big", "x".repeat(1024 * 1024)), /bytes as JSON; a package's store keeps values up to 1048576/);
  for (let i = 0; i < MAX_KEYS; i++) await store.set("p", `k${i}`, i);
  await assert.rejects(store.set("p", "one-more", 1), /already holds 1000 keys/);
  await store.set("p", "k0", "replaced");  // an existing key may still change
  await store.set("q", "k0", "another package");
  assert.deepEqual(await store.get("p", "k0"), { found: true, value: "replaced" });
});

test("the host answers a worker's cloche/fetch for the worker that asked; a page without the service refuses it", async () => {
  /** @type {string[]} */
  const askers = [];
  const host = new WorkerHost({
    spawn: (spec) => fakeWorker(spec.name === "python-net" ? ["net.ask"] : ["text.ask"]),
    services: { "cloche/fetch": async (params, worker) => { askers.push(worker); return { echoed: params.url }; } },
  });
  const bare = new WorkerHost({ spawn: () => fakeWorker(["bare.ask"]) });
  try {
    await host.addWorker({ name: "python-net" });
    await host.addWorker({ name: "python-tools" });
    await bare.addWorker({ name: "python-tools" });
    const text = (/** @type {any} */ r) => r.content[0].text;
    assert.equal(text(await host.callTool("net.ask", { method: "cloche/fetch", params: { url: "https://a.test/" } })),
      JSON.stringify({ echoed: "https://a.test/" }));
    await host.callTool("text.ask", { method: "cloche/fetch", params: { url: "https://a.test/", package: "cloche-net-tools" } });
    assert.deepEqual(askers, ["python-net", "python-tools"]);  // what the worker claims does not matter
    const refused = await bare.callTool("bare.ask", { method: "cloche/fetch", params: { url: "https://a.test/" } });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /this page grants no network to tool packages/);
    const store = await bare.callTool("bare.ask", { method: "cloche/store", params: { op: "keys" } });
    assert.match(text(store), /this page keeps no store for tool packages/);
  } finally {
    await host.close();
    await bare.close();
  }
});

test("the proxy client posts the request with the grant and passes the proxy's refusal on", async () => {
  /** @type {any[]} */
  const posted = [];
  const answers = [
    new Response(JSON.stringify({ status: 404, statusText: "Not Found", url: "https://a.test/x", headers: [], body: "" })),
    new Response(JSON.stringify({ error: { code: "not_granted", message: "redirected to https://b.test/, which the package's grant does not cover" } }), { status: 403 }),
    new Response("Not Found", { status: 404 }),
  ];
  const proxy = proxyThrough({
    baseURL: new URL("https://cloche.test/app/"), token: () => "t0k",
    fetch: async (url, init) => { posted.push({ url: String(url), init }); return /** @type {Response} */ (answers.shift()); },
  });
  const request = { url: "https://a.test/x", method: "GET", headers: /** @type {[string, string][]} */ ([]), body: null, allow: ["https://a.test"] };
  assert.equal((await proxy(request)).status, 404);
  assert.equal(posted[0].url, "https://cloche.test/app/proxy");
  assert.equal(posted[0].init.headers.authorization, "Bearer t0k");
  assert.deepEqual(JSON.parse(posted[0].init.body).allow, ["https://a.test"]);
  await assert.rejects(proxy(request), /the server's fetch proxy refused https:\/\/a\.test\/x: redirected to https:\/\/b\.test\/, which the package's grant does not cover/);
  await assert.rejects(proxy(request), /this server has no fetch proxy \(a static host\)/);
});
