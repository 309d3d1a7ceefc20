// The palette with no model configured: any tool run by hand through a form made from its schema,
// with validation before sending; conversations exported and imported as files.
import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { openAgent, scriptModel, sendMessage } from "./support/agent.js";

const SHOTS = "test-output/screenshots";

/**
 * @param {import("@playwright/test").Page} page
 * @param {string} name
 */
async function openTool(page, name) {
  await page.locator("#tool-list").getByRole("button", { name: new RegExp(`^\\S*\\s*${name.replace(".", "\\.")}\\b`) }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  return dialog;
}

test("a WASM tool runs by hand, and a bad value is stopped before sending", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Search tools").fill("primes");
  await expect(page.locator("#tool-list .tool")).toHaveCount(3);
  const dialog = await openTool(page, "primes.count");
  await expect(dialog.getByRole("heading", { name: "Count primes" })).toBeVisible();
  const limit = dialog.getByLabel(/Limit/);
  await limit.fill("-5");
  await dialog.getByRole("button", { name: "Run primes.count" }).click();
  await expect(dialog.locator(".field-error")).toContainText(/0/);
  await expect(limit).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.locator(".tool-card")).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/palette-form-errors.png` });
  await limit.fill("100");
  await dialog.getByRole("button", { name: "Run primes.count" }).click();
  const card = dialog.locator(".tool-card");
  await expect(card).toHaveAttribute("data-status", "ok");
  await expect(card.locator(".tool-fields")).toContainText("25");
  await page.screenshot({ path: `${SHOTS}/palette-result.png` });
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("a Python tool with an array argument runs by hand", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  const dialog = await openTool(page, "regex.search");
  await dialog.getByLabel(/^Pattern/).fill("b[a-z]+");
  await dialog.getByLabel(/^Text/).fill("Big bad Bob");
  await dialog.getByRole("button", { name: /^Add / }).click();
  await dialog.getByRole("combobox", { name: "Flags 1" }).selectOption({ label: "ignorecase" });
  await page.screenshot({ path: `${SHOTS}/palette-form.png` });
  await dialog.getByRole("button", { name: "Run regex.search" }).click();
  const card = dialog.locator(".tool-card");
  await expect(card).toHaveAttribute("data-status", "ok");
  await expect(card).toContainText("Big");
  await expect(card).toContainText("Bob");
});

test("a WASM tool with an array argument runs by hand", async ({ page }) => {
  await page.goto("/");
  const dialog = await openTool(page, "primes.check");
  await dialog.getByRole("button", { name: "Add numbers" }).click();
  await dialog.getByRole("button", { name: "Add numbers" }).click();
  await dialog.getByRole("spinbutton", { name: "Numbers 1", exact: true }).fill("97");
  await dialog.getByRole("spinbutton", { name: "Numbers 2", exact: true }).fill("561");
  await dialog.getByRole("button", { name: "Run primes.check" }).click();
  const card = dialog.locator(".tool-card");
  await expect(card).toHaveAttribute("data-status", "ok");
  const result = await page.evaluate(() => window.cloche.state.runner?.message?.cloche.result.structuredContent);
  expect(result).toEqual({ results: [{ n: 97, prime: true }, { n: 561, prime: false }], primes: 1 });
});

test("a conversation exports as Markdown and JSON, and the JSON imports as a new conversation", async ({ page }) => {
  await openAgent(page, { waitForPython: false });
  await scriptModel([{ text: "Exported answer." }]);
  await sendMessage(page, "Please export me.");
  await expect(page.locator(".message.assistant")).toContainText("Exported answer.");

  const [markdown] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", { name: "Export Markdown" }).click()]);
  expect(markdown.suggestedFilename()).toBe("please-export-me.md");
  const text = readFileSync(await markdown.path(), "utf8");
  expect(text).toContain("Please export me.");
  expect(text).toContain("Exported answer.");

  const [json] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", { name: "Export JSON" }).click()]);
  const jsonPath = await json.path();
  await page.getByLabel("Import conversation…").setInputFiles(jsonPath);
  const list = page.getByRole("navigation", { name: "Conversations" });
  await expect(list.getByRole("button", { name: "Please export me.", exact: true })).toHaveCount(2);

  await page.getByLabel("Import conversation…").setInputFiles({
    name: "broken.json", mimeType: "application/json", buffer: Buffer.from('{"format": "something else"}'),
  });
  await expect(page.getByRole("alert")).toContainText("broken.json could not be imported");
});

test("python.run by hand in a session: the Runtimes panel lists the session, and a call without one does not see it", async ({ page }) => {
  await page.goto("/");
  const worker = page.locator('#runtimes [data-worker="python-python"]');
  await expect(worker).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await expect(worker.locator(".worker-sessions")).toContainText("No sessions yet.");
  const run = async (/** @type {string} */ code, /** @type {string} */ session) => {
    const dialog = await openTool(page, "python.run");
    await dialog.getByLabel(/^Code/).fill(code);
    if (session) await dialog.getByLabel(/^Session/).fill(session);
    await dialog.getByRole("button", { name: "Run python.run" }).click();
    const card = dialog.locator(".tool-card");
    await expect(card).toHaveAttribute("data-status", /ok|error/);
    const text = await card.innerText();
    await page.keyboard.press("Escape");
    return text;
  };
  await run("notes = ['first']", "notes");
  await expect(worker.locator(".worker-sessions")).toContainText("Sessions: notes.");
  expect(await run("notes", "notes")).toContain("['first']");
  expect(await run("'notes' in globals()", "")).toContain("False");
  await page.locator("#runtimes").screenshot({ path: `${SHOTS}/runtimes-sessions.png` });
});
