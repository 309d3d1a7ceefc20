// Which tool calls the user approves first, read off the tool's MCP annotations. A missing hint
// takes the MCP default, which assumes the worst: readOnlyHint false, destructiveHint true,
// openWorldHint true (idempotentHint, default false, does not matter here).

/** @typedef {{annotations?: object}} AnnotatedTool  an MCP tool; only its annotations matter */

const CHANGES = "may change or delete things";
const REACHES_OUT = "may reach outside the sandbox (the network or other systems)";
const HINTS = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

/**
 * True when a call of this tool asks the user first: it may reach the open world, or it may
 * change things destructively.
 * @param {AnnotatedTool} tool
 */
export function needsApproval(tool) {
  return reachesOut(tool) || changes(tool);
}

/**
 * Why this tool asks before it runs, as one short sentence for the approval prompt.
 * @param {AnnotatedTool} tool
 */
export function approvalReason(tool) {
  if (!HINTS.some((hint) => hints(tool)[hint] !== undefined)) {
    return `This tool declares no annotations, so it counts as both: it ${CHANGES} and ${REACHES_OUT}.`;
  }
  const reasons = [changes(tool) && CHANGES, reachesOut(tool) && REACHES_OUT].filter(Boolean);
  if (!reasons.length) {
    return hints(tool).readOnlyHint === true
      ? "This tool declares that it only reads and stays in the sandbox, so it runs without asking."
      : "This tool declares that it stays in the sandbox and destroys nothing, so it runs without asking.";
  }
  return `This tool ${reasons.join(" and ")}.`;
}

/** @param {AnnotatedTool} tool */
function reachesOut(tool) {
  return hints(tool).openWorldHint !== false;
}

/** @param {AnnotatedTool} tool */
function changes(tool) {
  return hints(tool).readOnlyHint !== true && hints(tool).destructiveHint !== false;
}

/** @param {AnnotatedTool} tool @returns {Record<string, unknown>} */
function hints(tool) {
  return /** @type {Record<string, unknown>} */ (tool.annotations ?? {});
}
