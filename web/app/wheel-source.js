// The wheels a Python worker installs at run time, fetched by the page, never by the worker (which
// has no network). A name is looked up in the dist's own lock, then, from `cloche serve` (same
// origin), in Pyodide's packages (`packages/pyodide-lock.json`) and, if the server allows it, on
// PyPI (`packages/pypi/NAME.json`); dependencies resolve the same way. Each file is checked against
// the sha256 its source gave before its bytes go to the worker in `cloche/install`. A wheel outside
// these may be installed from this origin only with the sha256 the caller vouches for.
// No DOM: `fetch` and `crypto` are passed in or global.
import { bytesToBase64 } from "./attachments.js";

/**
 * @typedef {{name: string, file_name: string, sha256: string, depends?: string[], imports?: string[],
 *            package_type?: string}} LockEntry
 * @typedef {{packages: Record<string, LockEntry>}} Lock
 * @typedef {Lock & {pyodide: string | null, pypi: boolean}} ServerLock  what `cloche serve` offers
 * @typedef {string | {url: string, sha256: string}} Requirement
 * @typedef {{fileName: string, base64: string}} WheelFile
 * @typedef {{url: URL, sha256: string, fileName: string, served?: boolean}} Wanted
 * @typedef {{baseURL: string | URL, fetch?: typeof fetch, have?: Iterable<string>, lock?: Lock}} WheelOptions
 */

const SERVER_LOCK = "packages/pyodide-lock.json";
const ALLOW_PYPI = "this server does not fetch from PyPI (`cloche serve --allow-pypi`)";

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
  const sources = new PackageSources(options);
  const base = sources.base;
  const lock = options.lock ?? await readLock(base, sources.fetch);
  const have = new Set([...options.have ?? []].map(canonicalName));
  /** @type {Wanted[]} */
  const wanted = [];
  /** @type {Set<string>} */
  const seen = new Set();
  /** @param {string} name @param {string[]} chain */
  const addByName = async (name, chain) => {
    const key = canonicalName(name);
    if (have.has(key) || seen.has(key)) return;
    seen.add(key);
    const who = chain.length ? `${chain.join(" → ")} needs ${name}, which` : name;
    const found = lock.packages[key] ? { entry: lock.packages[key], url: new URL(lock.packages[key].file_name, base), served: false }
      : await sources.find(key);
    if (typeof found === "string") throw new WheelError(`${who} ${found}`);
    const { entry, url, served } = found;
    if (!entry.file_name.endsWith(".whl")) {
      throw new WheelError(`${who} is a shared library (${entry.file_name}): run-time installs cannot ` +
        "load those yet; add a package that needs it to the dist and rebuild with `cloche build`");
    }
    for (const dependency of entry.depends ?? []) await addByName(dependency, [...chain, name]);
    wanted.push({ url, sha256: entry.sha256, fileName: entry.file_name, served });
  };
  for (const requirement of requirements) {
    if (typeof requirement === "string") {
      await addByName(requirement, []);
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
  return Promise.all(wanted.map((w) => fetchChecked(w, sources.fetch)));
}

/**
 * What a worker's `cloche/wheels` request asks for (docs/worker-protocol.md, "Packages at run
 * time"): packages by name, or by a module they provide (`imports`, from the dist's lock, else
 * Pyodide's; modules no package provides are left out, for the import to report), without those
 * it `have`s. Names only: a worker cannot vouch for a file, so URLs are refused.
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
  const sources = new PackageSources(options);
  const lock = options.lock ?? await readLock(sources.base, sources.fetch);
  const providers = providersOf(lock);
  if (imports.some((module) => !providers.has(module))) {
    for (const [module, name] of providersOf(await sources.serverLock() ?? { packages: {} })) {
      if (!providers.has(module)) providers.set(module, name);
    }
  }
  const wanted = [...new Set([...requirements, ...imports.flatMap((m) => providers.get(m) ?? [])])];
  const held = new Set(have.map(canonicalName));
  const packages = wanted.filter((name) => !held.has(canonicalName(name)));
  if (!packages.length) return { packages, wheels: [] };
  return { packages, wheels: await wheelsFor(packages, { ...options, lock, have }) };
}

/** @param {Lock} lock  @returns {Map<string, string>} module -> the package that provides it */
function providersOf(lock) {
  const providers = new Map();
  for (const entry of Object.values(lock.packages)) {
    for (const module of entry.imports ?? []) if (!providers.has(module)) providers.set(module, entry.name);
  }
  return providers;
}

// What this origin's package routes answered, per fetch function, so a page asks each once.
/** @type {WeakMap<object, Map<string, Promise<any>>>} */
const answered = new WeakMap();

/** The packages `cloche serve` offers beyond the dist's lock: Pyodide's, and PyPI's if allowed. */
class PackageSources {
  /** @param {WheelOptions} options */
  constructor(options) {
    this.base = new URL(options.baseURL);
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.fetch = /** @type {typeof fetch} */ ((input, init) => fetchImpl.call(globalThis, input, init));
    let answers = answered.get(fetchImpl);
    if (!answers) answered.set(fetchImpl, answers = new Map());
    this.answers = answers;
  }

  /**
   * The answer for `path`, asked once; a failure is forgotten, to be asked again.
   * @template T @param {string} path @param {(url: URL) => Promise<T>} ask @returns {Promise<T>}
   */
  once(path, ask) {
    const url = new URL(path, this.base);
    let answer = this.answers.get(url.href);
    if (!answer) {
      answer = ask(url);
      this.answers.set(url.href, answer);
      answer.catch(() => this.answers.delete(url.href));
    }
    return answer;
  }

  /** Pyodide's packages from the server, or null where there is no package server (a static host).
   * @returns {Promise<ServerLock | null>} */
  serverLock() {
    return this.once(SERVER_LOCK, async (url) => {
      const response = await this.fetch(url);
      if (response.status === 404) return null;
      if (!response.ok) throw new WheelError(`${url.pathname} answered ${response.status}: ${await response.text()}`);
      const lock = await response.json().catch(() => null);
      return lock && typeof lock.packages === "object" ? lock : null;
    });
  }

  /** PyPI's newest pure wheel of `name` through the server: {entry}, or {missing: why}.
   * @param {string} name @returns {Promise<{entry?: LockEntry, missing?: string}>} */
  pypi(name) {
    return this.once(`packages/pypi/${encodeURIComponent(name)}.json`, async (url) => {
      const response = await this.fetch(url);
      if (response.ok) return { entry: await response.json() };
      const text = (await response.text()).trim();
      if (response.status === 403) return { missing: ALLOW_PYPI };
      if (response.status === 404) return { missing: `nor on PyPI: ${text}` };
      throw new WheelError(`${name} could not be looked up on PyPI: ${url.pathname} answered ${response.status}: ${text}`);
    });
  }

  /**
   * Where `name` (canonical, not in the dist's lock) comes from, or why it cannot be found.
   * @param {string} name
   * @returns {Promise<{entry: LockEntry, url: URL, served: boolean} | string>}
   */
  async find(name) {
    const notHere = "is not in this site's pyodide-lock.json";
    const server = await this.serverLock();
    if (!server) return `${notHere}: only the dist's own packages install here (add it to the dist and rebuild with \`cloche build\`)`;
    const pyodide = server.packages[name];
    if (pyodide) {
      return { entry: pyodide, url: new URL(`packages/pyodide/${encodeURIComponent(pyodide.file_name)}`, this.base), served: true };
    }
    const notPyodide = `${notHere} nor in ` + (server.pyodide ? `Pyodide ${server.pyodide}'s packages`
      : "Pyodide's packages (this server has no Pyodide lock: `cloche serve --pyodide-lock FILE`)");
    if (!server.pypi) return `${notPyodide}, and ${ALLOW_PYPI}`;
    const { entry, missing } = await this.pypi(name);
    if (!entry) return missing === ALLOW_PYPI ? `${notPyodide}, and ${missing}` : `${notPyodide}, ${missing}`;
    return { entry, url: new URL(`packages/pypi/files/${encodeURIComponent(entry.file_name)}`, this.base), served: true };
  }
}

/**
 * @param {URL} base
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<Lock>}
 */
async function readLock(base, fetchImpl) {
  const url = new URL("pyodide-lock.json", base);
  const response = await fetchImpl(url);
  if (!response.ok) throw new WheelError(`${url.pathname} answered ${response.status}: rebuild the dist with \`cloche build\``);
  return response.json();
}

/**
 * A file's bytes, checked against the sha256 its source gave. `served`: fetched by this origin's
 * server from Pyodide's source or PyPI (and checked there too), whose refusals are one line.
 * @param {Wanted} wheel
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<WheelFile>}
 */
async function fetchChecked({ url, sha256, fileName, served }, fetchImpl) {
  const response = await fetchImpl(url);
  if (!response.ok) {
    throw new WheelError(served
      ? `${fileName}: ${url.pathname} answered ${response.status}: ${(await response.text()).trim()}`
      : `${url.pathname} answered ${response.status} ${response.statusText}: the dist is incomplete; rebuild it with \`cloche build\``);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  if (digest !== sha256) {
    throw new WheelError(`${fileName} does not match its sha256 (expected ${sha256}, got ${digest}): ` + (served
      ? `it changed between this server and the page; it was not installed`
      : "it was changed or damaged after the build; it was not installed. Rebuild the dist with `cloche build`"));
  }
  return { fileName, base64: bytesToBase64(bytes) };
}
