// python-package-sources.spec.js on its own: it starts its own `cloche serve` (8776) and fake PyPI
// (8777), so this config starts no web server and leaves the default suite's ports alone.
//   node node_modules/@playwright/test/cli.js test -c tests/e2e/package-sources.config.js
import { defineConfig } from "@playwright/test";
import base from "../../playwright.config.js";

export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: "python-package-sources.spec.js",
  globalSetup: undefined,
  webServer: undefined,
  outputDir: "../../test-output/e2e-package-sources",
  reporter: [["list"]],
});
