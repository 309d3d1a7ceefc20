// The agent UI's WebMCP opt-in: with the browser's WebMCP on, the Tools panel offers a checkbox;
// checked, every tool is registered for the browser's own agent and a call runs through the page's
// host; unchecked (the default), nothing is offered.
import { test, expect } from "@playwright/test";
import { WEBMCP_LAUNCH } from "./support/webmcp.js";

test.use({ launchOptions: WEBMCP_LAUNCH });

test("the agent UI offers its tools to the browser's agent only when the user opts in", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  expect(await page.webmcp.tools()).toEqual([]);
  const optIn = page.getByLabel("Offer these tools to this browser's own agent (WebMCP)");
  await optIn.scrollIntoViewIfNeeded();
  await optIn.check();
  await expect.poll(async () => (await page.webmcp.tools()).map((tool) => tool.name)).toEqual(
    expect.arrayContaining(["hash.sha256", "text.stats", "python.run"]));
  const stats = /** @type {any} */ (await page.webmcp.callTool("text.stats", { text: "one two three" }));
  expect(stats.structuredContent.words).toBe(3);
  // Remembered on this browser; unchecked, the tools are withdrawn.
  await page.reload();
  await expect.poll(async () => (await page.webmcp.tools()).length).toBeGreaterThan(5);
  await page.getByLabel("Offer these tools to this browser's own agent (WebMCP)").uncheck();
  await expect.poll(async () => (await page.webmcp.tools()).length).toBe(0);
});
