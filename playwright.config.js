// End-to-end tests in Debian's Chromium against `cloche serve` on 127.0.0.1.
// Nothing here downloads a browser: the executable path points at the system's Chromium.
import { defineConfig } from "@playwright/test";
import { AGENT_URL, FAKE_MODEL_URL } from "./tests/e2e/support/agent.js";

const port = Number(process.env.CLOCHE_E2E_PORT || 8771);
const baseURL = `http://127.0.0.1:${port}/`;

export default defineConfig({
  testDir: "tests/e2e",
  globalSetup: "./tests/e2e/global-setup.js",
  outputDir: "test-output/e2e",
  timeout: 90_000,
  expect: { timeout: 30_000 },
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["junit", { outputFile: "test-output/junit/e2e.xml" }]],
  use: {
    baseURL,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      // No model configured: the page must still offer its tools and say how to add a model.
      // tests/wasm_fixtures stands for a folder of packages kept beside the dist (/local-packages/).
      command: `.venv/bin/cloche serve --port ${port} --log-level warning --local-packages tests/wasm_fixtures`,
      url: `${baseURL}healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: ".venv/bin/python tests/e2e/support/fake_model.py 8772",
      url: `${FAKE_MODEL_URL}healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: ".venv/bin/cloche serve --port 8773 --config tests/e2e/relay.toml --log-level warning",
      url: `${AGENT_URL}healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
