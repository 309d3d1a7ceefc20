// Closing a tool worker's ways out before any tool code runs (docs/security.md). The worker's
// Content-Security-Policy, sent with its script (py_runtime/cloche_server/worker_policy.py), already
// limits connections and scripts to the runtime's own files, by path, and forbids nested workers;
// it binds dynamic `import()` too, which no JavaScript can. This closes what a policy cannot:
// storage shared with the page (IndexedDB, Cache Storage, the origin-private file system, Web
// Locks), BroadcastChannel to the page, posting on the worker's own global channel (where the host
// listens during boot), and the network and loader entry points themselves, so that tool code gets
// a clear error instead of a policy violation.
//
// Each is replaced in place by a stub that throws, made non-writable and non-configurable, on the
// object that really holds it (the global object, or the prototype for `navigator.storage`,
// `navigator.locks` and `StorageManager#getDirectory`), so neither a kept name, `globalThis`,
// `self`, a prototype nor a function's `constructor` leads back to the original: nothing keeps it.
// No DOM here; `scope` is the worker's global object (a plain object in node tests).

export const WHY = "Cloche tools run without network, storage or access to the page " +
  "(see docs/security.md); a package that needs the network or a store declares it, and uses " +
  "cloche.http.fetch or cloche.store once the user allowed it (docs/python-tools.md, \"Permissions\")";

/** Globals whose every use is a way out: functions and constructors. */
export const CLOSED_GLOBALS = [
  "fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "WebTransport", "EventSource",
  "importScripts", "Worker", "SharedWorker", "BroadcastChannel", "postMessage", "fetchLater",
];
/** Storage shared with the page, reached through accessors on the global object. */
export const CLOSED_ACCESSORS = ["indexedDB", "caches", "cookieStore"];

/**
 * A function that throws, named after what it replaces.
 * @param {string} name
 */
function refusal(name) {
  const refuse = function () {
    throw new Error(`${name} is not available to tool code: ${WHY}`);
  };
  Object.defineProperty(refuse, "name", { value: name });
  return refuse;
}

/**
 * Replace `key` on `holder` (an own property) with `value` for good.
 * @param {any} holder
 * @param {string} key
 * @param {PropertyDescriptor} descriptor
 */
function seal(holder, key, descriptor) {
  Object.defineProperty(holder, key, { ...descriptor, configurable: false,
    ...("value" in descriptor ? { writable: false } : {}) });
}

/**
 * The object on `start`'s prototype chain that holds `key` itself, or null.
 * @param {any} start
 * @param {string} key
 */
function holderOf(start, key) {
  for (let object = start; object; object = Object.getPrototypeOf(object)) {
    if (Object.prototype.hasOwnProperty.call(object, key)) return object;
  }
  return null;
}

/**
 * Close every way out on `scope`; returns the names closed (those that existed).
 * @param {any} [scope]
 * @returns {string[]}
 */
export function lockDown(scope = globalThis) {
  /** @type {string[]} */
  const closed = [];
  for (const name of CLOSED_GLOBALS) {
    const holder = holderOf(scope, name);
    if (!holder) continue;
    seal(holder, name, { value: refusal(name), enumerable: false });
    if (holder !== scope && Object.prototype.hasOwnProperty.call(scope, name) === false) {
      seal(scope, name, { value: refusal(name), enumerable: false });
    }
    closed.push(name);
  }
  for (const name of CLOSED_ACCESSORS) {
    const holder = holderOf(scope, name);
    if (!holder) continue;
    seal(holder, name, { get: refusal(name), enumerable: false });
    closed.push(name);
  }
  const navigator = scope.navigator;
  for (const name of ["storage", "locks", "sendBeacon"]) {
    const holder = navigator && holderOf(navigator, name);
    if (!holder) continue;
    seal(holder, name, typeof Object.getOwnPropertyDescriptor(holder, name)?.get === "function"
      ? { get: refusal(`navigator.${name}`), enumerable: false }
      : { value: refusal(`navigator.${name}`), enumerable: false });
    closed.push(`navigator.${name}`);
  }
  const storageManager = scope.StorageManager?.prototype;
  if (storageManager && holderOf(storageManager, "getDirectory")) {
    seal(storageManager, "getDirectory", { value: refusal("navigator.storage.getDirectory"), enumerable: false });
    closed.push("StorageManager.getDirectory");
  }
  return closed;
}

/**
 * Pyodide's own loaders, which tool code reaches as `pyodide_js`: packages come from the host
 * (`cloche/install`), never from a URL tool code names.
 * @param {any} pyodide
 */
export function closeLoaders(pyodide) {
  for (const name of ["loadPackage", "loadPackagesFromImports"]) {
    if (typeof pyodide[name] === "function") {
      seal(pyodide, name, { value: refusal(`pyodide.${name}`), enumerable: true });
    }
  }
}
