// What a tool package may reach beyond its sandbox, as registry.json declares it (network origin
// patterns, a private key-value store, deadline and memory), and what the user granted, per
// package and version. The host's services (package-services.js) check every request against
// both. No DOM here; the grants live in `storage` (localStorage on the page, closed to workers).
//
// Origin patterns are those of py_runtime/cloche/permissions.py: `https://api.example.org`,
// `http://127.0.0.1:8792`, `https://*.example.org` (its subdomains), `https://*` (any host).

/** localStorage key of the user's decisions: `{[package]: GrantRecord}`. */
export const GRANTS_KEY = "cloche.grants";
const DEFAULT_PORTS = /** @type {Record<string, string>} */ ({ "http:": "80", "https:": "443" });

/**
 * @typedef {{network: string[], storage: boolean, deadlineMs?: number, memoryBytes?: number}} Permissions
 * @typedef {{name: string, version?: string, permissions?: Partial<Permissions>}} DeclaringPackage
 * @typedef {{version: string, asked: {network: string[], storage: boolean}, decision: "allow" | "deny",
 *            at: number}} GrantRecord
 *   asked: what the package declared when the user decided; an "allow" grants exactly that
 * @typedef {{state: "none"} | {state: "allowed", grant: {network: string[], storage: boolean}}
 *   | {state: "denied", record: GrantRecord}
 *   | {state: "ask", added: {network: string[], storage: boolean}, previous: GrantRecord | null}} GrantStatus
 *   none: the package asks for nothing; ask: no decision covers this version's declaration, and
 *   `added` is what it asks for beyond the previous decision (everything, the first time)
 */

/**
 * A package's declared permissions, with the defaults (nothing) filled in.
 * @param {DeclaringPackage} pkg
 * @returns {Permissions}
 */
export function permissionsOf(pkg) {
  const declared = pkg.permissions ?? {};
  const network = Array.isArray(declared.network) ? declared.network.filter((p) => typeof p === "string") : [];
  return { ...declared, network, storage: declared.storage === true };
}

/** @param {{network: string[], storage: boolean}} permissions */
export function asksConsent(permissions) {
  return permissions.network.length > 0 || permissions.storage;
}

/**
 * True when `url` (http or https) is under the origin pattern.
 * @param {string} pattern
 * @param {string} url
 */
export function originMatches(pattern, url) {
  let target;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return false;
  const match = /^(https?):\/\/(\*|\*\.[^:/]+|\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(pattern);
  if (!match) return false;
  const [, scheme, host, port] = match;
  if (`${scheme}:` !== target.protocol) return false;
  const targetPort = target.port || DEFAULT_PORTS[target.protocol];
  if (port !== undefined && port !== targetPort) return false;
  if (host === "*") return true;
  if (port === undefined && targetPort !== DEFAULT_PORTS[target.protocol]) return false;
  const hostname = target.hostname.toLowerCase();
  if (host.startsWith("*.")) return hostname.endsWith(host.slice(1)) && hostname !== host.slice(2);
  return hostname === host;
}

/**
 * @param {string[]} patterns
 * @param {string} url
 */
export function allows(patterns, url) {
  return patterns.some((pattern) => originMatches(pattern, url));
}

/**
 * One origin pattern in words, for the user.
 * @param {string} pattern
 */
export function patternText(pattern) {
  const match = /^(https?):\/\/(.*)$/.exec(pattern);
  if (!match) return pattern;
  const [, scheme, rest] = match;
  if (rest === "*") return `any site over ${scheme}`;
  if (rest.startsWith("*.")) return `any subdomain of ${rest.slice(2)} (${scheme})`;
  return pattern;
}

/**
 * What a package asks for, one line each, for the palette, the runtime panel and prompts.
 * @param {{network: string[], storage: boolean, deadlineMs?: number, memoryBytes?: number}} permissions
 * @param {{limits?: boolean}} [options]  limits: also the deadline and memory it declares
 */
export function permissionLines(permissions, options = {}) {
  const lines = [];
  if (permissions.network.length) lines.push(`Network: ${permissions.network.map(patternText).join(", ")}`);
  if (permissions.storage) lines.push("Storage: a private store on this browser");
  if (options.limits && permissions.deadlineMs) lines.push(`Deadline: ${permissions.deadlineMs / 1000} s a call`);
  if (options.limits && permissions.memoryBytes) lines.push(`Memory: up to ${Math.round(permissions.memoryBytes / 2 ** 20)} MiB`);
  return lines;
}

export class Grants {
  /** @param {Pick<Storage, "getItem" | "setItem">} storage */
  constructor(storage) {
    this.storage = storage;
    /** @type {Set<() => void>} */
    this.listeners = new Set();
  }

  /** @returns {Record<string, GrantRecord>} */
  all() {
    try {
      const parsed = JSON.parse(this.storage.getItem(GRANTS_KEY) || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {};
    }
  }

  /** @param {string} name */
  record(name) {
    const record = this.all()[name];
    return record && (record.decision === "allow" || record.decision === "deny") ? record : null;
  }

  /**
   * Where the user stands on this version of the package.
   * @param {DeclaringPackage} pkg
   * @returns {GrantStatus}
   */
  status(pkg) {
    const declared = permissionsOf(pkg);
    if (!asksConsent(declared)) return { state: "none" };
    const record = this.record(pkg.name);
    const added = record ? beyond(declared, record.asked) : { network: declared.network, storage: declared.storage };
    const more = asksConsent(added);
    if (!record || more) return { state: "ask", added, previous: record };
    if (record.version !== (pkg.version ?? "")) {
      // Another version that asks for no more than was decided: the decision carries over.
      this.#write(pkg.name, { ...record, version: pkg.version ?? "", asked: pick(declared) });
    }
    if (record.decision === "deny") return { state: "denied", record };
    return { state: "allowed", grant: pick(declared) };
  }

  /**
   * What the package may use now: its declaration if the user allowed it, else nothing.
   * @param {DeclaringPackage} pkg
   */
  granted(pkg) {
    const status = this.status(pkg);
    return status.state === "allowed" ? status.grant : { network: [], storage: false };
  }

  /**
   * Remember the user's decision on this version of the package.
   * @param {DeclaringPackage} pkg
   * @param {"allow" | "deny"} decision
   */
  decide(pkg, decision) {
    this.#write(pkg.name, { version: pkg.version ?? "", asked: pick(permissionsOf(pkg)), decision, at: Date.now() });
  }

  /**
   * Take back what was allowed: the package's requests are refused from its next call on, until
   * the user allows it again.
   * @param {string} name
   */
  revoke(name) {
    const record = this.record(name);
    if (record) this.#write(name, { ...record, decision: "deny", at: Date.now() });
  }

  /**
   * Forget the decision: the package asks again on its next use.
   * @param {string} name
   */
  forget(name) {
    const all = this.all();
    delete all[name];
    this.storage.setItem(GRANTS_KEY, JSON.stringify(all));
    this.#changed();
  }

  /** @param {() => void} listener */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * @param {string} name
   * @param {GrantRecord} record
   */
  #write(name, record) {
    this.storage.setItem(GRANTS_KEY, JSON.stringify({ ...this.all(), [name]: record }));
    this.#changed();
  }

  #changed() {
    for (const listener of this.listeners) listener();
  }
}

/** @param {Permissions} permissions */
function pick(permissions) {
  return { network: [...permissions.network], storage: permissions.storage };
}

/**
 * What `declared` asks for that `before` did not.
 * @param {{network: string[], storage: boolean}} declared
 * @param {{network?: string[], storage?: boolean} | undefined} before
 */
function beyond(declared, before) {
  const had = new Set(before?.network ?? []);
  return { network: declared.network.filter((p) => !had.has(p)), storage: declared.storage && before?.storage !== true };
}
