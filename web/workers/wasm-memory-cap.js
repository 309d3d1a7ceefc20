// Cap a module's memory before compiling it (the twin of cloche_server/wasm/memory_cap.py).
// wasi-libc modules define their own memory with no maximum and grow it with memory.grow, which
// JavaScript never sees; so the memory section is rewritten to a maximum of the manifest's limit,
// and what cannot be capped (imported, shared, 64-bit or several memories, a minimum above the
// limit) is refused. Every other byte is kept. DOM-free.

export const PAGE = 65536;
const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export class ModuleRefused extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ModuleRefused";
  }
}

/** @param {Uint8Array} data @param {number} at @returns {[number, number]} */
function leb(data, at) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= data.length || scale > 2 ** 49) {
      throw new ModuleRefused("the module is truncated or malformed (bad LEB128)");
    }
    const byte = data[at++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (!(byte & 0x80)) return [value, at];
  }
}

/** @param {number} value */
function encodeLeb(value) {
  const out = [];
  for (;;) {
    const byte = value % 128;
    value = Math.floor(value / 128);
    if (value) out.push(byte | 0x80);
    else {
      out.push(byte);
      return out;
    }
  }
}

/** @param {Uint8Array} data @param {number} at */
const skipName = (data, at) => {
  const [length, next] = leb(data, at);
  return next + length;
};

/** @param {Uint8Array} data @param {number} at */
function skipLimits(data, at) {
  const flags = data[at];
  let [, next] = leb(data, at + 1);
  if (flags & 1) [, next] = leb(data, next);
  return next;
}

/** @param {Uint8Array} payload */
function checkImports(payload) {
  let [count, at] = leb(payload, 0);
  for (; count > 0; count--) {
    at = skipName(payload, skipName(payload, at));
    const kind = payload[at++];
    if (kind === 0) [, at] = leb(payload, at);
    else if (kind === 1) at = skipLimits(payload, at + 1);
    else if (kind === 2) {
      throw new ModuleRefused(
        "the module imports its memory; the ABI has modules define their own memory");
    } else if (kind === 3) at += 2;
    else if (kind === 4) [, at] = leb(payload, at + 1);
    else throw new ModuleRefused(`the module has an import of unknown kind ${kind}`);
  }
}

/** @param {Uint8Array} payload @param {number} limitPages @param {number} limitBytes */
function cappedMemory(payload, limitPages, limitBytes) {
  const [count, start] = leb(payload, 0);
  if (count !== 1) {
    throw new ModuleRefused(`the module defines ${count} memories; exactly one is supported`);
  }
  const flags = payload[start];
  if (flags & ~1) {
    const kind = flags & 2 ? "shared" : flags & 4 ? "64-bit" : `flagged 0x${flags.toString(16)}`;
    throw new ModuleRefused(`the module's memory is ${kind}; only a plain 32-bit one is supported`);
  }
  let [minimum, at] = leb(payload, start + 1);
  let maximum = limitPages;
  if (flags & 1) {
    let declared;
    [declared, at] = leb(payload, at);
    maximum = Math.min(declared, limitPages);
  }
  if (at !== payload.length) throw new ModuleRefused("the module's memory section is malformed");
  if (minimum > limitPages) {
    throw new ModuleRefused(
      `the module needs at least ${minimum * PAGE} bytes of memory, more than its limit of ` +
      `${limitBytes} bytes (limits.memoryBytes)`);
  }
  return [...encodeLeb(1), 0x01, ...encodeLeb(minimum), ...encodeLeb(maximum)];
}

/**
 * The module with its memory's maximum set to at most `limitBytes` (a multiple of 64 KiB).
 * @param {Uint8Array} module @param {number} limitBytes @returns {Uint8Array}
 */
export function capMemory(module, limitBytes) {
  if (module.length < 8 || MAGIC.some((byte, i) => module[i] !== byte)) {
    throw new ModuleRefused("not a WebAssembly module (bad magic number or version)");
  }
  const limitPages = Math.floor(limitBytes / PAGE);
  /** @type {Uint8Array[]} */
  const parts = [module.subarray(0, 8)];
  let at = 8;
  while (at < module.length) {
    const section = module[at];
    const [size, start] = leb(module, at + 1);
    const end = start + size;
    if (end > module.length) {
      throw new ModuleRefused("the module is truncated (a section runs past its end)");
    }
    const payload = module.subarray(start, end);
    if (section === 2) checkImports(payload);
    if (section === 5) {
      const capped = cappedMemory(payload, limitPages, limitBytes);
      parts.push(Uint8Array.from([section, ...encodeLeb(capped.length), ...capped]));
    } else {
      parts.push(module.subarray(at, end));
    }
    at = end;
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
