// Packages at run time: python.run's code gets the packages the dist offers by importing them (or
// with micropip.install by name); the page fetches each wheel and checks it against the lock, the
// worker (which has no network) installs the bytes. A URL, or a name the dist does not offer, is
// refused with a message that says so.
import { test, expect } from "@playwright/test";
import { startHost, callTool } from "./support/host.js";

/**
 * The wheels this page fetched, by file name.
 * @param {import("@playwright/test").Page} page
 */
function fetchedWheels(page) {
  /** @type {string[]} */
  const fetched = [];
  page.on("request", (request) => {
    const name = new URL(request.url()).pathname.split("/").pop() ?? "";
    if (name.endsWith(".whl")) fetched.push(name);
  });
  return fetched;
}

test("an import of a package the dist offers installs it first, fetched by the page", async ({ page }) => {
  const fetched = fetchedWheels(page);
  await startHost(page, { packagesOf: { "python-python": ["cloche-tools-python"] } });
  const before = fetched.length;
  const run = await callTool(page, "python.run", {
    code: "import cloche_tools_date\nfrom importlib.metadata import version\nversion('cloche-tools-date')",
  });
  expect(run.result?.isError, JSON.stringify(run)).toBeFalsy();
  expect(run.result?.structuredContent?.value).toBe("'0.1.0'");
  expect(fetched.slice(before)).toEqual(["cloche_tools_date-0.1.0-py3-none-any.whl"]);
  // Its tools are not offered: the code asked for the package, not the host.
  expect(await page.evaluate(() => window.host.tools.map((t) => t.name))).toEqual(["python.run"]);
});

test("micropip.install by name works in the locked-down worker; a URL or a name the dist lacks is refused", async ({ page }) => {
  const fetched = fetchedWheels(page);
  await startHost(page, { packagesOf: { "python-python": ["cloche-tools-python"] } });
  const before = fetched.length;
  const code = [
    "import micropip",
    "await micropip.install('cloche-tools-csv')",
    "import cloche_tools_csv",
    "cloche_tools_csv.__name__",
  ].join("\n");
  const installed = await callTool(page, "python.run", { code, session: "data" });
  expect(installed.result?.structuredContent?.value, JSON.stringify(installed)).toBe("'cloche_tools_csv'");
  expect(fetched.slice(before)).toEqual(["cloche_tools_csv-0.1.0-py3-none-any.whl"]);
  const url = await callTool(page, "python.run", {
    code: "import micropip\nawait micropip.install('https://example.test/evil-1.0-py3-none-any.whl')", session: "data",
  });
  expect(url.result?.isError).toBe(true);
  expect(url.result?.content?.[0]?.text).toContain("is not available to tool code");
  const absent = await callTool(page, "python.run", { code: "import micropip\nawait micropip.install('cloche-no-such-package')" });
  expect(absent.result?.isError).toBe(true);
  expect(absent.result?.content?.[0]?.text).toContain("cloche-no-such-package is not in this site's pyodide-lock.json " +
    "nor in Pyodide 314.0.7's packages, and this server does not fetch from PyPI (`cloche serve --allow-pypi`)");
  const unknown = await callTool(page, "python.run", { code: "import no_such_module_here" });
  expect(unknown.result?.content?.[0]?.text).toContain("ModuleNotFoundError: No module named 'no_such_module_here'");
});
