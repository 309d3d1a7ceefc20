// Modules with a memory the ABI forbids (docs/wasm-tools.md, "Memory: capped before compiling")
// are refused by the WASM worker in a real Chromium, each with a message naming the problem, and
// the worker goes on: its packages still run and a good package loaded next runs.
import { test, expect } from "@playwright/test";
import { forbiddenMemories } from "../js/wasm-module-bytes.js";
import { callTool } from "./support/host.js";
import { loadTestPackage, packageFiles, readPackage, serveTestPackages, startWasmHost } from "./support/wasm-host.js";

const LoadFailed = -32000;

test("a module that imports its memory, has two, a shared or 64-bit one, or too large a minimum is refused", async ({ page }) => {
  const hash = readPackage("tool_packages/wasm/hash");
  const scratch = readPackage("tests/wasm_fixtures/scratch");
  const forbidden = forbiddenMemories(hash.module, scratch.manifest.limits.memoryBytes)
    .map((f) => ({ ...f, name: `bad-${f.problem.replace(/[^a-z0-9]/g, "")}` }));
  expect(forbidden.length).toBe(5);
  const files = packageFiles("scratch", scratch.manifest, scratch.module);
  for (const { name, module } of forbidden) Object.assign(files, packageFiles(name, scratch.manifest, module));
  await serveTestPackages(page, files);
  await startWasmHost(page);
  const toolsBefore = await page.evaluate(() => window.host.tools.map((t) => t.name).sort());

  for (const { problem, name, reason } of forbidden) {
    const { result, error } = await loadTestPackage(page, name);
    expect(result, problem).toBeUndefined();
    expect(error, problem).toEqual({ code: LoadFailed, message: `package ${name}: ${reason}` });
  }

  expect(await page.evaluate(() => window.host.tools.map((t) => t.name).sort())).toEqual(toolsBefore);
  expect(await page.evaluate(() => window.events.filter((e) => e.type === "restarted"))).toEqual([]);
  expect((await callTool(page, "hash.md5", { text: "abc" })).result?.structuredContent?.hex)
    .toBe("900150983cd24fb0d6963f7d28e17f72");
  expect((await loadTestPackage(page, "scratch")).result).toEqual({ packages: ["scratch"] });
  await expect.poll(() => page.evaluate(() => window.host.tools.some((t) => t.name === "scratch.list"))).toBe(true);
  expect((await callTool(page, "scratch.list", { path: "/tmp" })).result?.structuredContent).toEqual({ names: [] });
});
