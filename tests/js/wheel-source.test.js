// The wheels the page fetches for a Python worker's cloche/install: resolved from the dist's lock
// with their dependencies, each checked against its sha256 before it is sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { wheelsFor, wheelsAsked, WheelError } from "../../web/app/wheel-source.js";

const BASE = "https://cloche.test/app/";
const bytes = (/** @type {string} */ text) => new TextEncoder().encode(text);
const sha = (/** @type {Uint8Array} */ data) => createHash("sha256").update(data).digest("hex");
const FILES = {
  "tools_a-1.0-py3-none-any.whl": bytes("wheel a"),
  "helper-2.0-py3-none-any.whl": bytes("wheel helper"),
  "cloche-0.1.0-py3-none-any.whl": bytes("wheel cloche"),
  "extra-1.0-py3-none-any.whl": bytes("wheel extra"),
};
const LOCK = { packages: {
  "tools-a": { name: "tools-a", file_name: "tools_a-1.0-py3-none-any.whl", sha256: sha(FILES["tools_a-1.0-py3-none-any.whl"]), depends: ["cloche", "Helper"], imports: ["tools_a"] },
  helper: { name: "helper", file_name: "helper-2.0-py3-none-any.whl", sha256: sha(FILES["helper-2.0-py3-none-any.whl"]), depends: [], imports: ["helper", "helper_extras"] },
  cloche: { name: "cloche", file_name: "cloche-0.1.0-py3-none-any.whl", sha256: sha(FILES["cloche-0.1.0-py3-none-any.whl"]), depends: [] },
} };

/**
 * A fetch serving the lock and `files` under BASE, and `routes` (path below BASE -> answer), as
 * `cloche serve` would; anything else is 404 (a static host has no packages/ routes). Records
 * what was asked.
 * @param {Record<string, Uint8Array>} files
 * @param {Record<string, () => Response>} routes
 */
function site(files = FILES, routes = {}) {
  /** @type {string[]} */
  const asked = [];
  const fetch = async (/** @type {URL} */ url) => {
    asked.push(String(url));
    const path = decodeURIComponent(new URL(url).pathname).replace(/^\/app\//, "");
    if (path === "pyodide-lock.json") return new Response(JSON.stringify(LOCK));
    if (path in routes) return routes[path]();
    return path in files ? new Response(files[path]) : new Response("Not Found", { status: 404, statusText: "Not Found" });
  };
  return { fetch: /** @type {any} */ (fetch), asked };
}

const decode = (/** @type {string} */ text) => Buffer.from(text, "base64").toString();

test("a package comes with its dependencies, first, without those the worker has", async () => {
  const { fetch, asked } = site();
  const wheels = await wheelsFor(["Tools_A"], { baseURL: BASE, fetch, have: ["cloche", "micropip"] });
  assert.deepEqual(wheels.map((w) => w.fileName), ["helper-2.0-py3-none-any.whl", "tools_a-1.0-py3-none-any.whl"]);
  assert.deepEqual(wheels.map((w) => decode(w.base64)), ["wheel helper", "wheel a"]);
  assert.ok(!asked.some((url) => url.includes("cloche-0.1.0")), "a wheel the worker has is not fetched");
});

test("a wheel whose bytes do not match the lock is refused, naming both digests", async () => {
  const { fetch } = site({ ...FILES, "helper-2.0-py3-none-any.whl": bytes("tampered") });
  await assert.rejects(wheelsFor(["tools-a"], { baseURL: BASE, fetch, have: ["cloche"] }),
    (/** @type {any} */ error) => error instanceof WheelError &&
      error.message.startsWith(`helper-2.0-py3-none-any.whl does not match its sha256 (expected ${LOCK.packages.helper.sha256}, got ${sha(bytes("tampered"))})`));
});

test("a name outside the lock, a missing file and a foreign URL are refused clearly", async () => {
  const { fetch } = site();
  await assert.rejects(wheelsFor(["nope"], { baseURL: BASE, fetch }), /nope is not in this site's pyodide-lock.json/);
  const withoutHelper = site({ "tools_a-1.0-py3-none-any.whl": FILES["tools_a-1.0-py3-none-any.whl"] });
  await assert.rejects(wheelsFor(["helper"], { baseURL: BASE, fetch: withoutHelper.fetch }),
    /helper-2.0-py3-none-any.whl answered 404 Not Found: the dist is incomplete/);
  await assert.rejects(wheelsFor([{ url: "https://elsewhere.test/x-1.0-py3-none-any.whl", sha256: "0".repeat(64) }], { baseURL: BASE, fetch }),
    /only wheels from this page's origin \(https:\/\/cloche.test\)/);
});

test("a same-origin wheel outside the lock installs with the sha256 its caller gives", async () => {
  const { fetch } = site();
  const digest = sha(FILES["extra-1.0-py3-none-any.whl"]);
  const [wheel] = await wheelsFor([{ url: "/app/extra-1.0-py3-none-any.whl", sha256: digest }], { baseURL: BASE, fetch });
  assert.equal(wheel.fileName, "extra-1.0-py3-none-any.whl");
  await assert.rejects(wheelsFor([{ url: "/app/extra-1.0-py3-none-any.whl", sha256: "f".repeat(64) }], { baseURL: BASE, fetch }),
    /does not match its sha256/);
  await assert.rejects(wheelsFor([{ url: "/app/extra-1.0-py3-none-any.whl", sha256: "short" }], { baseURL: BASE, fetch }),
    /needs a .whl file name and its sha256/);
});

test("a worker's cloche/wheels: by name or by the module a package provides, without what it has", async () => {
  const { fetch, asked } = site();
  const byImport = await wheelsAsked({ imports: ["helper_extras", "no_such_module"], have: ["cloche"] }, { baseURL: BASE, fetch });
  assert.deepEqual(byImport.packages, ["helper"], "a module no package provides is left for the import to report");
  assert.deepEqual(byImport.wheels.map((w) => [w.fileName, decode(w.base64)]), [["helper-2.0-py3-none-any.whl", "wheel helper"]]);
  const byName = await wheelsAsked({ requirements: ["tools-a"], have: ["cloche", "helper"] }, { baseURL: BASE, fetch });
  assert.deepEqual(byName.wheels.map((w) => w.fileName), ["tools_a-1.0-py3-none-any.whl"]);
  assert.deepEqual(await wheelsAsked({ imports: ["tools_a"], have: ["tools-a"] }, { baseURL: BASE, fetch }),
    { packages: [], wheels: [] }, "nothing the worker has is fetched again");
  assert.ok(asked.every((url) => url.startsWith(BASE)));
});

test("a worker's cloche/wheels for a URL, a name outside the lock or a malformed list is refused", async () => {
  const { fetch } = site();
  await assert.rejects(wheelsAsked({ requirements: ["https://evil.test/x-1.0-py3-none-any.whl"] }, { baseURL: BASE, fetch }),
    (error) => error instanceof WheelError && /is not in this site's pyodide-lock.json/.test(error.message));
  await assert.rejects(wheelsAsked({ requirements: ["numpy"] }, { baseURL: BASE, fetch }), /numpy is not in this site's pyodide-lock.json/);
  await assert.rejects(wheelsAsked({ imports: "helper" }, { baseURL: BASE, fetch }), /imports must be a list of names/);
  await assert.rejects(wheelsAsked({ requirements: [{ url: "/x.whl", sha256: "0".repeat(64) }] }, { baseURL: BASE, fetch }),
    /requirements must be a list of names/);
});

// What `cloche serve` offers beyond the dist: Pyodide's packages, and PyPI's when allowed.
const NUMPY = bytes("wheel numpy");
const TABLES = bytes("wheel tables");
const SERVER_LOCK = { pyodide: "314.0.7", pypi: false, packages: {
  numpy: { name: "numpy", version: "2.4.6", file_name: "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl", sha256: sha(NUMPY), depends: ["helper"], imports: ["numpy"], package_type: "package" },
  scipy: { name: "scipy", version: "1.16", file_name: "scipy-1.16-cp314-cp314-pyemscripten_2026_0_wasm32.whl", sha256: "0".repeat(64), depends: ["libopenblas"], imports: ["scipy"] },
  libopenblas: { name: "libopenblas", version: "0.3.31", file_name: "libopenblas-0.3.31.zip", sha256: "0".repeat(64), depends: [], package_type: "shared_library" },
} };
const TABLES_ENTRY = { name: "tables-lib", version: "3.0", file_name: "tables_lib-3.0-py3-none-any.whl", sha256: sha(TABLES), depends: ["numpy", "tools-a"], imports: ["tables_lib"] };
/** @param {any} value @param {number} [status] */
const json = (value, status = 200) => () => new Response(JSON.stringify(value), { status });
/** @param {string} text @param {number} status */
const text = (text, status) => () => new Response(text, { status });
/** `cloche serve`'s routes; `pypi`: whether it allows PyPI, `projects`: its answers by name. */
function server({ pypi = false, projects = /** @type {Record<string, () => Response>} */ ({}) } = {}) {
  const refused = text("this server does not install packages from PyPI at run time; its operator can allow it with `cloche serve --allow-pypi`", 403);
  return site(FILES, {
    "packages/pyodide-lock.json": json({ ...SERVER_LOCK, pypi }),
    [`packages/pyodide/${SERVER_LOCK.packages.numpy.file_name}`]: () => new Response(NUMPY),
    [`packages/pypi/files/${TABLES_ENTRY.file_name}`]: () => new Response(TABLES),
    ...Object.fromEntries(Object.entries(projects).map(([name, answer]) => [`packages/pypi/${name}.json`, pypi ? answer : refused])),
  });
}

test("a package the dist lacks comes from Pyodide's packages through this origin's server", async () => {
  const { fetch, asked } = server();
  const wheels = await wheelsFor(["NumPy"], { baseURL: BASE, fetch, have: ["cloche"] });
  assert.deepEqual(wheels.map((w) => [w.fileName, decode(w.base64)]),
    [["helper-2.0-py3-none-any.whl", "wheel helper"], [SERVER_LOCK.packages.numpy.file_name, "wheel numpy"]]);
  assert.ok(asked.includes(`${BASE}packages/pyodide/${SERVER_LOCK.packages.numpy.file_name}`), asked.join());
  assert.ok(asked.every((url) => url.startsWith(BASE)), "everything comes from the page's origin");
  // By the module it provides too, and the server's lock is asked once per page.
  const byImport = await wheelsAsked({ imports: ["numpy"], have: ["cloche", "helper"] }, { baseURL: BASE, fetch });
  assert.deepEqual(byImport.packages, ["numpy"]);
  assert.equal(asked.filter((url) => url.endsWith("packages/pyodide-lock.json")).length, 1);
});

test("with PyPI allowed, a pure wheel comes from PyPI through the server, its dependencies from every source", async () => {
  const { fetch, asked } = server({ pypi: true, projects: { "tables-lib": json(TABLES_ENTRY) } });
  const wheels = await wheelsFor(["tables_lib"], { baseURL: BASE, fetch, have: ["cloche"] });
  assert.deepEqual(wheels.map((w) => w.fileName), ["helper-2.0-py3-none-any.whl", SERVER_LOCK.packages.numpy.file_name,
    "tools_a-1.0-py3-none-any.whl", "tables_lib-3.0-py3-none-any.whl"]);
  assert.ok(asked.includes(`${BASE}packages/pypi/tables-lib.json`));
  assert.ok(asked.includes(`${BASE}packages/pypi/files/tables_lib-3.0-py3-none-any.whl`));
});

test("a package no source has is refused naming the sources tried and what the operator can do", async () => {
  const notAllowed = server({ projects: { nope: text("", 404) } });
  await assert.rejects(wheelsFor(["nope"], { baseURL: BASE, fetch: notAllowed.fetch }), (/** @type {any} */ error) =>
    error.message === "nope is not in this site's pyodide-lock.json nor in Pyodide 314.0.7's packages, " +
      "and this server does not fetch from PyPI (`cloche serve --allow-pypi`)");
  assert.ok(!notAllowed.asked.some((url) => url.includes("/pypi/")), "PyPI is not asked when the server says it does not fetch from it");
  const allowed = server({ pypi: true, projects: { nope: text("PyPI (https://pypi.org) has no project named nope", 404) } });
  await assert.rejects(wheelsAsked({ requirements: ["tools-a", "nope"] }, { baseURL: BASE, fetch: allowed.fetch }), (/** @type {any} */ error) =>
    error.message === "nope is not in this site's pyodide-lock.json nor in Pyodide 314.0.7's packages, " +
      "nor on PyPI: PyPI (https://pypi.org) has no project named nope");
  const broken = server({ pypi: true, projects: { down: text("https://pypi.org/pypi/down/json could not be reached (x)", 502) } });
  await assert.rejects(wheelsFor(["down"], { baseURL: BASE, fetch: broken.fetch }),
    /down could not be looked up on PyPI: \/app\/packages\/pypi\/down.json answered 502: https:\/\/pypi.org\/pypi\/down\/json could not be reached/);
  // A static host has no package server: only the dist's own packages install.
  await assert.rejects(wheelsFor(["numpy"], { baseURL: BASE, fetch: site().fetch }),
    /numpy is not in this site's pyodide-lock.json: only the dist's own packages install here/);
});

test("a file the server refuses or that arrives changed is not installed; nor is a shared library", async () => {
  const bad = site(FILES, {
    "packages/pyodide-lock.json": json(SERVER_LOCK),
    [`packages/pyodide/${SERVER_LOCK.packages.numpy.file_name}`]: text(`${SERVER_LOCK.packages.numpy.file_name} from /mirror has sha256 1, but lock says 2: refused`, 502),
  });
  await assert.rejects(wheelsFor(["numpy"], { baseURL: BASE, fetch: bad.fetch, have: ["helper"] }), (/** @type {any} */ error) =>
    error.message === `${SERVER_LOCK.packages.numpy.file_name}: /app/packages/pyodide/${SERVER_LOCK.packages.numpy.file_name} answered 502: ` +
      `${SERVER_LOCK.packages.numpy.file_name} from /mirror has sha256 1, but lock says 2: refused`);
  const changed = site(FILES, {
    "packages/pyodide-lock.json": json(SERVER_LOCK),
    [`packages/pyodide/${SERVER_LOCK.packages.numpy.file_name}`]: () => new Response(bytes("other")),
  });
  await assert.rejects(wheelsFor(["numpy"], { baseURL: BASE, fetch: changed.fetch, have: ["helper"] }),
    /does not match its sha256 .*: it changed between this server and the page; it was not installed/);
  await assert.rejects(wheelsFor(["scipy"], { baseURL: BASE, fetch: server().fetch }),
    /scipy needs libopenblas, which is a shared library \(libopenblas-0.3.31.zip\): run-time installs cannot load those yet/);
});
