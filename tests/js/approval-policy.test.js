// Which tools ask the user before they run, from their MCP annotations and the MCP defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { needsApproval, approvalReason } from "../../web/app/approval-policy.js";

const tool = (/** @type {object | undefined} */ annotations) => ({ name: "pkg.tool", annotations });

test("a tool with no annotations asks, and says it counts as both", () => {
  for (const annotations of [undefined, {}, { title: "Only a title" }]) {
    assert.equal(needsApproval(tool(annotations)), true);
    assert.match(approvalReason(tool(annotations)),
      /declares no annotations, so it counts as both: .*change or delete.*outside the sandbox/);
  }
});

test("a read-only tool that stays in the sandbox runs without asking", () => {
  assert.equal(needsApproval(tool({ readOnlyHint: true, openWorldHint: false })), false);
  // destructiveHint does not matter once the tool is read-only
  assert.equal(needsApproval(tool({ readOnlyHint: true, destructiveHint: true, openWorldHint: false })), false);
});

test("a tool that changes things only additively and stays in the sandbox runs without asking", () => {
  assert.equal(needsApproval(tool({ destructiveHint: false, openWorldHint: false })), false);
});

test("openWorldHint left to its default (true) asks, even for a read-only tool", () => {
  const readOnly = tool({ readOnlyHint: true });
  assert.equal(needsApproval(readOnly), true);
  assert.equal(approvalReason(readOnly), "This tool may reach outside the sandbox (the network or other systems).");
});

test("a closed-world tool asks when it may destroy things (destructiveHint defaults to true)", () => {
  for (const annotations of [{ openWorldHint: false }, { openWorldHint: false, destructiveHint: true }]) {
    assert.equal(needsApproval(tool(annotations)), true);
    assert.equal(approvalReason(tool(annotations)), "This tool may change or delete things.");
  }
});

test("a tool that may do both says both", () => {
  assert.equal(approvalReason(tool({ readOnlyHint: false })),
    "This tool may change or delete things and may reach outside the sandbox (the network or other systems).");
});
