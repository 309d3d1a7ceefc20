// Files and the runtime panel, as a user meets them: a real file attached to a palette form (CSV
// summary, SHA-256 of bytes), an oversized one refused, a file attached in the chat that the model
// passes to a tool by its id, and packages installed and removed while the page runs.
import { test, expect } from "@playwright/test";
import { createHash } from "node:crypto";
import { openAgent, scriptModel, modelRequests, sendMessage, toolCard, openCard } from "./support/agent.js";

const SHOTS = "test-output/screenshots";
const CSV = "city,sales\nOslo,12\nLima,7\nPune,30\n";
const BINARY = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) % 256));
const sha256 = (/** @type {Buffer} */ bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * @param {import("@playwright/test").Page} page
 * @param {string} name
 */
async function openTool(page, name) {
  await page.getByLabel("Search tools").fill(name);
  await page.locator("#tool-list").getByRole("button", { name: new RegExp(`${name.replace(".", "\\.")}\\b`) }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  return dialog;
}

test.beforeEach(async ({ page }) => {
  // Package choices are remembered per browser profile; each test starts from the dist's own.
  await page.addInitScript(() => {
    if (!sessionStorage.getItem("e2e-started")) {
      localStorage.removeItem("cloche.packages");
      sessionStorage.setItem("e2e-started", "1");
    }
  });
});

test("csv summarizes an attached CSV file, hash hashes an attached binary file, and an oversized file is refused", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });

  let dialog = await openTool(page, "csv.summary");
  await dialog.getByLabel(/^File/).setInputFiles({ name: "sales.csv", mimeType: "text/csv", buffer: Buffer.from(CSV) });
  await expect(dialog.locator(".chosen-file")).toContainText("sales.csv");
  await dialog.getByRole("button", { name: "Run csv.summary" }).click();
  let card = dialog.locator(".tool-card");
  await expect(card).toHaveAttribute("data-status", "ok");
  await expect(card).toContainText("sales");
  const rows = await page.evaluate(() => window.cloche.state.runner?.message?.cloche.result.structuredContent.rows);
  expect(rows).toBe(3);
  await page.keyboard.press("Escape");

  dialog = await openTool(page, "hash.sha256");
  await dialog.getByLabel(/^Base64/).setInputFiles({ name: "blob.bin", mimeType: "application/octet-stream", buffer: BINARY });
  await dialog.getByRole("button", { name: "Run hash.sha256" }).click();
  card = dialog.locator(".tool-card");
  await expect(card).toHaveAttribute("data-status", "ok");
  await expect(card).toContainText(sha256(BINARY));
  await expect(card).toContainText("1024");

  // One byte over the cap: refused in the form, with the limit named, and nothing is sent.
  const big = Buffer.alloc(5 * 1024 * 1024 + 1, 97);
  await dialog.getByLabel(/^Base64/).setInputFiles({ name: "huge.bin", mimeType: "application/octet-stream", buffer: big });
  await expect(dialog.getByRole("alert").first()).toContainText("huge.bin");
  await expect(dialog.getByRole("alert").first()).toContainText("5 MB");
  const before = await page.evaluate(() => window.cloche.state.runner?.message?.tool_call_id);
  await dialog.getByRole("button", { name: "Run hash.sha256" }).click();
  await expect(dialog.locator(".field-error")).toContainText("5 MB");
  expect(await page.evaluate(() => window.cloche.state.runner?.message?.tool_call_id)).toBe(before);
  await page.screenshot({ path: `${SHOTS}/palette-file-too-large.png` });
});

test("a file attached in the chat reaches a tool by its id, and the model never sees its bytes", async ({ page }) => {
  await openAgent(page, { waitForPython: false });
  await scriptModel([
    { tool_calls: [{ name: "hash_sha256", arguments: { base64: "$ATTACHMENT" } }] },
    { text: "Hashed it." },
  ]);
  await page.locator("#attach-files").setInputFiles({ name: "blob.bin", mimeType: "application/octet-stream", buffer: BINARY });
  await expect(page.locator(".composer .attachment-chip")).toContainText("blob.bin");
  await sendMessage(page, "What is the SHA-256 of this file?");
  await expect(page.locator(".message.assistant").last()).toContainText("Hashed it.");
  const card = toolCard(page, 0);
  await expect(card).toHaveAttribute("data-status", "ok");
  await openCard(card);
  await expect(card).toContainText(sha256(BINARY));
  await expect(page.locator(".message.user .attachment-chip")).toContainText("blob.bin");

  const requests = await modelRequests();
  const sent = JSON.stringify(requests.map((r) => r.body.messages));
  const encoded = BINARY.toString("base64");
  expect(sent).toMatch(/att-[0-9a-f]{8}: blob\.bin/);
  expect(sent).not.toContain(encoded.slice(0, 40));
  await page.screenshot({ path: `${SHOTS}/chat-attachment.png` });
});

test("a package not loaded at boot installs from the runtime panel, its tools run, and Remove takes them away", async ({ page }) => {
  await page.goto("/");
  const runtimes = page.locator("#runtimes");
  await expect(runtimes.locator('[data-worker="python-tools"]')).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await expect(runtimes.locator('[data-worker="wasm"]')).toHaveAttribute("data-state", "ready");
  const available = runtimes.getByRole("list", { name: "Packages available to install" });
  await expect(available.locator('[data-package="cloche-tools-date"]')).toBeVisible();
  await expect(available.locator('[data-package="textstats"]')).toBeVisible();
  await expect(page.locator("#tool-list")).not.toContainText("date.diff");
  await runtimes.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/runtime-panel.png` });

  // Python: cloche/install into the running worker; WASM: cloche/load.
  await runtimes.getByRole("button", { name: "Install cloche-tools-date" }).click();
  await runtimes.getByRole("button", { name: "Install textstats" }).click();
  const pythonWorker = runtimes.locator('[data-worker="python-tools"]');
  await expect(pythonWorker.locator('[data-package="cloche-tools-date"]')).toHaveAttribute("data-state", "loaded", { timeout: 30_000 });
  await expect(runtimes.locator('[data-worker="wasm"] [data-package="textstats"]')).toHaveAttribute("data-state", "loaded");
  let dialog = await openTool(page, "date.diff");
  await dialog.getByLabel(/^Start/).fill("2026-01-01");
  await dialog.getByLabel(/^End/).fill("2026-03-01");
  await dialog.getByRole("button", { name: "Run date.diff" }).click();
  await expect(dialog.locator(".tool-card")).toHaveAttribute("data-status", "ok");
  await expect(dialog.locator(".tool-card")).toContainText("59");
  await page.keyboard.press("Escape");
  dialog = await openTool(page, "textstats.analyze");
  await dialog.getByLabel(/^Text/).fill("one two two");
  await dialog.getByRole("button", { name: "Run textstats.analyze" }).click();
  await expect(dialog.locator(".tool-card")).toHaveAttribute("data-status", "ok");
  await page.keyboard.press("Escape");

  // A reload keeps what the user chose.
  await page.reload();
  await expect(pythonWorker.locator('[data-package="cloche-tools-date"]')).toHaveAttribute("data-state", "loaded", { timeout: 60_000 });

  // Remove: the WASM package is unloaded; the Python worker restarts without its package.
  await expect(pythonWorker).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await runtimes.getByRole("button", { name: "Remove textstats" }).click();
  await runtimes.getByRole("button", { name: "Remove cloche-tools-date" }).click();
  await expect(available.locator('[data-package="cloche-tools-date"]')).toBeVisible({ timeout: 60_000 });
  await expect(available.locator('[data-package="textstats"]')).toBeVisible();
  await expect(pythonWorker).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await page.getByLabel("Search tools").fill("");
  await expect(page.locator("#tool-list")).not.toContainText("date.diff");
  await expect(page.locator("#tool-list")).not.toContainText("textstats.analyze");
  const outcome = await page.evaluate(() => window.cloche.callTool("date.diff", {}).then(() => "ran", (e) => e.message));
  expect(outcome).toContain("not loaded");
  // The other tools of the restarted worker still run.
  const csv = await page.evaluate(() => window.cloche.callTool("csv.summary", { text: "a\n1\n" }).then((r) => r.structuredContent.rows));
  expect(csv).toBe(1);
});

test("the runtime panel shows a worker busy while a call runs", async ({ page }) => {
  await page.goto("/");
  const worker = page.locator('#runtimes [data-worker="python-python"]');
  await expect(worker).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  const running = page.evaluate(() => window.cloche.callTool("python.run", { code: "import time\ntime.sleep(1.5)" }));
  await expect(worker).toHaveAttribute("data-state", "busy");
  await expect(worker.locator(".worker-state")).toContainText("1 call running");
  await running;
  await expect(worker).toHaveAttribute("data-state", "ready");
});
