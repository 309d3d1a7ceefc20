// The manifest beside a WASM tool module, validated with the same rules as
// cloche/wasm_manifest.py: every problem names its field. DOM-free.

export const MANIFEST_VERSION = 1;
const PAGE = 65536;
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MODULE_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.wasm$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SCRATCH_DIR = /^\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const TYPES = new Set(["null", "boolean", "integer", "number", "string", "array", "object"]);
/** @type {Record<string, [number, number, number]>} default, smallest, largest */
const LIMITS = {
  memoryBytes: [64 * 2 ** 20, PAGE, 4 * 2 ** 30],
  deadlineMs: [5000, 1, 600000],
  outputBytes: [2 ** 20, 1, 64 * 2 ** 20],
};
const TOP_FIELDS = new Set(["manifestVersion", "name", "version", "description", "module",
  "sha256", "limits", "tools", "scratchDir", "permissions"]);
const NO_GRANTS = "WASI preview 1 modules get no network or storage; components will get wasi:http grants";
const TOOL_FIELDS = new Set(["name", "title", "description", "inputSchema", "outputSchema",
  "annotations"]);

/**
 * @typedef {{memoryBytes: number, deadlineMs: number, outputBytes: number}} Limits
 * @typedef {{name: string, title?: string, description: string, inputSchema: any,
 *   outputSchema?: any, annotations?: any}} ManifestTool
 * @typedef {{manifestVersion: 1, name: string, version: string, description: string,
 *   module: string, sha256: string, limits: Limits, tools: ManifestTool[],
 *   scratchDir?: string}} Manifest
 */

export class ManifestError extends Error {
  /** @param {string[]} problems @param {string} source */
  constructor(problems, source = "manifest") {
    super(`${source} is invalid: ${problems.join("; ")}`);
    this.name = "ManifestError";
    this.problems = problems;
  }
}

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/** @param {unknown} schema @param {string} path @returns {string[]} */
function schemaProblems(schema, path) {
  if (!isObject(schema)) return [`${path} must be a JSON Schema object`];
  if (schema.type !== "object") return [`${path}.type must be "object"`];
  const problems = [];
  if ("properties" in schema && !isObject(schema.properties)) {
    problems.push(`${path}.properties must be an object`);
  }
  const required = schema.required ?? [];
  if (!Array.isArray(required) || !required.every((r) => typeof r === "string")) {
    problems.push(`${path}.required must be a list of strings`);
  }
  for (const [name, sub] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
    problems.push(...subschemaProblems(sub, `${path}.properties.${name}`));
  }
  return problems;
}

/** Unknown type names and misused content keywords, here and in nested properties/items.
 * @param {unknown} schema @param {string} path @returns {string[]} */
function subschemaProblems(schema, path) {
  if (!isObject(schema)) return [];
  const problems = [];
  const type = schema.type;
  const types = Array.isArray(type) ? type : type === undefined || type === null ? [] : [type];
  for (const t of types) {
    if (!TYPES.has(t)) problems.push(`${path}.type: unknown type '${t}'`);
  }
  if ("contentEncoding" in schema && schema.contentEncoding !== "base64") {
    problems.push(`${path}.contentEncoding must be "base64" (the only encoding supported)`);
  }
  if ("contentMediaType" in schema && typeof schema.contentMediaType !== "string") {
    problems.push(`${path}.contentMediaType must be a string such as 'text/csv'`);
  }
  for (const key of ["contentEncoding", "contentMediaType"]) {
    if (key in schema && !types.includes("string")) problems.push(`${path}.${key} needs "type": "string"`);
  }
  if (isObject(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      problems.push(...subschemaProblems(sub, `${path}.properties.${name}`));
    }
  }
  for (const key of ["items", "additionalProperties"]) {
    problems.push(...subschemaProblems(schema[key], `${path}.${key}`));
  }
  return problems;
}

/**
 * A validated manifest, with limits filled in; ManifestError naming every invalid field.
 * @param {unknown} data @param {string} [source] @returns {Manifest}
 */
export function parseManifest(data, source = "manifest") {
  if (!isObject(data)) throw new ManifestError(["the manifest must be a JSON object"], source);
  /** @type {string[]} */
  const problems = [];
  const string = (/** @type {Record<string, any>} */ object, /** @type {string} */ key,
    /** @type {string} */ where) => {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") {
      problems.push(`${where}${key} must be a string`);
      return undefined;
    }
    return value;
  };
  for (const key of Object.keys(data).filter((k) => !TOP_FIELDS.has(k)).sort()) {
    problems.push(`${key} is not a known field`);
  }
  if (data.manifestVersion !== MANIFEST_VERSION) {
    problems.push(`manifestVersion must be ${MANIFEST_VERSION}`);
  }
  const name = string(data, "name", "");
  if (name === undefined || !NAME.test(name)) {
    problems.push(`name must match ${NAME.source.slice(1, -1)} (it prefixes every tool name)`);
  }
  if (!string(data, "version", "")) problems.push("version must be a non-empty string");
  const module = string(data, "module", "");
  if (module === undefined || !MODULE_FILE.test(module)) {
    problems.push("module must be a .wasm file name beside the manifest (no folders)");
  }
  const sha256 = string(data, "sha256", "");
  if (sha256 === undefined || !SHA256.test(sha256)) {
    problems.push("sha256 must be the module's SHA-256 as 64 lowercase hex digits");
  }
  string(data, "description", "");
  const scratchDir = string(data, "scratchDir", "");
  if (scratchDir !== undefined && !SCRATCH_DIR.test(scratchDir)) {
    problems.push("scratchDir must be an absolute path such as /tmp");
  }
  /** @type {Record<string, number>} */
  const limits = Object.fromEntries(Object.entries(LIMITS).map(([k, [d]]) => [k, d]));
  const rawLimits = data.limits ?? {};
  if (!isObject(rawLimits)) problems.push("limits must be an object");
  else {
    for (const key of Object.keys(rawLimits).filter((k) => !(k in LIMITS)).sort()) {
      problems.push(`limits.${key} is not a known limit (${Object.keys(LIMITS).join(", ")})`);
    }
    for (const [key, [, low, high]] of Object.entries(LIMITS)) {
      if (!(key in rawLimits)) continue;
      const value = rawLimits[key];
      if (!Number.isInteger(value) || value < low || value > high) {
        problems.push(`limits.${key} must be an integer from ${low} to ${high}`);
      } else if (key === "memoryBytes" && value % PAGE) {
        problems.push(`limits.memoryBytes must be a multiple of ${PAGE} (one page)`);
      } else {
        limits[key] = value;
      }
    }
  }
  checkPermissions(data.permissions, problems);
  const tools = Array.isArray(data.tools) ? data.tools : [];
  if (!Array.isArray(data.tools) || tools.length === 0) {
    problems.push("tools must be a non-empty array");
  }
  const seen = new Set();
  tools.forEach((/** @type {unknown} */ tool, /** @type {number} */ index) => {
    const where = `tools[${index}]`;
    if (!isObject(tool)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const before = problems.length;
    for (const key of Object.keys(tool).filter((k) => !TOOL_FIELDS.has(k)).sort()) {
      problems.push(`${where}.${key} is not a known field`);
    }
    const toolName = string(tool, "name", `${where}.`);
    if (toolName === undefined || !TOOL_NAME.test(toolName)) {
      problems.push(`${where}.name must match ${TOOL_NAME.source.slice(1, -1)}`);
    }
    if (!string(tool, "description", `${where}.`)) {
      problems.push(`${where}.description must be a non-empty string`);
    }
    string(tool, "title", `${where}.`);
    problems.push(...schemaProblems(tool.inputSchema, `${where}.inputSchema`));
    if ("outputSchema" in tool) {
      problems.push(...schemaProblems(tool.outputSchema, `${where}.outputSchema`));
    }
    if ("annotations" in tool && !isObject(tool.annotations)) {
      problems.push(`${where}.annotations must be an object`);
    }
    if (problems.length === before) {
      if (seen.has(toolName)) problems.push(`${where}.name '${toolName}' is used twice`);
      seen.add(toolName);
    }
  });
  if (problems.length) throw new ManifestError(problems, source);
  return /** @type {Manifest} */ ({ description: "", ...data, limits });
}

/**
 * The tools of a manifest as `tools/list` shows them: qualified names, the deadline in _meta.
 * @param {Manifest} manifest
 */
export function mcpTools(manifest) {
  return manifest.tools.map((tool) => {
    /** @type {Record<string, any>} */
    const entry = { name: `${manifest.name}.${tool.name}` };
    if (tool.title !== undefined) entry.title = tool.title;
    entry.description = tool.description;
    entry.inputSchema = tool.inputSchema;
    if (tool.outputSchema !== undefined) entry.outputSchema = tool.outputSchema;
    if (tool.annotations && Object.keys(tool.annotations).length) {
      entry.annotations = tool.annotations;
    }
    entry._meta = { "cloche/runtime": "wasm", "cloche/deadlineMs": manifest.limits.deadlineMs };
    return entry;
  });
}

/**
 * A module's optional `permissions` (the same rule as py_runtime/cloche/wasm_manifest.py): it may
 * say what it gets, which is nothing.
 * @param {unknown} data
 * @param {string[]} problems
 */
function checkPermissions(data, problems) {
  if (data === undefined) return;
  if (!isObject(data)) {
    problems.push("permissions must be an object");
    return;
  }
  for (const key of Object.keys(data).filter((k) => k !== "network" && k !== "storage").sort()) {
    problems.push(`permissions.${key} is not a known field (network, storage)`);
  }
  const { network = [], storage = false } = /** @type {any} */ (data);
  if (!Array.isArray(network)) problems.push("permissions.network must be an array");
  else if (network.length) problems.push(`permissions.network must be empty: ${NO_GRANTS}`);
  if (typeof storage !== "boolean") problems.push("permissions.storage must be true or false");
  else if (storage) problems.push(`permissions.storage must be false: ${NO_GRANTS}`);
}
