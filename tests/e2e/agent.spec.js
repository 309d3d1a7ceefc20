// The agent UI as a user meets it: a chat whose model (the scripted fake behind the real relay)
// calls Cloche's sandboxed tools through MCP, with approvals, progress, Stop and saved conversations.
import { test, expect } from "@playwright/test";
import {
  openAgent, scriptModel, modelRequests, sendMessage, toolCard, openCard, releaseModel,
} from "./support/agent.js";
import { serveFixtures, installWheels, conformanceWheel } from "./support/host.js";

const SHOTS = "test-output/screenshots";
const PROGRESS_CODE = "import asyncio\nfor i in range(4):\n    progress(i + 1, 4, f'step {i + 1} of 4')\n" +
  "    await asyncio.sleep(0.4)\n6 * 7";

for (const { model, kind } of [{ model: "fake-gpt", kind: "OpenAI" }, { model: "fake-claude", kind: "Anthropic" }]) {
  test(`a question answered with python.run and a WASM tool (${kind} upstream)`, async ({ page }) => {
    await openAgent(page, { model });
    if (kind === "OpenAI") await page.screenshot({ path: `${SHOTS}/agent-empty.png` });
    await scriptModel([
      { text: "Let me compute that in Python.", tool_calls: [{ name: "python_run", arguments: { code: PROGRESS_CODE } }] },
      { tool_calls: [{ name: "hash_sha256", arguments: { text: "hello" } }] },
      // The answer's first words arrive, then it waits until the test has seen it streaming.
      { text: "6 × 7 is **42**, and SHA-256 of “hello” starts with `2cf24dba`.", hold: true },
    ]);
    await sendMessage(page, "What is 6 × 7? Then hash the word hello.");
    await expect(page.locator(".message.user")).toHaveText(/What is 6 × 7\? Then hash the word hello\./);

    // python.run reaches nothing outside its sandbox and changes nothing outside it (its
    // annotations say so since the workers are locked down), so it runs without asking.
    const python = toolCard(page, 0);
    await expect(python.locator(".approval")).toHaveCount(0);

    // Progress notifications from the worker move the card's bar.
    await expect(python).toHaveAttribute("data-status", "running");
    const bar = python.locator(".tool-progress progress");
    await expect(bar).toHaveAttribute("max", "4");
    await expect(python.locator(".tool-progress-text")).toHaveText(/step [2-4] of 4/);
    if (kind === "OpenAI") await page.screenshot({ path: `${SHOTS}/agent-tool-running.png` });

    await expect(python).toHaveAttribute("data-status", "ok");
    await expect(python).not.toHaveAttribute("open", "");  // finished cards collapse
    await openCard(python);
    await expect(python.locator(".tool-fields")).toContainText("42");
    await expect(python.locator(".tool-elapsed")).toHaveText(/\d+(\.\d)? (ms|s)/);

    const hash = toolCard(page, 1);
    await expect(hash).toHaveAttribute("data-status", "ok");
    await openCard(hash);
    await expect(hash).toContainText("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");

    const answer = page.locator(".message.assistant").last();
    await expect(answer).toHaveAttribute("data-streaming", "true");
    await expect(answer).toContainText("6 × 7");
    await answer.scrollIntoViewIfNeeded();  // opening the cards above scrolled the chat up
    if (kind === "OpenAI") await page.screenshot({ path: `${SHOTS}/agent-streaming.png` });
    await releaseModel();
    await expect(answer).toHaveAttribute("data-streaming", "false");
    await expect(answer.locator(".markdown strong")).toHaveText("42");
    await expect(answer).toBeInViewport();  // the chat follows new content
    if (kind === "OpenAI") await page.screenshot({ path: `${SHOTS}/agent-finished.png` });

    // What the model was given: the tools under names it accepts, and each tool's result.
    const requests = await modelRequests();
    expect(requests).toHaveLength(3);
    const results = JSON.stringify(requests[2].body.messages);
    expect(results).toContain("42");
    expect(results).toContain("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    if (kind === "OpenAI") {
      const names = requests[0].body.tools.map((/** @type {any} */ t) => t.function.name);
      expect(names).toEqual(expect.arrayContaining(["python_run", "hash_sha256", "text_stats"]));
    } else {
      const names = requests[0].body.tools.map((/** @type {any} */ t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["python_run", "hash_sha256"]));
    }
  });
}

test("Stop ends a busy python.run; the card says so and the next call on that worker works", async ({ page }) => {
  await openAgent(page);
  await scriptModel([
    { tool_calls: [{ name: "python_run", arguments: { code: "while True:\n    pass" } }] },
    { tool_calls: [{ name: "python_run", arguments: { code: "sum(range(10))" } }] },
    { text: "The sum is 45." },
  ]);
  await sendMessage(page, "Loop forever.");
  const busy = toolCard(page, 0);
  await expect(busy).toHaveAttribute("data-status", "running");
  await page.waitForTimeout(500);
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(busy).toHaveAttribute("data-status", "stopped");
  await expect(page.locator(".notice[data-kind=stopped]")).toHaveText("Stopped.");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

  await sendMessage(page, "Now add up 0 to 9.");
  const next = toolCard(page, 1);
  await expect(next).toHaveAttribute("data-status", "ok");
  await expect(page.locator(".message.assistant").last()).toContainText("The sum is 45.");
  await openCard(next);
  await expect(next.locator(".tool-fields")).toContainText("45");
  // The model was told the first call was stopped.
  expect(JSON.stringify((await modelRequests())[1].body.messages)).toContain("The user stopped this call.");
});

test("a tool that declares no annotations asks first, and a denial is told to the model", async ({ page }) => {
  await serveFixtures(page);
  await openAgent(page);
  await installWheels(page, [conformanceWheel()],
    { host: "cloche.host", tools: ["conformance.count", "conformance.cancellations"] });
  await expect(page.locator("#tool-list")).toContainText("conformance.count");
  await scriptModel([
    { tool_calls: [{ name: "conformance_count", arguments: { to: 3 } }] },
    { text: "Understood, I will not count." },
  ]);
  await sendMessage(page, "Count to three.");
  const card = toolCard(page, 0);
  await expect(card.getByRole("group", { name: "Approve conformance.count?" }))
    .toContainText("declares no annotations, so it counts as both");
  await page.screenshot({ path: `${SHOTS}/agent-approval.png` });
  await card.getByRole("button", { name: "Deny" }).click();
  await expect(card).toHaveAttribute("data-status", "denied");
  await expect(page.locator(".message.assistant").last()).toContainText("Understood, I will not count.");
  const told = JSON.stringify((await modelRequests())[1].body.messages);
  expect(told).toMatch(/denied/i);
});

test("the approval prompt shows what the tool's package may reach; the permission question follows, and this server's closed proxy is named", async ({ page }) => {
  // web.fetch is on demand: installed earlier on this browser, never answered for.
  await page.addInitScript(() => localStorage.setItem("cloche.packages", JSON.stringify({ added: ["cloche-tools-web"], removed: [] })));
  await openAgent(page);
  await expect(page.locator("#tool-list")).toContainText("web.fetch");
  await scriptModel([
    { tool_calls: [{ name: "web_fetch", arguments: { url: "https://example.org/" } }] },
    { text: "The page could not be read." },
  ]);
  await sendMessage(page, "What does example.org say?");
  const card = toolCard(page, 0);
  const approval = card.getByRole("group", { name: "Approve web.fetch?" });
  await expect(approval).toContainText("Its package cloche-tools-web 0.1.0 asks for:");
  await expect(approval.getByRole("list", { name: "What cloche-tools-web may reach" }))
    .toHaveText(/Network: any site over https, any site over http\s*Asks on first use/);
  await page.screenshot({ path: `${SHOTS}/agent-approval-permissions.png` });
  await card.getByRole("button", { name: "Allow once" }).click();
  const question = page.getByRole("dialog");
  await expect(question).toContainText("Allow cloche-tools-web 0.1.0 to reach beyond its sandbox?");
  await question.getByRole("button", { name: "Allow", exact: true }).click();
  // This server's operator opened its fetch proxy to nothing: the call fails and says so.
  await expect(card).toHaveAttribute("data-status", "error", { timeout: 60_000 });
  await expect(card).toContainText("fetch proxy is off: its operator allows no origins");
  await expect(page.locator(".message.assistant").last()).toContainText("The page could not be read.");
});

test("a conversation, its system prompt and its title survive a reload; switch and delete", async ({ page }) => {
  await openAgent(page, { waitForPython: false });
  await scriptModel([{ text: "Remembered: the colour is teal." }, { text: "A second answer." }]);
  await page.locator(".system-prompt > summary").click();
  await page.getByLabel("System prompt for this conversation").fill("Answer in one sentence.");
  await page.getByLabel("System prompt for this conversation").blur();
  await sendMessage(page, "Remember the colour teal.");
  await expect(page.locator(".message.assistant")).toContainText("Remembered: the colour is teal.");
  expect((await modelRequests())[0].body.messages[0]).toEqual({ role: "system", content: "Answer in one sentence." });

  const list = page.getByRole("navigation", { name: "Conversations" });
  await list.getByRole("button", { name: /^Rename/ }).first().click();
  await list.getByLabel("New title").fill("Colours");
  await list.getByLabel("New title").press("Enter");
  await expect(list.getByRole("button", { name: "Colours", exact: true })).toBeVisible();

  await page.getByRole("button", { name: "New conversation" }).click();
  await sendMessage(page, "Another topic.");
  await expect(page.locator(".message.assistant")).toContainText("A second answer.");

  await page.reload();
  await expect(list.getByRole("button", { name: "Another topic.", exact: true })).toBeVisible();
  await list.getByRole("button", { name: "Colours", exact: true }).click();
  await expect(page.locator(".message.assistant")).toContainText("Remembered: the colour is teal.");
  await expect(page.getByLabel("System prompt for this conversation")).toHaveValue("Answer in one sentence.");

  await list.getByRole("button", { name: "Delete “Colours”" }).click();
  await list.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(list.getByRole("button", { name: "Colours", exact: true })).toHaveCount(0);
  await expect(page.locator(".message.user")).toContainText("Another topic.");
});

test("Shift+Enter breaks the line and Enter sends", async ({ page }) => {
  await openAgent(page, { waitForPython: false });
  await scriptModel([{ text: "Two lines received." }]);
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("first line");
  await box.press("Shift+Enter");
  await box.pressSequentially("second line");
  await expect(box).toHaveValue("first line\nsecond line");
  await box.press("Enter");
  await expect(page.locator(".message.user")).toHaveText(/first line\s+second line/);
  await expect(box).toHaveValue("");
  await expect(page.locator(".message.assistant")).toContainText("Two lines received.");
  expect((await modelRequests())[0].body.messages.at(-1).content).toBe("first line\nsecond line");
});

test("a stream held by the model can be stopped, keeping what arrived", async ({ page }) => {
  await openAgent(page, { waitForPython: false });
  await scriptModel([{ text: "This answer starts and then waits for a long time.", hold: true }]);
  await sendMessage(page, "Tell me a long story.");
  const answer = page.locator(".message.assistant").last();
  await expect(answer).toContainText("This a");
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(page.locator(".notice[data-kind=stopped]")).toBeVisible();
  await expect(answer).toHaveAttribute("data-streaming", "false");
  await releaseModel();
});

test("Run again repeats a call by hand, without asking again, and the card shows the new result", async ({ page }) => {
  await openAgent(page);
  await scriptModel([
    { tool_calls: [{ name: "python_run", arguments: { code: "import time\ntime.time_ns()" } }] },
    { text: "That is the time in nanoseconds." },
  ]);
  await sendMessage(page, "What time is it in nanoseconds?");
  const card = toolCard(page, 0);
  await expect(page.locator(".message.assistant").last()).toContainText("That is the time in nanoseconds.");
  await openCard(card);
  const first = await card.locator(".tool-fields dd").first().textContent();
  await card.getByRole("button", { name: "Run again" }).click();
  await expect(card).toHaveAttribute("data-status", "ok");
  await expect(card.locator(".tool-fields dd").first()).not.toHaveText(first ?? "");
  await expect(card.locator(".approval")).toHaveCount(0);
});

test("Stop on code that swallows the interrupt replaces python.run's worker, and the next call works", async ({ page }) => {
  await openAgent(page);
  const stubborn = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass";
  await scriptModel([
    { tool_calls: [{ name: "python_run", arguments: { code: stubborn } }] },
    { tool_calls: [{ name: "python_run", arguments: { code: "'fresh worker'" } }] },
    { text: "It answered again." },
  ]);
  await sendMessage(page, "Run this stubborn loop.");
  const busy = toolCard(page, 0);
  await expect(busy).toHaveAttribute("data-status", "running");
  await page.waitForTimeout(500);
  await page.evaluate(() => { window.workerBefore = window.cloche.host.workers.get("python-python").handle; });
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(busy).toHaveAttribute("data-status", "stopped");
  // The worker is replaced in the background; its tools show it, and calls wait for it.
  await expect(page.locator("#tool-list .tool", { hasText: "python.run" })).toHaveAttribute("data-worker-state", /restarting|ready/);
  await sendMessage(page, "Try again.");
  const next = toolCard(page, 1);
  await expect(next).toHaveAttribute("data-status", "ok");
  await openCard(next);
  await expect(next.locator(".tool-fields")).toContainText("'fresh worker'");
  expect(await page.evaluate(() => window.cloche.host.workers.get("python-python").handle !== window.workerBefore)).toBe(true);
});
