// Conversations kept in the browser's IndexedDB: one record each, with its system prompt, model,
// messages (in the agent loop's format) and the tools allowed for it. No DOM: node tests pass an
// IndexedDB implementation in.

import { requestDone, transactionDone } from "./idb.js";

const DB_VERSION = 1;
const STORE = "conversations";
export const UNTITLED = "New conversation";

/**
 * @typedef {{id: string, title: string, systemPrompt: string, model: string,
 *            messages: any[], allowedTools: string[], createdAt: number, updatedAt: number,
 *            attachments?: import("./attachments.js").Attachment[]}} Conversation
 * @typedef {{id: string, title: string, updatedAt: number}} ConversationSummary
 */

/**
 * A new, empty conversation.
 * @param {{model?: string, systemPrompt?: string, now?: number}} [options]
 * @returns {Conversation}
 */
export function newConversation(options = {}) {
  const now = options.now ?? Date.now();
  return {
    id: crypto.randomUUID(), title: "", systemPrompt: options.systemPrompt ?? "",
    model: options.model ?? "", messages: [], allowedTools: [], createdAt: now, updatedAt: now,
  };
}

/**
 * What the list shows: the title given, else the start of the first user message.
 * @param {Conversation} conversation
 */
export function titleOf(conversation) {
  if (conversation.title.trim()) return conversation.title.trim();
  const first = conversation.messages.find((m) => m.role === "user" && typeof m.content === "string");
  if (!first) return UNTITLED;
  const text = first.content.replace(/\s+/g, " ").trim();
  return text.length > 48 ? `${text.slice(0, 47)}…` : text || UNTITLED;
}

const UNFINISHED = new Set(["pending", "approval", "running"]);
export const CLOSED_MID_CALL = "The page was closed before this call finished.";

/**
 * A conversation saved while its agent ran (the tab was closed or reloaded) is finished honestly
 * when it is opened again: the streamed answer stops streaming, and unfinished tool calls are
 * marked stopped, so the user sees it and the model is told.
 * @param {Conversation} conversation
 * @returns {Conversation}
 */
export function settleInterrupted(conversation) {
  for (const message of conversation.messages) {
    if (message.cloche?.streaming) delete message.cloche.streaming;
    if (message.role === "tool" && UNFINISHED.has(message.cloche?.status)) {
      message.cloche.status = "stopped";
      message.content = CLOSED_MID_CALL;
    }
  }
  return conversation;
}

export class ConversationStore {
  /**
   * @param {{indexedDB?: IDBFactory, name?: string}} [options]
   */
  constructor(options = {}) {
    this.factory = options.indexedDB ?? globalThis.indexedDB;
    this.name = options.name ?? "cloche";
    /** @type {Promise<IDBDatabase> | null} */
    this.opening = null;
  }

  /** @returns {Promise<IDBDatabase>} */
  #db() {
    this.opening ??= new Promise((resolve, reject) => {
      const request = this.factory.open(this.name, DB_VERSION);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: "id" }).createIndex("updatedAt", "updatedAt");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(
        `this browser refused to open the conversation store (${request.error?.message}); ` +
        "conversations will not be kept after a reload"));
      request.onblocked = () => reject(new Error("the conversation store is open in an older tab: close it and reload"));
    });
    return this.opening;
  }

  /**
   * @param {IDBTransactionMode} mode
   * @returns {Promise<IDBObjectStore>}
   */
  async #store(mode) {
    return (await this.#db()).transaction(STORE, mode).objectStore(STORE);
  }

  /** Every conversation, the most recently changed first. @returns {Promise<ConversationSummary[]>} */
  async list() {
    /** @type {Conversation[]} */
    const all = await requestDone((await this.#store("readonly")).getAll());
    return all.sort((a, b) => b.updatedAt - a.updatedAt)
      .map((c) => ({ id: c.id, title: titleOf(c), updatedAt: c.updatedAt }));
  }

  /** @param {string} id @returns {Promise<Conversation | undefined>} */
  async get(id) {
    /** @type {Conversation | undefined} */
    const conversation = await requestDone((await this.#store("readonly")).get(id));
    return conversation && settleInterrupted(conversation);
  }

  /**
   * Save a conversation as it is now (IndexedDB copies it at once, so later changes are not kept).
   * @param {Conversation} conversation
   */
  async put(conversation) {
    const store = await this.#store("readwrite");
    store.put(conversation);
    await transactionDone(store.transaction);
  }

  /** @param {string} id */
  async delete(id) {
    const store = await this.#store("readwrite");
    store.delete(id);
    await transactionDone(store.transaction);
  }

  close() {
    this.opening?.then((db) => db.close()).catch(() => {});
    this.opening = null;
  }
}
