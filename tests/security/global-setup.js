// The hostile tools' wheel, built once per run into test-output/fixtures; the suite serves it with
// page.route, so it never enters dist/.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export const FIXTURES = "test-output/fixtures";

export default async function globalSetup() {
  mkdirSync(FIXTURES, { recursive: true });
  mkdirSync("test-output/security", { recursive: true });
  execFileSync(".venv/bin/python", ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
    "--no-index", "--wheel-dir", FIXTURES, "tests/fixtures/hostile_tools"], { stdio: "inherit" });
}
