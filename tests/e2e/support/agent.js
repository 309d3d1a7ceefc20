// The agent UI against the relay's second test server, whose upstream is the scripted fake model
// (tests/e2e/support/fake_model.py). Ports and the token are the ones tests/e2e/relay.toml names.
import { expect } from "@playwright/test";

export const AGENT_URL = "http://127.0.0.1:8773/";
export const FAKE_MODEL_URL = "http://127.0.0.1:8772/";
export const RELAY_TOKEN = "e2e-relay-token";

/**
 * Forget what the fake model saw and give it the turns to answer with, in order.
 * @param {object[]} turns  {text?, tool_calls?: [{name, arguments}], chunkDelayMs?, hold?}
 */
export async function scriptModel(turns) {
  await fetch(`${FAKE_MODEL_URL}__reset`, { method: "POST" });
  const response = await fetch(`${FAKE_MODEL_URL}__script`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ turns }),
  });
  expect(response.ok).toBe(true);
}

/** Every chat request the fake model received (the relay's translation for Anthropic). */
export async function modelRequests() {
  return (await fetch(`${FAKE_MODEL_URL}__requests`)).json();
}

/** GETs that reached the fake model's origin from anywhere (images, links). */
export async function modelOriginHits() {
  return (await fetch(`${FAKE_MODEL_URL}__hits`)).json();
}

export async function releaseModel() {
  await fetch(`${FAKE_MODEL_URL}__release`, { method: "POST" });
}

/**
 * Open the agent UI, give the relay's token as a user would, pick a model, wait for Python.
 * @param {import("@playwright/test").Page} page
 * @param {{model?: string, waitForPython?: boolean}} [options]
 */
export async function openAgent(page, options = {}) {
  await page.goto(AGENT_URL);
  const token = page.getByLabel("Access token");
  await expect(token).toBeVisible();
  await token.fill(RELAY_TOKEN);
  await page.getByRole("button", { name: "Use token" }).click();
  const picker = page.getByLabel("Model");
  await expect(picker).toBeVisible();
  await picker.selectOption(options.model ?? "fake-gpt");
  if (options.waitForPython !== false) {
    await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  }
}

/**
 * Type a message and press Enter.
 * @param {import("@playwright/test").Page} page
 * @param {string} text
 */
export async function sendMessage(page, text) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/**
 * The card of the n-th tool call in the conversation (0-based).
 * @param {import("@playwright/test").Page} page
 * @param {number} index
 */
export function toolCard(page, index) {
  return page.locator(".tool-card").nth(index);
}

/**
 * Open a finished (collapsed) tool card by its own summary, not the structured result's.
 * @param {import("@playwright/test").Locator} card
 */
export async function openCard(card) {
  await card.locator(":scope > summary").click();
  await expect(card).toHaveAttribute("open", "");
}
