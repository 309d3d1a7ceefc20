// Start a WorkerHost inside a same-origin, cross-origin isolated page, for tests that drive it.
// The page is /healthz: it carries COOP and COEP like every response, and boots nothing itself.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * @param {import("@playwright/test").Page} page
 * @param {{packagesOf?: Record<string, string[]>, graceMs?: number, longLived?: boolean}} [options]
 *   packagesOf: worker name -> packages, to start only those workers with only those packages;
 *   longLived: python.run's worker without its per-call isolation, so that it keeps running from
 *   one call to the next like any tool package's worker (for what happens to such a worker)
 */
export async function startHost(page, options = {}) {
  await page.goto("/healthz");
  await page.evaluate(async ({ packagesOf, graceMs, longLived }) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const { loadRegistry, pythonWorkerSpecs } = await import("/app/tool-workers.js");
    const base = new URL("/", location.href);
    let specs = pythonWorkerSpecs(await loadRegistry(new URL("registry.json", base)), base);
    if (packagesOf) {
      specs = specs.filter((spec) => spec.name in packagesOf)
        .map((spec) => ({ ...spec, options: { packages: packagesOf[spec.name] } }));
    }
    if (longLived) specs = specs.map(({ isolateCalls, ...spec }) => spec);
    const { wheelsAsked } = await import("/app/wheel-source.js");
    // As the page makes it: packages code asks for come from this dist's lock.
    const host = new WorkerHost({ spawn: moduleWorkerSpawner(), graceMs, wheels: (params) => wheelsAsked(params, { baseURL: base }) });
    const events = [];
    host.onWorkerEvent = (event) => events.push(event);
    await Promise.all(specs.map((spec) => host.addWorker(spec)));
    Object.assign(window, { host, events });
  }, { packagesOf: options.packagesOf, graceMs: options.graceMs ?? 1500, longLived: options.longLived ?? false });
}

/**
 * Call a tool through the page's host; resolves to {result} or {error: {code, message}}.
 * @param {import("@playwright/test").Page} page
 * @param {string} name
 * @param {object} args
 * @param {number} [timeoutMs]
 */
export function callTool(page, name, args, timeoutMs) {
  return page.evaluate(async ({ name, args, timeoutMs }) => {
    try {
      return { result: await window.host.callTool(name, args, { timeoutMs }) };
    } catch (error) {
      return { error: { code: error.code, message: String(error.message) } };
    }
  }, { name, args, timeoutMs });
}

/**
 * Serve test-output/fixtures/* at /__fixtures__/* for this page (and its workers).
 * @param {import("@playwright/test").Page} page
 */
export async function serveFixtures(page) {
  await page.route("**/__fixtures__/**", (route) => {
    const name = new URL(route.request().url()).pathname.split("/").pop() || "";
    const contentType = name.endsWith(".js") ? "text/javascript" : "application/zip";
    return route.fulfill({ path: `test-output/fixtures/${name}`, contentType });
  });
}

/** The conformance tools' wheel (built into test-output/fixtures by global-setup), with its sha256. */
export function conformanceWheel() {
  const name = "cloche_conformance_tools-1.0-py3-none-any.whl";
  const sha256 = createHash("sha256").update(readFileSync(`test-output/fixtures/${name}`)).digest("hex");
  return { url: `/__fixtures__/${name}`, sha256 };
}

/**
 * Install wheels into a Python worker the way the page does: the page fetches them (the worker
 * has no network), checks each sha256, tells the host which tools they bring (the registry's, for
 * names; `tools` for a wheel outside the dist), and sends the bytes with cloche/install.
 * @param {import("@playwright/test").Page} page
 * @param {(string | {url: string, sha256: string})[]} requirements  names in the dist's lock, or same-origin wheels
 * @param {{host?: string, worker?: string, tools?: string[]}} [options]  host: the page's global holding the WorkerHost
 */
export async function installWheels(page, requirements, options = {}) {
  return page.evaluate(async ({ requirements, hostPath, worker, tools }) => {
    const { wheelsFor } = await import("/app/wheel-source.js");
    const { loadRegistry, toolsOf } = await import("/app/tool-workers.js");
    const host = hostPath.split(".").reduce((o, k) => o[k], window);
    const names = requirements.filter((r) => typeof r === "string");
    const registry = await loadRegistry(new URL("/registry.json", location.href));
    const spec = host.workers.get(worker)?.spec;
    if (spec?.expectedTools) spec.expectedTools.push(...toolsOf(registry, names), ...tools);
    const wheels = await wheelsFor(requirements, { baseURL: location.href, have: ["cloche", "micropip"] });
    return host.request(worker, "cloche/install", { wheels }, { replay: true });
  }, { requirements, hostPath: options.host ?? "host", worker: options.worker ?? "python-tools", tools: options.tools ?? [] });
}

/**
 * Wait until an isolated worker's fresh spare is up (WorkerHost's isolateCalls): a test that times
 * a deadline's grace period starts its call once the spare's boot no longer competes for the CPU.
 * @param {import("@playwright/test").Page} page
 * @param {string} [worker]
 */
export async function spareReady(page, worker = "python-python") {
  await page.waitForFunction((name) => {
    const spare = window.host.workers.get(name);
    return spare && !spare.restarting && !spare.given;
  }, worker, { timeout: 60_000 });
}
