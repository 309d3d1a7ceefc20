// The specs that start servers of their own (python-package-sources 8776-8777, tool-dependencies
// 8778, permissions 8791-8793, embed 8795), on their own: this config starts no web server and leaves the
// default suite's ports alone.
//   node node_modules/@playwright/test/cli.js test -c tests/e2e/own-servers.config.js [spec]
import { defineConfig } from "@playwright/test";
import base from "../../playwright.config.js";

export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: ["python-package-sources.spec.js", "tool-dependencies.spec.js", "permissions.spec.js", "embed.spec.js", "sphinx.spec.js"],
  globalSetup: undefined,
  webServer: undefined,
  outputDir: "../../test-output/e2e-own-servers",
  reporter: [["list"]],
});
