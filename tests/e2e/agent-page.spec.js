// The agent page's safety and first impression: model output renders inert under the page's CSP,
// the page works with no model, lists tools before any worker answers, and recovers from a failed
// Python start. Screenshots at phone width and in the dark theme.
import { test, expect } from "@playwright/test";
import { openAgent, scriptModel, sendMessage, toolCard, openCard, modelOriginHits, FAKE_MODEL_URL } from "./support/agent.js";

const SHOTS = "test-output/screenshots";

test("hostile Markdown from the model renders inert and sends nothing off the origin", async ({ page }) => {
  const violations = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await openAgent(page, { waitForPython: false });
  const hostile = [
    "Here is your report.",
    "<script>window.pwned = 'script'</script>",
    "<img src=x onerror=\"window.pwned = 'onerror'\">",
    "[Open the report](javascript:window.pwned='link')",
    `![chart](${FAKE_MODEL_URL}track.png?q=secret)`,
    `<img src="${FAKE_MODEL_URL}track2.png?q=secret">`,
    "<iframe src=\"javascript:parent.pwned='iframe'\"></iframe>",
  ].join("\n\n");
  await scriptModel([{ text: hostile }]);
  await sendMessage(page, "Summarise the report.");
  const answer = page.locator(".message.assistant").last();
  await expect(answer).toHaveAttribute("data-streaming", "false");
  await expect(answer).toContainText("Here is your report.");
  await expect(answer.locator("script, iframe, [onerror]")).toHaveCount(0);
  const link = answer.getByText("Open the report");
  await expect(link).toBeVisible();
  expect(await link.getAttribute("href")).toBeNull();
  await link.click();
  // Even an image that slipped past the sanitizer is stopped by the page's CSP (img-src).
  await page.evaluate((url) => {
    const image = document.createElement("img");
    image.src = `${url}direct.png?q=secret`;
    document.body.append(image);
  }, FAKE_MODEL_URL);
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => window.pwned)).toBeUndefined();
  expect(await modelOriginHits()).toEqual([]);
  expect(violations.join("\n")).toContain("img-src");
  await page.screenshot({ path: `${SHOTS}/agent-hostile-markdown.png` });
});

test("with no model configured, one sentence says how, and the tools still work", async ({ page }) => {
  const failures = [];
  page.on("response", (response) => { if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`); });
  await page.goto("/");
  await expect(page.locator("#no-model")).toContainText("No model is configured on this server yet");
  await expect(page.locator("#no-model")).toContainText("docs/relay.md");
  await expect(page.getByLabel("Message", { exact: true })).toBeDisabled();
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  const result = await page.evaluate(() => window.cloche.callTool("text.stats", { text: "one two three" }));
  expect(JSON.stringify(result.structuredContent)).toContain("3");
  await page.screenshot({ path: `${SHOTS}/agent-no-model.png` });
  expect(failures).toEqual([]);
  const icon = await page.request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
});

test("tools are listed from registry.json before any Python worker answers", async ({ page }) => {
  // Hold the Python workers' script: only registry.json can fill the list.
  await page.route("**/workers/python-worker.js", () => {});
  await page.goto("/");
  const python = page.locator("#tool-list .tool", { hasText: "python.run" });
  await expect(python).toHaveAttribute("data-worker-state", "starting");
  await expect(page.locator("#tool-list .tool", { hasText: "hash.sha256" })).toHaveAttribute("data-worker-state", "ready");
  await expect(page.locator("#tool-list")).toContainText("csv.summary");
});

test("the boot status never shows an empty 'Loading packages:'", async ({ page }) => {
  await page.addInitScript(() => {
    window.statusTexts = [];
    new MutationObserver(() => {
      const text = document.getElementById("python-message")?.textContent;
      if (text && text !== window.statusTexts.at(-1)) window.statusTexts.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.goto("/");
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  const texts = await page.evaluate(() => window.statusTexts);
  expect(texts.length).toBeGreaterThan(2);
  expect(texts.filter((text) => /:\s*$/.test(text))).toEqual([]);
});

test("when Python fails to start, WASM tools stay usable and Retry starts it again", async ({ page }) => {
  await page.route("**/pyodide.asm.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.goto("/");
  const status = page.locator("#python-status");
  await expect(status).toHaveAttribute("data-state", "failed");
  await expect(page.locator("#python-message")).toContainText("pyodide.asm.wasm is missing");
  await expect(page.locator("#tool-list .tool", { hasText: "hash.sha256" })).toHaveAttribute("data-worker-state", "ready");
  await expect(page.locator("#tool-list .tool", { hasText: "python.run" })).toHaveAttribute("data-worker-state", "failed");
  const hash = await page.evaluate(() => window.cloche.callTool("hash.sha256", { text: "hello" }));
  expect(hash.structuredContent.hex).toMatch(/^2cf24dba/);
  await page.screenshot({ path: `${SHOTS}/agent-python-failed.png` });

  await page.unroute("**/pyodide.asm.wasm");
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(status).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await expect(page.locator("#tool-list .tool", { hasText: "python.run" })).toHaveAttribute("data-worker-state", "ready");
});

for (const { name, viewport, scheme } of [
  { name: "phone", viewport: { width: 390, height: 844 }, scheme: "light" },
  { name: "dark", viewport: { width: 1280, height: 800 }, scheme: "dark" },
]) {
  test(`a finished tool call at ${name === "phone" ? "phone width" : "wide width in the dark theme"}`, async ({ page }) => {
    await page.setViewportSize(viewport);
    await page.emulateMedia({ colorScheme: /** @type {"light" | "dark"} */ (scheme) });
    await openAgent(page);
    await scriptModel([
      { text: "Counting primes.", tool_calls: [{ name: "primes_count", arguments: { limit: 100000 } }] },
      { text: "There are **9592** primes below 100,000." },
    ]);
    await sendMessage(page, "How many primes are below 100,000?");
    await expect(toolCard(page, 0)).toHaveAttribute("data-status", "ok");
    await openCard(toolCard(page, 0));
    await expect(page.locator(".message.assistant").last()).toContainText("9592");
    await page.screenshot({ path: `${SHOTS}/agent-${name}.png` });
    if (name === "phone") {
      await page.getByRole("button", { name: "Tools", exact: true }).click();
      await expect(page.locator("#tools-panel")).toBeVisible();
      await page.screenshot({ path: `${SHOTS}/agent-phone-tools.png` });
      await page.getByRole("button", { name: "Tools", exact: true }).click();
      await page.getByRole("button", { name: "Conversations" }).click();
      await expect(page.getByRole("navigation", { name: "Conversations" })).toBeVisible();
      await page.screenshot({ path: `${SHOTS}/agent-phone-conversations.png` });
    }
  });
}
