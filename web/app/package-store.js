// Each tool package's private key-value store, kept by the page in IndexedDB (which workers cannot
// open: web/workers/lockdown.js), one namespace per package, surviving reloads. Only the host's
// `cloche/store` service (package-services.js) reaches it, for the package of the calling worker
// and only when the user granted that package storage. No DOM: node tests pass an IndexedDB in.
import { requestDone, transactionDone } from "./idb.js";

const DB_VERSION = 1;
const STORE = "entries";
export const MAX_KEY_LENGTH = 256;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const MAX_KEYS = 1000;

export class PackageStore {
  /** @param {{indexedDB?: IDBFactory, IDBKeyRange?: typeof IDBKeyRange, name?: string}} [options] */
  constructor(options = {}) {
    this.factory = options.indexedDB ?? globalThis.indexedDB;
    this.KeyRange = options.IDBKeyRange ?? globalThis.IDBKeyRange;
    this.name = options.name ?? "cloche-package-stores";
    /** @type {Promise<IDBDatabase> | null} */
    this.opening = null;
  }

  /** @returns {Promise<IDBDatabase>} */
  #db() {
    this.opening ??= new Promise((resolve, reject) => {
      const request = this.factory.open(this.name, DB_VERSION);
      // Keys are [package, key]: one package's entries are one key range.
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(
        `this browser refused to open the packages' store (${request.error?.message})`));
      request.onblocked = () => reject(new Error("the packages' store is open in an older tab: close it and reload"));
    });
    return this.opening;
  }

  /** @param {IDBTransactionMode} mode */
  async #store(mode) {
    return (await this.#db()).transaction(STORE, mode).objectStore(STORE);
  }

  /**
   * @param {string} pkg
   * @param {string} key
   * @returns {Promise<{found: boolean, value: any}>}
   */
  async get(pkg, key) {
    const entry = await requestDone((await this.#store("readonly")).get([pkg, key]));
    return entry === undefined ? { found: false, value: null } : { found: true, value: JSON.parse(entry) };
  }

  /**
   * @param {string} pkg
   * @param {string} key
   * @param {any} value  JSON
   */
  async set(pkg, key, value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error(`the value for "${key}" is not JSON`);
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > MAX_VALUE_BYTES) {
      throw new Error(`the value for "${key}" is ${bytes} bytes as JSON; a package's store keeps values up to ${MAX_VALUE_BYTES}`);
    }
    const store = await this.#store("readwrite");
    const had = await requestDone(store.getKey([pkg, key]));
    if (had === undefined && (await requestDone(store.count(this.#range(pkg)))) >= MAX_KEYS) {
      throw new Error(`${pkg}'s store already holds ${MAX_KEYS} keys, the most it may: delete some first`);
    }
    store.put(text, [pkg, key]);
    await transactionDone(store.transaction);
  }

  /** @param {string} pkg @param {string} key */
  async delete(pkg, key) {
    const store = await this.#store("readwrite");
    store.delete([pkg, key]);
    await transactionDone(store.transaction);
  }

  /** @param {string} pkg @returns {Promise<string[]>} */
  async keys(pkg) {
    /** @type {[string, string][]} */
    const keys = await requestDone((await this.#store("readonly")).getAllKeys(this.#range(pkg)));
    return keys.map(([, key]) => key);
  }

  /** Everything one package kept, gone (the user cleared it). @param {string} pkg */
  async clear(pkg) {
    const store = await this.#store("readwrite");
    store.delete(this.#range(pkg));
    await transactionDone(store.transaction);
  }

  /** Every [pkg, key] with a string key: arrays sort after strings, so [pkg, []] ends the range. */
  #range(/** @type {string} */ pkg) {
    return this.KeyRange.bound([pkg], [pkg, []]);
  }

  close() {
    this.opening?.then((db) => db.close()).catch(() => {});
    this.opening = null;
  }
}
