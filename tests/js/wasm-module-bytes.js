// Craft WebAssembly module bytes by hand, section by section, for tests of the modules the hosts
// must refuse (docs/wasm-tools.md, "Memory: capped before compiling"). Shared by the node tests
// and the browser spec, so both refuse exactly the same bytes.

export const PAGE = 65536;
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const IMPORT = 2;
const MEMORY = 5;

/** Unsigned LEB128. @param {number} value @returns {number[]} */
export function leb(value) {
  const out = [];
  do {
    const byte = value % 128;
    value = Math.floor(value / 128);
    out.push(value ? byte | 0x80 : byte);
  } while (value);
  return out;
}

/** @param {Uint8Array} data @param {number} at @returns {[number, number]} */
function readLeb(data, at) {
  let value = 0;
  for (let scale = 1; ; scale *= 128) {
    const byte = data[at++];
    value += (byte & 0x7f) * scale;
    if (!(byte & 0x80)) return [value, at];
  }
}

/** @param {string} text */
const name = (text) => [...leb(text.length), ...new TextEncoder().encode(text)];

/**
 * A memory's limits as the memory and import sections write them.
 * @param {{min: number, max?: number, shared?: boolean, i64?: boolean}} memory
 */
export function limits({ min, max, shared = false, i64 = false }) {
  const flags = (max === undefined ? 0 : 1) | (shared ? 2 : 0) | (i64 ? 4 : 0);
  return [flags, ...leb(min), ...(max === undefined ? [] : leb(max))];
}

/** A module's sections, in order. @param {Uint8Array} module */
export function sections(module) {
  const out = [];
  for (let at = 8; at < module.length;) {
    const id = module[at];
    const [size, start] = readLeb(module, at + 1);
    out.push({ id, payload: module.slice(start, start + size) });
    at = start + size;
  }
  return out;
}

/** @param {{id: number, payload: ArrayLike<number>}[]} parts @returns {Uint8Array} */
export function assemble(parts) {
  const bytes = [...HEADER];
  for (const { id, payload } of parts) bytes.push(id, ...leb(payload.length), ...payload);
  return Uint8Array.from(bytes);
}

/** @param {...{min: number, max?: number, shared?: boolean, i64?: boolean}} memories */
export const memorySection = (...memories) =>
  ({ id: MEMORY, payload: [...leb(memories.length), ...memories.flatMap(limits)] });

/**
 * `module` with its memory section replaced by `replacement` (or removed, when null), and with
 * `imports` appended to its import section (made when there is none). The memory keeps index 0
 * either way, so the module's own export of it stays valid.
 * @param {Uint8Array} module
 * @param {{id: number, payload: ArrayLike<number>} | null} replacement
 * @param {number[][]} [imports]  import entries, each module name, field name, kind, description
 */
export function rewrite(module, replacement, imports = []) {
  let parts = sections(module).filter((part) => part.id !== MEMORY);
  if (imports.length) {
    if (!parts.some((part) => part.id === IMPORT)) {
      const at = parts.findIndex((part) => part.id > IMPORT);
      parts.splice(at < 0 ? parts.length : at, 0, { id: IMPORT, payload: Uint8Array.of(0) });
    }
    parts = parts.map((part) => {
      if (part.id !== IMPORT) return part;
      const [count, at] = readLeb(part.payload, 0);
      return { id: IMPORT, payload: [...leb(count + imports.length), ...part.payload.slice(at), ...imports.flat()] };
    });
  }
  if (replacement) {
    // After every section that must precede memory (ids 1-4, with custom sections among them).
    let at = 0;
    parts.forEach((part, i) => { if (part.id >= 1 && part.id < MEMORY) at = i + 1; });
    parts.splice(at, 0, replacement);
  }
  return assemble(parts);
}

/**
 * `module` (which defines one memory) once for each memory the ABI forbids, with the reason each
 * host must give when it refuses it, for a package whose limits.memoryBytes is `limitBytes`.
 * @param {Uint8Array} module @param {number} limitBytes
 * @returns {{problem: string, module: Uint8Array, reason: string}[]}
 */
export function forbiddenMemories(module, limitBytes) {
  const pages = limitBytes / PAGE;
  const memoryImport = [...name("env"), ...name("memory"), 0x02, ...limits({ min: 1 })];
  const plain = "only a plain 32-bit one is supported";
  return [
    { problem: "imported", module: rewrite(module, null, [memoryImport]),
      reason: "the module imports its memory; the ABI has modules define their own memory" },
    { problem: "two", module: rewrite(module, memorySection({ min: 1 }, { min: 1 })),
      reason: "the module defines 2 memories; exactly one is supported" },
    { problem: "shared", module: rewrite(module, memorySection({ min: 1, max: pages, shared: true })),
      reason: `the module's memory is shared; ${plain}` },
    { problem: "64-bit", module: rewrite(module, memorySection({ min: 1, i64: true })),
      reason: `the module's memory is 64-bit; ${plain}` },
    { problem: "too big", module: rewrite(module, memorySection({ min: pages + 1 })),
      reason: `the module needs at least ${(pages + 1) * PAGE} bytes of memory, more than its ` +
        `limit of ${limitBytes} bytes (limits.memoryBytes)` },
  ];
}
