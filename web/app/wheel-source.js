// The wheels a Python worker installs at run time, fetched by the page, never by the worker (which
// has no network): a package named in the dist's lock comes with its dependencies, each file
// checked against the lock's sha256 before its bytes go to the worker in `cloche/install`. A wheel
// outside the lock may be installed from this origin only with the sha256 the caller vouches for.
// No DOM: `fetch` and `crypto` are passed in or global.
import { bytesToBase64 } from "./attachments.js";

/**
 * @typedef {{name: string, file_name: string, sha256: string, depends?: string[], imports?: string[]}} LockEntry
 * @typedef {string | {url: string, sha256: string}} Requirement
 * @typedef {{fileName: string, base64: string}} WheelFile
 * @typedef {{baseURL: string | URL, fetch?: typeof fetch, have?: Iterable<string>,
 *            lock?: {packages: Record<string, LockEntry>}}} WheelOptions
 */

export class WheelError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "WheelError";
  }
}

/** @param {string} name */
export const canonicalName = (name) => name.replace(/[-_.]+/g, "-").toLowerCase();

/**
 * The wheels to send for `requirements`, dependencies first, without those in `have` (already in
 * the worker), each fetched and checked.
 * @param {Requirement[]} requirements
 * @param {WheelOptions} options
 * @returns {Promise<WheelFile[]>}
 */
export async function wheelsFor(requirements, options) {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = new URL(options.baseURL);
  const lock = options.lock ?? await readLock(base, fetchImpl);
  const have = new Set([...options.have ?? []].map(canonicalName));
  /** @type {{url: URL, sha256: string, fileName: string}[]} */
  const wanted = [];
  /** @param {string} name @param {string[]} chain */
  const addByName = (name, chain) => {
    const key = canonicalName(name);
    if (have.has(key) || wanted.some((w) => w.fileName === lock.packages[key]?.file_name)) return;
    const entry = lock.packages[key];
    if (!entry) {
      throw new WheelError(`${chain.length ? `${chain.join(" → ")} needs ${name}, which` : `${name}`} is not in ` +
        "this site's pyodide-lock.json: only the dist's own packages install here " +
        "(add it to the dist and rebuild with `cloche build`)");
    }
    for (const dependency of entry.depends ?? []) addByName(dependency, [...chain, name]);
    wanted.push({ url: new URL(entry.file_name, base), sha256: entry.sha256, fileName: entry.file_name });
  };
  for (const requirement of requirements) {
    if (typeof requirement === "string") {
      addByName(requirement, []);
    } else {
      const url = new URL(requirement.url, base);
      if (url.origin !== base.origin) {
        throw new WheelError(`${requirement.url}: only wheels from this page's origin (${base.origin}) install here`);
      }
      const fileName = decodeURIComponent(url.pathname.split("/").pop() ?? "");
      if (!/^[^/]+\.whl$/.test(fileName) || !/^[0-9a-f]{64}$/.test(requirement.sha256 ?? "")) {
        throw new WheelError(`${requirement.url}: a wheel URL needs a .whl file name and its sha256 (64 hex digits)`);
      }
      wanted.push({ url, sha256: requirement.sha256, fileName });
    }
  }
  return Promise.all(wanted.map((w) => fetchChecked(w, fetchImpl)));
}

/**
 * What a worker's `cloche/wheels` request asks for (docs/worker-protocol.md, "Packages at run
 * time"): packages of the dist's lock by name, or by a module they provide (`imports`; modules no
 * package provides are left out, for the import to report), without those it `have`s. Names only:
 * a worker cannot vouch for a file, so URLs are not in the lock and are refused.
 * @param {any} params  {requirements?: string[], imports?: string[], have?: string[]}
 * @param {WheelOptions} options
 * @returns {Promise<{packages: string[], wheels: WheelFile[]}>}
 */
export async function wheelsAsked(params, options) {
  /** @param {string} key */
  const names = (key) => {
    const value = params?.[key] ?? [];
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string") || value.length > 1000) {
      throw new WheelError(`cloche/wheels: ${key} must be a list of names`);
    }
    return /** @type {string[]} */ (value);
  };
  const [requirements, imports, have] = [names("requirements"), names("imports"), names("have")];
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const lock = options.lock ?? await readLock(new URL(options.baseURL), fetchImpl);
  /** @type {Map<string, string>} module -> the package that provides it */
  const providers = new Map();
  for (const entry of Object.values(lock.packages)) {
    for (const module of entry.imports ?? []) if (!providers.has(module)) providers.set(module, entry.name);
  }
  const wanted = [...new Set([...requirements, ...imports.flatMap((m) => providers.get(m) ?? [])])];
  const held = new Set(have.map(canonicalName));
  const packages = wanted.filter((name) => !held.has(canonicalName(name)));
  if (!packages.length) return { packages, wheels: [] };
  return { packages, wheels: await wheelsFor(packages, { ...options, fetch: fetchImpl, lock, have }) };
}

/**
 * @param {URL} base
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<{packages: Record<string, LockEntry>}>}
 */
async function readLock(base, fetchImpl) {
  const url = new URL("pyodide-lock.json", base);
  const response = await fetchImpl(url);
  if (!response.ok) throw new WheelError(`${url.pathname} answered ${response.status}: rebuild the dist with \`cloche build\``);
  return response.json();
}

/**
 * @param {{url: URL, sha256: string, fileName: string}} wheel
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<WheelFile>}
 */
async function fetchChecked({ url, sha256, fileName }, fetchImpl) {
  const response = await fetchImpl(url);
  if (!response.ok) {
    throw new WheelError(`${url.pathname} answered ${response.status} ${response.statusText}: the dist is incomplete; rebuild it with \`cloche build\``);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  if (digest !== sha256) {
    throw new WheelError(`${fileName} does not match its sha256 (expected ${sha256}, got ${digest}): ` +
      "it was changed or damaged after the build; it was not installed. Rebuild the dist with `cloche build`");
  }
  return { fileName, base64: bytesToBase64(bytes) };
}
