// What a finished WASM tool run means (the twin of cloche_server/wasm/outcome.py): a result
// object, or a ToolFailed whose message the model sees. DOM-free.
import { checkSchema } from "./wasm-schema.js";

export class ToolFailed extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ToolFailed";
  }
}

/**
 * @typedef {{exitCode: number | null, stdout: Uint8Array, stderr: Uint8Array,
 *   stopped?: "output" | null, trap?: string | null, memoryBytes: number}} RunRecord
 * @typedef {{deadlineMs: number, outputBytes: number, memoryLimit: number,
 *   outputSchema?: any}} OutcomeLimits
 */

/** @param {number} count */
const mib = (count) => (count >= 2 ** 20 ? `${count / 2 ** 20} MiB` : `${count} bytes`);

/** @param {Uint8Array} stderr */
function stderrTail(stderr) {
  const text = new TextDecoder().decode(stderr).trim();
  return text ? `; stderr: ${text.slice(-500)}` : "";
}

/** @param {Uint8Array} bytes @returns {unknown} an Error when the bytes are not JSON */
function parseJSON(bytes) {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * The tool's result object, or ToolFailed saying what went wrong.
 * @param {RunRecord} run @param {OutcomeLimits} limits @returns {Record<string, unknown>}
 */
export function interpret(run, limits) {
  if (run.stopped === "output") {
    throw new ToolFailed(`the tool's output exceeded its limit of ${mib(limits.outputBytes)}`);
  }
  const nearLimit = run.memoryBytes * 4 >= limits.memoryLimit * 3;
  if (run.trap != null) {
    if (nearLimit) {
      throw new ToolFailed(
        `the tool ran out of memory (limit ${mib(limits.memoryLimit)}) and crashed: ${run.trap}`);
    }
    throw new ToolFailed(`the tool crashed: ${run.trap}${stderrTail(run.stderr)}`);
  }
  const value = parseJSON(run.stdout);
  if (run.exitCode !== 0) {
    const error = /** @type {any} */ (value)?.error;
    if (!(value instanceof Error) && typeof error === "string") throw new ToolFailed(error);
    const memory = nearLimit ? ` near its memory limit of ${mib(limits.memoryLimit)}` : "";
    throw new ToolFailed(`the tool exited with status ${run.exitCode}${memory} without an ` +
      `error message${stderrTail(run.stderr)}`);
  }
  if (value instanceof Error) {
    throw new ToolFailed(`the tool wrote invalid JSON on stdout: ${value.message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ToolFailed("the tool's result is not a JSON object");
  }
  const problems = limits.outputSchema ? checkSchema(limits.outputSchema, value) : [];
  if (problems.length) {
    throw new ToolFailed(`the tool's result does not match its outputSchema: ${problems.join("; ")}`);
  }
  return /** @type {Record<string, unknown>} */ (value);
}

/** @param {Record<string, unknown>} value */
export const mcpResult = (value) => ({
  content: [{ type: "text", text: JSON.stringify(value) }],
  structuredContent: value,
});

/** @param {string} message */
export const mcpError = (message) => ({ content: [{ type: "text", text: message }], isError: true });
