// MCP tool names ("python.run") are not valid function names for the model providers, which
// accept only ^[a-zA-Z0-9_-]{1,64}$. This maps one set of names both ways without ever merging two.

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_LENGTH = 64;

/**
 * @typedef {{toModel(name: string): string | undefined, fromModel(name: string): string | undefined}} ToolNameMap
 */

/**
 * A bijection between a set of MCP tool names and names the model providers accept. Names that
 * are already valid keep them; the others have each invalid character replaced by "_" and are cut
 * to 64 characters; one that then clashes gets a suffix derived from its original name. The result
 * depends only on the set, not on its order. Both directions answer undefined for names outside it.
 * @param {Iterable<string>} names
 * @returns {ToolNameMap}
 */
export function toolNameMap(names) {
  const unique = [...new Set(names)];
  /** @type {Map<string, string>} */
  const toModel = new Map();
  /** @type {Map<string, string>} */
  const fromModel = new Map();
  const assign = (/** @type {string} */ name, /** @type {string} */ modelName) => {
    toModel.set(name, modelName);
    fromModel.set(modelName, name);
  };
  for (const name of unique) if (VALID.test(name)) assign(name, name);
  // Sorted, so that which of two clashing names gets the suffix does not depend on list order.
  const invalid = unique.filter((name) => !VALID.test(name)).sort();
  for (const name of invalid) {
    const base = (name.replace(/[^a-zA-Z0-9_-]/gu, "_") || "tool").slice(0, MAX_LENGTH);
    let candidate = base;
    if (fromModel.has(candidate)) candidate = withSuffix(base, `_${shortHash(name)}`);
    for (let n = 2; fromModel.has(candidate); n++) candidate = withSuffix(base, `_${shortHash(name)}_${n}`);
    assign(name, candidate);
  }
  return {
    toModel: (name) => toModel.get(name),
    fromModel: (name) => fromModel.get(name),
  };
}

/**
 * @param {string} base
 * @param {string} suffix
 */
function withSuffix(base, suffix) {
  return base.slice(0, MAX_LENGTH - suffix.length) + suffix;
}

/** Six hex digits of FNV-1a over the name's UTF-16 code units: short, stable across runs. */
function shortHash(/** @type {string} */ text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash >>> 8).toString(16).padStart(6, "0");
}
