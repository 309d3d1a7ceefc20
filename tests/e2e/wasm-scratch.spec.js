// "scratchDir" in a real Chromium (docs/wasm-tools.md, "WASI imports"): the module gets an empty,
// writable directory for one call, kept in memory and discarded after it, and nothing else.
import { test, expect } from "@playwright/test";
import { callTool } from "./support/host.js";
import { loadTestPackage, packageFiles, readPackage, serveTestPackages, startWasmHost } from "./support/wasm-host.js";

test("a WASM tool writes and reads a file in its scratch directory, which is empty again next call", async ({ page }) => {
  const { manifest, module } = readPackage("tests/wasm_fixtures/scratch");
  expect(manifest.scratchDir).toBe("/tmp");
  const { scratchDir, ...withoutScratch } = manifest;
  await serveTestPackages(page, { ...packageFiles("scratch", manifest, module),
    ...packageFiles("noscratch", withoutScratch, module) });
  await startWasmHost(page);
  for (const name of ["scratch", "noscratch"]) {
    expect((await loadTestPackage(page, name)).result).toEqual({ packages: [name] });
  }
  await expect.poll(() => page.evaluate(() => window.host.tools.filter((t) => t.name.endsWith(".write")).length)).toBe(2);
  const call = async (name, args) => {
    const { result, error } = await callTool(page, name, args);
    expect(error, name).toBeUndefined();
    return result;
  };

  const text = "héllo\nwörld ".repeat(1000);
  const written = await call("scratch.write", { path: "/tmp/note.txt", text });
  expect(written.isError).toBeFalsy();
  expect(written.structuredContent).toEqual({ path: "/tmp/note.txt", text });
  expect((await call("scratch.read", { path: "/tmp/note.txt" })).structuredContent)
    .toEqual({ found: false, reason: "No such file or directory" });
  expect((await call("scratch.list", { path: "/tmp" })).structuredContent).toEqual({ names: [] });
  expect((await call("scratch.read", { path: "/tmp/../etc/hostname" })).structuredContent.found).toBe(false);

  const refused = await call("noscratch.write", { path: "/tmp/note.txt", text: "x" });
  expect(refused.isError).toBe(true);
  expect(refused.content[0].text).toMatch(/^cannot write \/tmp\/note\.txt: /);
});
