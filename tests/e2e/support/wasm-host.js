// A page with a WorkerHost running the WASM worker, and test packages served to it.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** Where test packages are served: the worker's policy only lets it fetch under /wasm/. */
export const TEST_PACKAGES = "/wasm/__test__/";

/**
 * Serve `files` (path under TEST_PACKAGES -> bytes or text) to this page and its workers.
 * @param {import("@playwright/test").Page} page @param {Record<string, string | Uint8Array>} files
 */
export async function serveTestPackages(page, files) {
  await page.route(`**${TEST_PACKAGES}**`, (route) => {
    const path = new URL(route.request().url()).pathname.slice(TEST_PACKAGES.length);
    if (!(path in files)) return route.fulfill({ status: 404, body: "not a test package file" });
    const contentType = path.endsWith(".wasm") ? "application/wasm" : "application/json";
    return route.fulfill({ body: Buffer.from(files[path]), contentType });
  });
}

/**
 * The files of a test package `name` built from a manifest, with `module` as its module.
 * @param {string} name @param {object} manifest @param {Uint8Array} module
 */
export function packageFiles(name, manifest, module) {
  const sha256 = createHash("sha256").update(module).digest("hex");
  return {
    [`${name}/manifest.json`]: JSON.stringify({ ...manifest, name, module: `${name}.wasm`, sha256 }),
    [`${name}/${name}.wasm`]: module,
  };
}

/** @param {string} folder a package folder of the repository */
export function readPackage(folder) {
  const manifest = JSON.parse(readFileSync(`${folder}/manifest.json`, "utf8"));
  return { manifest, module: new Uint8Array(readFileSync(`${folder}/${manifest.module}`)) };
}

/**
 * Start a WorkerHost with one WASM worker that has every first-party package; window.host is the
 * host and window.events its worker events.
 * @param {import("@playwright/test").Page} page
 */
export async function startWasmHost(page) {
  await page.goto("/healthz");
  const manifests = JSON.parse(readFileSync("dist/registry.json", "utf8")).wasmPackages.map((p) => p.manifest);
  await page.evaluate(async (manifests) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs: 500 });
    const events = [];
    host.onWorkerEvent = (event) => events.push(event);
    await host.addWorker({ name: "wasm", url: new URL("/workers/wasm-worker.js", location.href),
      options: { manifests } });
    Object.assign(window, { host, events });
  }, manifests);
}

/**
 * Ask the WASM worker to load the test package `name`: {result} or {error: {code, message}}.
 * @param {import("@playwright/test").Page} page @param {string} name
 */
export function loadTestPackage(page, name) {
  return page.evaluate(async (manifestURL) => {
    try {
      return { result: await window.host.request("wasm", "cloche/load", { manifestURL }) };
    } catch (error) {
      return { error: { code: error.code, message: String(error.message) } };
    }
  }, `${TEST_PACKAGES}${name}/manifest.json`);
}
