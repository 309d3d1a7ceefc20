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

/** A fetch serving the lock and FILES under BASE, recording what was asked. @param {Record<string, Uint8Array>} files */
function site(files = FILES) {
  /** @type {string[]} */
  const asked = [];
  const fetch = async (/** @type {URL} */ url) => {
    asked.push(String(url));
    const name = new URL(url).pathname.split("/").pop() ?? "";
    if (name === "pyodide-lock.json") return new Response(JSON.stringify(LOCK));
    return name in files ? new Response(files[name]) : new Response("", { status: 404, statusText: "Not Found" });
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
