// What a documentation demo shows before any worker exists: its tool, read from the dist's
// registry.json, fetched once per page. Light on purpose: the runtime (embed-runtime.js, the
// WorkerHost and the protocol) is loaded only when a demo is about to be used.
import { loadRegistry, workerOfPackage } from "../app/tool-workers.js";

/**
 * @typedef {import("../app/tool-workers.js").Registry} Registry
 * @typedef {{tool: import("../app/mcp-client.js").Tool, pkg: {name: string, version?: string}, worker: string,
 *            runtime: "python" | "wasm"}} ToolInfo
 */

/** @type {Map<string, Promise<Registry>>} */
const registries = new Map();

/**
 * The registry of the dist at `dist`, fetched once.
 * @param {URL} dist
 */
export function registryOf(dist) {
  let registry = registries.get(dist.href);
  if (!registry) {
    registry = loadRegistry(new URL("registry.json", dist));
    registries.set(dist.href, registry);
  }
  return registry;
}

/**
 * What the registry says of a tool.
 * @param {Registry} registry
 * @param {string} name  its qualified name
 * @returns {ToolInfo}
 */
export function describeTool(registry, name) {
  for (const [runtime, packages] of /** @type {const} */ ([["python", registry.packages], ["wasm", registry.wasmPackages ?? []]])) {
    for (const pkg of packages) {
      const tool = pkg.tools.find((t) => t.name === name);
      if (tool) return { tool, pkg, worker: workerOfPackage(registry, pkg.name), runtime };
    }
  }
  const known = [...registry.packages, ...registry.wasmPackages ?? []].flatMap((p) => p.tools.map((t) => t.name));
  throw new Error(`this site's Cloche has no tool named "${name}"; it has: ${known.join(", ")}`);
}
