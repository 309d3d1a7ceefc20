// What the host does for a tool package beyond answering its calls: `cloche/fetch` (the network,
// through the server's fetch proxy) and `cloche/store` (the package's own key-value store in the
// page's IndexedDB). Each request is checked here, outside the worker, against what the package
// of the asking worker declared in registry.json and what the user granted it; the worker never
// names the package itself (docs/security.md, "Permissions"). No DOM here.
import { allows, permissionsOf } from "./permissions.js";
import { MAX_KEY_LENGTH } from "./package-store.js";
import { packageOfWorker } from "./tool-workers.js";

export const FETCH_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const MAX_URL_LENGTH = 8192;
const MAX_HEADERS = 100;
/** The proxy takes bodies up to 1 MiB; base64 makes them a third longer. */
const MAX_BODY_BASE64 = Math.ceil((1024 * 1024) / 3) * 4;
export const PROXY_PATH = "proxy";

/**
 * @typedef {import("./tool-workers.js").RegistryPackage} RegistryPackage
 * @typedef {{url: string, method: string, headers: [string, string][], body: string | null}} FetchRequest
 * @typedef {{status: number, statusText: string, url: string, headers: [string, string][], body: string}} FetchAnswer
 * @typedef {(request: FetchRequest & {allow: string[]}) => Promise<FetchAnswer>} Proxy
 */

/**
 * The services for WorkerHost's `services` option.
 * @param {{packageOfWorker: (worker: string) => RegistryPackage | null,
 *          grants: import("./permissions.js").Grants,
 *          store: Pick<import("./package-store.js").PackageStore, "get" | "set" | "delete" | "keys">,
 *          proxy: Proxy}} parts
 */
export function packageServices({ packageOfWorker, grants, store, proxy }) {
  /**
   * The asking worker's package, once its declaration and the user's grant cover `what`.
   * @param {string} worker
   * @param {"network" | "storage"} what
   */
  const granted = (worker, what) => {
    const pkg = packageOfWorker(worker);
    const label = pkg ? `${pkg.name} ${pkg.version}` : `the tools of worker "${worker}"`;
    const declared = pkg ? permissionsOf(pkg) : { network: [], storage: false };
    if (what === "network" ? !declared.network.length : !declared.storage) {
      throw new Error(`${label} declared no ${what === "network" ? "network access" : "store"}, so it has none: ` +
        `a package declares it with cloche.permissions(${what === "network" ? "network=[...]" : "storage=True"}) ` +
        "(docs/python-tools.md, \"Permissions\")");
    }
    const status = grants.status(/** @type {RegistryPackage} */ (pkg));
    const noun = what === "network" ? "network access" : "its store";
    if (status.state === "ask") {
      throw new Error(`${label} has not been granted ${noun} yet: allow it when the page asks, or under ` +
        "Permissions in the Tools panel");
    }
    if (status.state !== "allowed") {
      throw new Error(`${noun} for ${label} is not allowed on this browser (denied or revoked); nothing was done. ` +
        "Allow it under Permissions in the Tools panel");
    }
    return { pkg: /** @type {RegistryPackage} */ (pkg), label, grant: status.grant };
  };

  return {
    /** @param {any} params @param {string} worker */
    "cloche/fetch": async (params, worker) => {
      const request = fetchRequest(params);
      const { label, grant } = granted(worker, "network");
      if (!allows(grant.network, request.url)) {
        throw new Error(`${label} asked for ${request.url}, outside the origins it declared and was granted ` +
          `(${grant.network.join(", ")}); nothing was fetched`);
      }
      return proxy({ ...request, allow: grant.network });
    },
    /** @param {any} params @param {string} worker */
    "cloche/store": async (params, worker) => {
      const op = params?.op;
      if (!["get", "set", "delete", "keys"].includes(op)) {
        throw new Error(`cloche/store needs op "get", "set", "delete" or "keys", got ${JSON.stringify(op)}`);
      }
      const { pkg } = granted(worker, "storage");
      if (op === "keys") return { keys: await store.keys(pkg.name) };
      const key = params.key;
      if (typeof key !== "string" || !key || key.length > MAX_KEY_LENGTH) {
        throw new Error(`cloche/store's key must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
      }
      if (op === "get") return store.get(pkg.name, key);
      if (op === "delete") {
        await store.delete(pkg.name, key);
        return {};
      }
      if (!("value" in params)) throw new Error("cloche/store's set needs a value");
      await store.set(pkg.name, key, params.value);
      return {};
    },
  };
}

/**
 * The services as the page sets them up (web/app/main.js): the asking worker's package from the
 * registry the page loaded, the network through this server's proxy.
 * @param {{registry: () => import("./tool-workers.js").Registry | null, baseURL: URL,
 *          grants: import("./permissions.js").Grants,
 *          store: Pick<import("./package-store.js").PackageStore, "get" | "set" | "delete" | "keys">,
 *          token?: () => string}} parts
 */
export function pageServices({ registry, baseURL, grants, store, token }) {
  return packageServices({
    packageOfWorker: (worker) => {
      const loaded = registry();
      return loaded ? packageOfWorker(loaded, worker) : null;
    },
    grants, store, proxy: proxyThrough({ baseURL, token }),
  });
}

/**
 * A worker's `cloche/fetch` params, checked.
 * @param {any} params
 * @returns {FetchRequest}
 */
export function fetchRequest(params) {
  const { url, method = "GET", headers = [], body = null } = params ?? {};
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH || !/^https?:\/\//i.test(url)) {
    throw new Error(`cloche/fetch needs an http or https URL (up to ${MAX_URL_LENGTH} characters), got ${JSON.stringify(url)?.slice(0, 200)}`);
  }
  if (typeof method !== "string" || !FETCH_METHODS.includes(method.toUpperCase())) {
    throw new Error(`cloche/fetch's method must be one of ${FETCH_METHODS.join(", ")}, got ${JSON.stringify(method)}`);
  }
  if (!Array.isArray(headers) || headers.length > MAX_HEADERS ||
      !headers.every((h) => Array.isArray(h) && h.length === 2 && h.every((part) => typeof part === "string"))) {
    throw new Error(`cloche/fetch's headers must be a list of up to ${MAX_HEADERS} [name, value] string pairs`);
  }
  if (body !== null && (typeof body !== "string" || body.length > MAX_BODY_BASE64)) {
    throw new Error("cloche/fetch's body must be null or base64 text of at most 1 MiB of bytes");
  }
  return { url, method: method.toUpperCase(), headers, body };
}

/**
 * The server's fetch proxy, on the page's own origin (the page's Content-Security-Policy allows
 * nothing else): POST {url, method, headers, body, allow} to /proxy.
 * @param {{baseURL: URL, fetch?: typeof fetch, token?: () => string}} options
 * @returns {Proxy}
 */
export function proxyThrough({ baseURL, fetch: fetchImpl = globalThis.fetch.bind(globalThis), token = () => "" }) {
  return async (request) => {
    const bearer = token();
    let response;
    try {
      response = await fetchImpl(new URL(PROXY_PATH, baseURL), {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer ? { authorization: `Bearer ${bearer}` } : {} },
        body: JSON.stringify(request),
      });
    } catch (error) {
      throw new Error(`the page could not reach its server's fetch proxy (${error instanceof Error ? error.message : error}); nothing was fetched`);
    }
    const answer = await response.json().catch(() => null);
    if (response.ok && answer && typeof answer.status === "number") return answer;
    const message = answer?.error?.message ??
      (response.status === 404 || response.status === 405
        ? "this server has no fetch proxy (a static host): tools cannot reach the network here"
        : `HTTP ${response.status}`);
    throw new Error(`the server's fetch proxy refused ${request.url}: ${message}`);
  };
}
