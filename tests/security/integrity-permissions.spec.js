// Permission cases (issue 15): the hostile package, which declares nothing and was granted nothing,
// asks the page's host for the network and for another package's store, through the SDK, through
// pyodide.http.pyfetch, and on its worker's port claiming to be a granted package. The server's
// fetch proxy is open to the other origin (tests/security/playwright.config.js), so only the
// host's checks stand in the way. Each runs twice: as the control, against a host that believes
// the asking worker is the granted package (its sender check switched off), where it must get
// through; then against the host as the page sets it up (package-services.js `pageServices`),
// where it must not. Judged from outside: the other origin's record, the victim's secret.
import { test, expect } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";
import { OUTSIDE_PORT } from "./playwright.config.js";

const OUTSIDE = `http://127.0.0.1:${OUTSIDE_PORT}`;
const WHEEL = "cloche_hostile_tools-1.0-py3-none-any.whl";
const SECRET = "the victim's secret";

/** @type {{case: string, control: string, checked: string}[]} */
const results = [];
/** @type {import("@playwright/test").Page} */
let page;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto("/healthz");
  const wheel = { fileName: WHEEL, base64: readFileSync(`test-output/fixtures/${WHEEL}`).toString("base64") };
  await page.evaluate(async ({ wheel, secret }) => {
    const { WorkerHost } = await import("/app/worker-host.js");
    const { moduleWorkerSpawner } = await import("/app/worker-spawn.js");
    const { loadRegistry } = await import("/app/tool-workers.js");
    const { Grants } = await import("/app/permissions.js");
    const { PackageStore } = await import("/app/package-store.js");
    const { pageServices, packageServices, proxyThrough } = await import("/app/package-services.js");
    const base = new URL("/", location.href);
    const registry = await loadRegistry(new URL("registry.json", base));
    // Another package, granted the network and a store, which keeps a secret there.
    const victim = { name: "victim-tools", version: "1.0.0", runtime: "python", tools: [],
      permissions: { network: ["http://*"], storage: true } };
    const grants = new Grants(localStorage);
    grants.decide(victim, "allow");
    const store = new PackageStore({ name: "cloche-security-permissions" });
    await store.set(victim.name, "secret", secret);
    /** @type {Record<string, any>} */
    const hosts = {};
    for (const run of ["control", "checked"]) {
      const services = run === "checked"
        ? pageServices({ registry: () => registry, baseURL: base, grants, store })
        : packageServices({ packageOfWorker: () => victim, grants, store, proxy: proxyThrough({ baseURL: base }) });
      const host = new WorkerHost({ spawn: moduleWorkerSpawner(), services });
      await host.addWorker({ name: "python-tools", url: new URL("/workers/python-worker.js", location.href),
        interruptible: true, options: { packages: ["cloche-tools-text"] } });
      await host.request("python-tools", "cloche/install", { wheels: [wheel] });
      hosts[run] = host;
    }
    window.attempt = async (/** @type {string} */ run, /** @type {string} */ name, /** @type {string} */ target) =>
      (await hosts[run].callTool("hostile.attempt", { case: name, target }, { timeoutMs: 20_000 })).structuredContent;
    window.hosts = hosts;
  }, { wheel, secret: SECRET });
});

test.afterAll(async () => {
  writeFileSync("test-output/security/integrity-permissions.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`security: ${results.length} permission cases, ` +
    `${results.filter((r) => r.control === "worked").length} controls got through as they should, ` +
    `${results.filter((r) => r.checked === "worked").length} got past the host's checks`);
  await page?.close();
});

/** @param {string} path */
const reached = async (path) => (await (await fetch(`${OUTSIDE}/__hits`)).json()).some((/** @type {string} */ hit) => hit.startsWith(path));

const NETWORK = [
  { case: "host_fetch", what: "cloche.http.fetch to another origin, with no permission declared" },
  { case: "pyfetch", what: "pyodide.http.pyfetch to another origin, with no permission declared" },
  { case: "forged_sender_fetch", what: "cloche/fetch on the worker's port, claiming a granted package's name and worker" },
];

for (const item of NETWORK) {
  test(`permissions: ${item.what}`, async () => {
    /** @type {Record<string, {got: boolean, detail: string}>} */
    const runs = {};
    for (const run of ["control", "checked"]) {
      const path = `/hit/permissions-${item.case}/${run}`;
      const outcome = await page.evaluate(([run, name, url]) => window.attempt(run, name, url), [run, item.case, `${OUTSIDE}${path}`]);
      runs[run] = { got: await reached(path), detail: outcome.detail };
    }
    results.push({ case: item.what, control: runs.control.got ? "worked" : "failed", checked: runs.checked.got ? "worked" : "refused" });
    expect(runs.control.got, `the control must get through, or this case proves nothing: ${runs.control.detail}`).toBe(true);
    expect(runs.checked.got, `the host let it through: ${runs.checked.detail}`).toBe(false);
    expect(runs.checked.detail).toMatch(/the tools of worker "python-tools" declared no network access, so it has none/);
  });
}

test("permissions: cloche.store reads another package's secret, with no store declared", async () => {
  /** @type {Record<string, {completed: boolean, detail: string}>} */
  const runs = {};
  for (const run of ["control", "checked"]) {
    runs[run] = await page.evaluate(([run]) => window.attempt(run, "store_read", "secret"), [run]);
  }
  const got = (/** @type {{detail: string}} */ run) => run.detail.includes(SECRET);
  results.push({ case: "cloche.store reads another package's secret", control: got(runs.control) ? "worked" : "failed",
    checked: got(runs.checked) ? "worked" : "refused" });
  expect(got(runs.control), `the control must read it: ${runs.control.detail}`).toBe(true);
  expect(got(runs.checked), `the host let it read: ${runs.checked.detail}`).toBe(false);
  expect(runs.checked.detail).toMatch(/refused: the tools of worker "python-tools" declared no store, so it has none/);
  // The hostile package's own worker and the others still answer.
  const stats = await page.evaluate(() => window.hosts.checked.callTool("text.stats", { text: "still here" }));
  expect(stats.isError).toBeFalsy();
});
