// Screenshots of the palette, a form with errors, a result and the runtime panel, on a desktop and
// a phone, light and dark, for a person to open and check (test-output/screenshots/). Each also
// checks what the picture must show, so a blank or broken page fails here.
import { test, expect } from "@playwright/test";

const SHOTS = "test-output/screenshots";
const LAYOUTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

for (const [layout, viewport] of Object.entries(LAYOUTS)) {
  for (const colorScheme of /** @type {const} */ (["light", "dark"])) {
    test.describe(`${layout}, ${colorScheme}`, () => {
      test.use({ viewport, colorScheme, isMobile: layout === "phone", hasTouch: layout === "phone" });

      test(`palette, form errors, result and runtime panel (${layout}, ${colorScheme})`, async ({ page }) => {
        const shot = (/** @type {string} */ name) => page.screenshot({ path: `${SHOTS}/${layout}-${colorScheme}-${name}.png` });
        await page.goto("/");
        const tools = page.getByRole("button", { name: "Tools", exact: true });
        if (layout === "phone") await tools.click();
        await expect(page.locator("#python-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
        await expect(page.locator("#tool-list")).toBeVisible();
        await shot("palette");

        await page.locator("#runtimes").scrollIntoViewIfNeeded();
        await expect(page.locator('#runtimes [data-worker="wasm"]')).toHaveAttribute("data-state", "ready");
        await shot("runtimes");

        await page.getByLabel("Search tools").fill("csv");
        await page.locator("#tool-list").getByRole("button", { name: /csv\.summary/ }).click();
        const dialog = page.getByRole("dialog");
        await dialog.getByLabel(/^Top/).fill("99");
        await dialog.getByRole("button", { name: "Run csv.summary" }).click();
        await expect(dialog.locator(".field-error").first()).toBeVisible();
        await shot("form-errors");

        await dialog.getByLabel(/^Top/).fill("3");
        await dialog.getByLabel(/^Text/).fill("city,sales\nOslo,12\nLima,7\nPune,30\n");
        await dialog.getByRole("button", { name: "Run csv.summary" }).click();
        await expect(dialog.locator(".tool-card")).toHaveAttribute("data-status", "ok");
        await dialog.locator(".tool-card").scrollIntoViewIfNeeded();
        await shot("result");
      });
    });
  }
}
