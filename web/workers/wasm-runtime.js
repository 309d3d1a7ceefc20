// WASM tool packages in a worker: load a manifest and its module (sha256 checked with
// SubtleCrypto before compiling, memory capped, compiled once), and run a fresh instance per call
// under @bjorn3/browser_wasi_shim with stdin and stdout in memory. DOM-free: the shim, fetch and
// crypto are passed in, so node --test runs it too.
import { capMemory, ModuleRefused } from "./wasm-memory-cap.js";
import { parseManifest, mcpTools } from "./wasm-manifest.js";
import { checkSchema } from "./wasm-schema.js";
import { interpret, ToolFailed } from "./wasm-outcome.js";

export { ModuleRefused, ToolFailed };
const STDERR_BYTES = 64 * 1024;

/** @typedef {typeof import("@bjorn3/browser_wasi_shim")} Shim */
/** @typedef {import("./wasm-manifest.js").Manifest} Manifest */
/** @typedef {{manifest: Manifest, manifestURL: string, module: WebAssembly.Module}} LoadedPackage */

/** A JSON-RPC-level refusal: unknown tool or invalid arguments (-32602). */
export class InvalidParams extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "InvalidParams";
  }
}

/** Raised from the stdout writer to stop a run at once (a throw unwinds the wasm stack). */
class OutputLimit extends Error {}

/** @param {Uint8Array<ArrayBuffer>} bytes @param {Crypto} crypto */
export async function sha256Hex(bytes, crypto) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class WasmRuntime {
  /**
   * @param {Shim} shim
   * @param {{fetch: typeof fetch, crypto: Crypto, baseURL?: string}} platform
   *   baseURL: what relative manifest URLs are resolved against
   */
  constructor(shim, platform) {
    this.shim = shim;
    this.platform = platform;
    /** @type {Map<string, LoadedPackage>} */
    this.packages = new Map();
  }

  /**
   * Load the package of `manifestURL`; throws an Error whose message names the package (or URL)
   * and the reason (HTTP status, invalid manifest, hash mismatch, compile error).
   * @param {string} manifestURL @returns {Promise<Manifest>}
   */
  async load(manifestURL) {
    manifestURL = new URL(manifestURL, this.platform.baseURL).href;
    const manifestBytes = await this.#fetch(manifestURL, "manifest");
    let data;
    try {
      data = JSON.parse(new TextDecoder().decode(manifestBytes));
    } catch (error) {
      throw new Error(`manifest ${manifestURL} is not JSON: ${/** @type {Error} */ (error).message}`);
    }
    const manifest = parseManifest(data, `manifest ${manifestURL}`);
    if (this.packages.has(manifest.name)) {
      throw new Error(`package ${manifest.name} is already loaded (unload it first)`);
    }
    const moduleURL = new URL(manifest.module, manifestURL).href;
    const bytes = await this.#fetch(moduleURL, `package ${manifest.name}: module`);
    const digest = await sha256Hex(bytes, this.platform.crypto);
    if (digest !== manifest.sha256) {
      throw new ModuleRefused(`package ${manifest.name}: ${moduleURL} has sha256 ${digest}, but ` +
        `the manifest says ${manifest.sha256}; refusing to run it`);
    }
    let module;
    try {
      const capped = /** @type {Uint8Array<ArrayBuffer>} */ (capMemory(bytes, manifest.limits.memoryBytes));
      module = await WebAssembly.compile(capped);
    } catch (error) {
      const reason = /** @type {Error} */ (error).message;
      if (error instanceof ModuleRefused) throw new ModuleRefused(`package ${manifest.name}: ${reason}`);
      throw new ModuleRefused(`package ${manifest.name}: ${moduleURL} does not compile: ${reason}`);
    }
    this.packages.set(manifest.name, { manifest, manifestURL, module });
    return manifest;
  }

  /** @param {string} url @param {string} what @returns {Promise<Uint8Array<ArrayBuffer>>} */
  async #fetch(url, what) {
    let response;
    try {
      response = await this.platform.fetch(url);
    } catch (error) {
      throw new Error(`${what} ${url} could not be fetched: ${/** @type {Error} */ (error).message}`);
    }
    if (!response.ok) throw new Error(`${what} ${url} could not be fetched: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** @param {string} name @returns {boolean} */
  unload(name) {
    return this.packages.delete(name);
  }

  /** Every tool of every loaded package, as `tools/list` shows them. */
  listTools() {
    return [...this.packages.values()].flatMap(({ manifest }) => mcpTools(manifest));
  }

  /**
   * Run tool `qualifiedName` (`<package>.<tool>`): its result object, or ToolFailed (the tool
   * failed: isError) or InvalidParams (unknown tool, invalid arguments: a JSON-RPC error).
   * @param {string} qualifiedName @param {unknown} args
   */
  call(qualifiedName, args = {}) {
    const dot = qualifiedName.indexOf(".");
    const loaded = this.packages.get(qualifiedName.slice(0, dot));
    const tool = loaded?.manifest.tools.find((t) => t.name === qualifiedName.slice(dot + 1));
    if (dot < 0 || !loaded || !tool) throw new InvalidParams(`Unknown tool: ${qualifiedName}`);
    const problems = checkSchema(tool.inputSchema, args);
    if (problems.length) {
      throw new InvalidParams(`invalid arguments for ${qualifiedName}: ${problems.join("; ")}`);
    }
    const request = new TextEncoder().encode(JSON.stringify({ tool: tool.name, arguments: args }));
    const { limits } = loaded.manifest;
    const run = this.#run(loaded, request);
    return interpret(run, {
      deadlineMs: limits.deadlineMs,
      outputBytes: limits.outputBytes,
      memoryLimit: limits.memoryBytes,
      outputSchema: tool.outputSchema,
    });
  }

  /** @param {LoadedPackage} loaded @param {Uint8Array} request */
  #run({ manifest, module }, request) {
    const { WASI, File, OpenFile, ConsoleStdout, PreopenDirectory } = this.shim;
    /** @type {import("./wasm-outcome.js").RunRecord} */
    const run = { exitCode: null, stdout: new Uint8Array(), stderr: new Uint8Array(),
      memoryBytes: 0, stopped: null, trap: null };
    /** @type {Uint8Array[]} */
    const out = [];
    let outLength = 0;
    /** @type {Uint8Array[]} */
    const err = [];
    let errLength = 0;
    const stdout = new ConsoleStdout((/** @type {Uint8Array} */ data) => {
      outLength += data.byteLength;
      if (outLength > manifest.limits.outputBytes) throw new OutputLimit();
      out.push(data.slice());
    });
    const stderr = new ConsoleStdout((/** @type {Uint8Array} */ data) => {
      const keep = data.subarray(0, Math.max(0, STDERR_BYTES - errLength));
      errLength += keep.byteLength;
      if (keep.byteLength) err.push(keep.slice());
    });
    /** @type {import("@bjorn3/browser_wasi_shim").Fd[]} */
    const fds = [new OpenFile(new File(request, { readonly: true })), stdout, stderr];
    if (manifest.scratchDir) fds.push(new PreopenDirectory(manifest.scratchDir, new Map()));
    const wasi = new WASI([manifest.name], [], fds, { debug: false });
    /** @type {WebAssembly.Instance | undefined} */
    let instance;
    try {
      instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
      run.exitCode = wasi.start(/** @type {any} */ (instance));
    } catch (error) {
      if (error instanceof OutputLimit) run.stopped = "output";
      else if (error instanceof WebAssembly.RuntimeError) run.trap = `wasm trap: ${error.message}`;
      else run.trap = String(error instanceof Error ? error.message : error);
    }
    const memory = instance?.exports.memory;
    if (memory instanceof WebAssembly.Memory) run.memoryBytes = memory.buffer.byteLength;
    run.stdout = concat(out);
    run.stderr = concat(err);
    return run;
  }
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
