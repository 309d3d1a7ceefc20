// The hostile-tool suite (docs/security.md) in Debian's Chromium: the app as `cloche serve` sends it,
// and a server on another origin that records every request that reaches it.
import { defineConfig } from "@playwright/test";

// Two runs at once need other ports, and a run of changed page code its own dist (`cloche build
// --dist DIR`), so as not to rebuild the one another run serves: set these.
export const APP_PORT = Number(process.env.CLOCHE_SECURITY_APP_PORT || 8781);
export const OUTSIDE_PORT = Number(process.env.CLOCHE_SECURITY_OUTSIDE_PORT || 8782);
const DIST = process.env.CLOCHE_SECURITY_DIST;

export default defineConfig({
  testDir: ".",
  globalSetup: "./global-setup.js",
  outputDir: "../../test-output/security/results",
  timeout: 90_000,
  expect: { timeout: 20_000 },
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["junit", { outputFile: "../../test-output/junit/security.xml" }]],
  use: {
    baseURL: `http://127.0.0.1:${APP_PORT}/`,
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
      // The fetch proxy carries requests to the other origin: only the host's checks stop tool code.
      command: `.venv/bin/cloche serve --port ${APP_PORT} --log-level warning${DIST ? ` --dist ${DIST}` : ""} ` +
        `--fetch-allow http://127.0.0.1:${OUTSIDE_PORT}`,
      url: `http://127.0.0.1:${APP_PORT}/healthz`,
      cwd: "../..",
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `.venv/bin/python tests/security/support/outside.py ${OUTSIDE_PORT}`,
      url: `http://127.0.0.1:${OUTSIDE_PORT}/healthz`,
      cwd: "../..",
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
