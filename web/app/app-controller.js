// The agent UI's one store of state and the actions its components send up. It joins the parts:
// the tool workers (WorkerHost), the model relay, the conversations in IndexedDB and the agent
// loop. No DOM here: the page renders `state` after each change and calls the actions.
import { runAgent, rerunToolCall } from "./agent-loop.js";
import { listModels, streamChat, RelayError } from "./relay-client.js";
import { newConversation } from "./conversations.js";
import { toJSON, fromJSON, toMarkdown, exportFileName } from "./conversation-export.js";
import { Runtimes } from "./runtime-manager.js";
import { errorText } from "./error-text.js";
import { newAttachmentId } from "./attachments.js";
import { permissionsOf } from "./permissions.js";
import { offerTools } from "./webmcp.js";

export const TOKEN_KEY = "cloche.relayToken";
export const MODEL_KEY = "cloche.model";
/** localStorage key of the user's WebMCP choice: "on" offers the tools to the browser's agent. */
export const WEBMCP_KEY = "cloche.webmcp";
const SAVE_EVERY_MS = 1_000;
const TICK_MS = 200;

/**
 * @typedef {import("./tool-workers.js").Registry} Registry
 * @typedef {import("./conversations.js").Conversation} Conversation
 * @typedef {import("./conversations.js").ConversationSummary} ConversationSummary
 * @typedef {import("./runtime-manager.js").WorkerState} WorkerState
 * @typedef {import("./runtime-manager.js").ListedTool} ListedTool
 * @typedef {import("./runtime-manager.js").PackageState} PackageState
 * @typedef {{state: "loading" | "ready" | "none" | "token" | "error", models: string[], message: string}} RelayState
 * @typedef {{tool: string, message: any | null, running: boolean,
 *            files?: import("./attachments.js").Attachment[]}} ToolRun
 * @typedef {object} AppState
 * @property {Registry | null} registry
 * @property {ListedTool[]} tools           every tool: registry.json's at once, then what workers offer
 * @property {Record<string, WorkerState>} workers
 * @property {PackageState[]} packages      what the dist offers, loaded or not (the runtime panel)
 * @property {RelayState} relay
 * @property {string} model
 * @property {ConversationSummary[]} conversations
 * @property {Conversation | null} current
 * @property {string | null} runningId       the conversation whose agent is running
 * @property {string} problem                what went wrong outside any conversation
 * @property {number} now                    ticks while a tool runs, for elapsed times
 * @property {ToolRun | null} runner          the tool open in the palette, and its last run by hand
 * @property {ConsentPrompt | null} consent    a package waiting for the user's allow or deny
 * @property {"absent" | "off" | "on"} webmcp  whether the tools are offered to the browser's agent
 * @typedef {{name: string, version: string, permissions: import("./permissions.js").Permissions,
 *            added: {network: string[], storage: boolean},
 *            previous: import("./permissions.js").GrantRecord | null}} ConsentPrompt
 *   added: what it asks for beyond what the user decided on an earlier version (all, at first)
 */

export class AppController {
  /**
   * @param {{host: import("./worker-host.js").WorkerHost, conversations: import("./conversations.js").ConversationStore,
   *          baseURL: URL, session: Storage, preferences: Storage, fetch?: typeof fetch,
   *          grants?: import("./permissions.js").Grants, packageStore?: {clear(pkg: string): Promise<void>},
   *          modelContext?: ReturnType<typeof import("./webmcp.js").modelContext>,
   *          spawnOptions?: {onProgress?: any}}} parts
   *   grants: the user's decisions on packages that want network or storage (Permissions)
   *   modelContext: the browser's WebMCP, where it has one (webmcp.js)
   */
  constructor(parts) {
    this.host = parts.host;
    this.store = parts.conversations;
    this.baseURL = parts.baseURL;
    this.session = parts.session;
    this.preferences = parts.preferences;
    this.fetch = parts.fetch ?? globalThis.fetch.bind(globalThis);
    /** @type {AppState} */
    this.state = {
      registry: null, tools: [], workers: {}, packages: [], relay: { state: "loading", models: [], message: "" },
      model: "", conversations: [], current: null, runningId: null, problem: "", now: Date.now(),
      runner: null, consent: null,
      webmcp: parts.modelContext ? (parts.preferences.getItem(WEBMCP_KEY) === "on" ? "on" : "off") : "absent",
    };
    this.modelContext = parts.modelContext ?? null;
    /** @type {AbortController | null} ends the current offer to the browser's agent */
    this.offer = null;
    this.offered = "";
    this.grants = parts.grants;
    this.packageStore = parts.packageStore;
    /** @type {{prompt: ConsentPrompt, resolve: (decision: "allow" | "deny") => void}[]} */
    this.consents = [];
    /** @type {Set<() => void>} */
    this.listeners = new Set();
    this.runtimes = new Runtimes({
      host: parts.host, baseURL: parts.baseURL, storage: parts.preferences, grants: parts.grants,
      askConsent: (pkg, status) => this.#askConsent({ name: pkg.name, version: pkg.version,
        permissions: permissionsOf(pkg), added: status.added, previous: status.previous }),
      onChange: () => {
        this.#set({ tools: this.runtimes.tools, workers: this.runtimes.workers, packages: this.runtimes.packages });
        this.#offerTools();
      },
    });
    /** @type {Map<string, (decision: "once" | "conversation" | "deny") => void>} */
    this.approvals = new Map();
    /** @type {AbortController | null} */
    this.abort = null;
    /** @type {Conversation | null} */
    this.runningConversation = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.ticker = undefined;
    this.ticking = 0;
    /** @type {AbortController | null} */
    this.runnerAbort = null;
    this.manualRuns = 0;
    this.lastSave = 0;
  }

  /** @param {() => void} listener */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  /** @param {Partial<AppState>} patch */
  #set(patch) {
    Object.assign(this.state, patch);
    this.changed();
  }

  /**
   * Show the registry's tools at once, start the workers, open the last conversation, and ask
   * the relay which models it offers; each part reports its own failure.
   * @param {Registry} registry
   */
  async start(registry) {
    this.#set({ registry });
    this.runtimes.start(registry);
    await Promise.all([this.#openLatest(), this.loadModels()]);
  }

  /** @param {string} name  a tool's qualified name */
  workerOf(name) {
    return this.runtimes.workerOf(name);
  }

  /**
   * Boot progress from the spawner.
   * @param {string} worker
   * @param {import("./worker-spawn.js").BootProgress} progress
   */
  onBootProgress(worker, progress) {
    this.runtimes.onBootProgress(worker, progress);
  }

  /** Start again the workers that failed to boot. */
  retryWorkers() {
    this.runtimes.retry();
  }

  /**
   * Install a package the dist offers but did not load (the runtime panel's Install).
   * @param {string} name
   */
  async installPackage(name) {
    await this.runtimes.install(name).catch(() => {});  // the failure is shown on its row
  }

  /**
   * Remove a loaded package (the runtime panel's Remove).
   * @param {string} name
   */
  async removePackage(name) {
    await this.runtimes.remove(name).catch(() => {});
  }

  /**
   * Call a tool by name; one whose worker is still starting is called once it is up.
   * @param {string} name
   * @param {object} args
   * @param {{onProgress?: (p: any) => void, signal?: AbortSignal}} [options]
   */
  callTool(name, args, options = {}) {
    return this.runtimes.callTool(name, args, options);
  }

  // --- the relay -------------------------------------------------------------------------------

  get token() {
    return this.session.getItem(TOKEN_KEY) || "";
  }

  async loadModels() {
    this.#set({ relay: { state: "loading", models: [], message: "" } });
    try {
      const models = await listModels({ baseURL: this.baseURL.href, token: this.token, fetch: this.fetch });
      const preferred = this.state.current?.model || this.preferences.getItem(MODEL_KEY) || "";
      const model = models.includes(preferred) ? preferred : models[0] ?? "";
      this.#set({ relay: { state: models.length ? "ready" : "none", models, message: "" }, model });
    } catch (error) {
      if (error instanceof RelayError && error.status === 401) {
        const message = this.token ? "The relay refused this token. Check it and try again." : "";
        this.#set({ relay: { state: "token", models: [], message } });
      } else {
        this.#set({ relay: { state: "error", models: [], message: errorText(error) } });
      }
    }
  }

  /** @param {string} token */
  async saveToken(token) {
    if (token.trim()) this.session.setItem(TOKEN_KEY, token.trim()); else this.session.removeItem(TOKEN_KEY);
    await this.loadModels();
  }

  /** @param {string} model */
  chooseModel(model) {
    this.preferences.setItem(MODEL_KEY, model);
    if (this.state.current) this.state.current.model = model;
    this.#set({ model });
    this.#save(true);
  }

  // --- conversations ---------------------------------------------------------------------------

  async #openLatest() {
    try {
      const conversations = await this.store.list();
      const latest = conversations[0] && await this.store.get(conversations[0].id);
      this.#set({ conversations });
      if (latest) this.#open(latest); else await this.newConversation();
    } catch (error) {
      this.#set({ problem: errorText(error), current: newConversation({ model: this.state.model }) });
    }
  }

  /** @param {Conversation} conversation */
  #open(conversation) {
    const model = this.state.relay.models.includes(conversation.model) ? conversation.model : this.state.model;
    this.#set({ current: conversation, model });
  }

  async #refreshList() {
    try {
      this.#set({ conversations: await this.store.list() });
    } catch (error) {
      this.#set({ problem: errorText(error) });
    }
  }

  /** Save the current conversation now, or at most once a second while it streams. */
  async #save(now = false, conversation = this.state.current) {
    if (!conversation) return;
    if (!now && Date.now() - this.lastSave < SAVE_EVERY_MS) return;
    this.lastSave = Date.now();
    conversation.updatedAt = Date.now();
    try {
      await this.store.put(conversation);
    } catch (error) {
      this.#set({ problem: `This conversation could not be saved: ${errorText(error)}` });
    }
  }

  /** A new conversation; an empty current one is reused rather than piling up. */
  async newConversation() {
    const current = this.state.current;
    if (current && !current.messages.length && this.state.conversations.some((c) => c.id === current.id)) return;
    const conversation = newConversation({ model: this.state.model, systemPrompt: current?.systemPrompt ?? "" });
    this.#set({ current: conversation });
    await this.#save(true, conversation);
    await this.#refreshList();
  }

  /** @param {string} id */
  async switchTo(id) {
    if (id === this.state.current?.id) return;
    // The running conversation is the live object the agent loop changes, not its last save.
    const running = this.runningConversation;
    const conversation = running?.id === id ? running : await this.store.get(id);
    if (conversation) this.#open(conversation);
  }

  /**
   * @param {string} id
   * @param {string} title
   */
  async rename(id, title) {
    const conversation = this.state.current?.id === id ? this.state.current : await this.store.get(id);
    if (!conversation) return;
    conversation.title = title.trim();
    await this.#save(true, conversation);
    await this.#refreshList();
  }

  /** @param {string} id */
  async remove(id) {
    if (this.state.runningId === id) this.stop();
    await this.store.delete(id);
    await this.#refreshList();
    if (this.state.current?.id === id) {
      const next = this.state.conversations[0] && await this.store.get(this.state.conversations[0].id);
      if (next) this.#open(next); else { this.#set({ current: null }); await this.newConversation(); }
    }
  }

  /**
   * The current conversation as a file: JSON (re-importable) or Markdown.
   * @param {"json" | "markdown"} kind
   * @returns {{name: string, type: string, text: string} | null}
   */
  exportConversation(kind) {
    const conversation = this.state.current;
    if (!conversation) return null;
    return kind === "json"
      ? { name: exportFileName(conversation, "json"), type: "application/json", text: toJSON(conversation) }
      : { name: exportFileName(conversation, "md"), type: "text/markdown", text: toMarkdown(conversation) };
  }

  /**
   * Import an exported conversation as a new one and open it; a bad file is named in the page.
   * @param {string} fileName
   * @param {string} text
   */
  async importConversation(fileName, text) {
    let conversation;
    try {
      conversation = fromJSON(text);
    } catch (error) {
      this.#set({ problem: `${fileName} could not be imported: ${errorText(error)}` });
      return;
    }
    this.#set({ problem: "" });
    await this.#save(true, conversation);
    await this.#refreshList();
    this.#open(conversation);
  }

  /**
   * Keep the prompt as it is typed (a re-render must never undo a keystroke); saved at most once a
   * second while typing, and at once when the field is left.
   * @param {string} prompt
   * @param {{saveNow?: boolean}} [options]
   */
  setSystemPrompt(prompt, options = {}) {
    if (!this.state.current) return;
    this.state.current.systemPrompt = prompt;
    this.#save(options.saveNow ?? false);
    this.changed();
  }

  // --- the agent -------------------------------------------------------------------------------

  /**
   * Send the user's message, with any files attached to it, and run the agent until the model
   * answers. The files are kept in the conversation; the message names them by id.
   * @param {string} text
   * @param {{name: string, size: number, mediaType: string, base64?: string}[]} [files]
   */
  async send(text, files = []) {
    const conversation = this.state.current;
    const attached = files.filter((file) => typeof file.base64 === "string").map((file) => ({
      id: newAttachmentId(), name: file.name, mediaType: file.mediaType, size: file.size,
      base64: /** @type {string} */ (file.base64),
    }));
    if (!conversation || (!text.trim() && !attached.length) || this.state.runningId || this.state.relay.state !== "ready") return;
    if (attached.length) conversation.attachments = [...conversation.attachments ?? [], ...attached];
    conversation.messages.push(attached.length
      ? { role: "user", content: text, cloche: { attachments: attached.map(({ base64: _, ...info }) => info) } }
      : { role: "user", content: text });
    conversation.model = this.state.model;
    await this.#run(conversation, (signal) => runAgent({
      conversation, model: this.state.model, tools: this.state.tools, signal,
      callTool: (name, args, options) => this.callTool(name, args, options),
      chat: (body, chatSignal) => streamChat({
        baseURL: this.baseURL.href, token: this.token, body, signal: chatSignal, fetch: this.fetch,
      }),
      approve: (request) => this.#askApproval(request.callId),
      onChange: () => this.#changedWhileRunning(conversation),
    }));
  }

  /**
   * Run one tool call of the current conversation again, by the user's hand.
   * @param {string} callId
   */
  async rerun(callId) {
    const conversation = this.state.current;
    const message = conversation?.messages.find((m) => m.role === "tool" && m.tool_call_id === callId);
    if (!conversation || !message || this.state.runningId) return;
    await this.#run(conversation, (signal) => rerunToolCall({
      conversation, message, tools: this.state.tools, signal,
      callTool: (name, args, options) => this.callTool(name, args, options),
      onChange: () => this.#changedWhileRunning(conversation),
    }));
  }

  /**
   * @param {Conversation} conversation
   * @param {(signal: AbortSignal) => Promise<unknown>} work
   */
  async #run(conversation, work) {
    const abort = new AbortController();
    this.abort = abort;
    this.runningConversation = conversation;
    this.#set({ runningId: conversation.id });
    this.#startTicking();
    await this.#save(true, conversation);
    await this.#refreshList();
    try {
      await work(abort.signal);
    } catch (error) {
      // The loop reports its own failures in the conversation; this is a defect's last resort.
      conversation.messages.push({ role: "notice", kind: "error", text: `Something went wrong: ${errorText(error)}` });
    } finally {
      this.#stopTicking();
      this.abort = null;
      this.runningConversation = null;
      this.approvals.clear();
      this.#set({ runningId: null, now: Date.now() });
      await this.#save(true, conversation);
      await this.#refreshList();
    }
  }

  /** Elapsed times tick while anything runs. */
  #startTicking() {
    if (this.ticking++ === 0) this.ticker = setInterval(() => this.#set({ now: Date.now() }), TICK_MS);
  }

  #stopTicking() {
    if (--this.ticking === 0) clearInterval(this.ticker);
  }

  // --- the palette: any tool by hand ------------------------------------------------------------

  /** @param {string} name */
  openTool(name) {
    if (this.state.runner?.running) return;
    this.#set({ runner: { tool: name, message: null, running: false } });
  }

  closeTool() {
    this.stopTool();
    this.#set({ runner: null });
  }

  /**
   * Run the open tool with these arguments, by the user's hand: no approval prompt, and the
   * outcome is shown like a chat card (progress, elapsed time, result or error). Files chosen in
   * the form come as attachments that the arguments name by id.
   * @param {object} args
   * @param {import("./attachments.js").Attachment[]} [files]
   */
  async runTool(args, files = []) {
    const runner = this.state.runner;
    if (!runner || runner.running) return;
    /** @type {import("./agent-loop.js").ToolMessage} */
    const message = {
      role: "tool", tool_call_id: `by-hand-${++this.manualRuns}`, content: "",
      cloche: { tool: runner.tool, args, status: "pending", startedAt: Date.now(), elapsedMs: 0 },
    };
    const abort = new AbortController();
    this.runnerAbort = abort;
    this.#set({ runner: { ...runner, message, files, running: true } });
    this.#startTicking();
    try {
      // The agent loop's own way of running one call, on a conversation of that one call.
      await rerunToolCall({
        conversation: { systemPrompt: "", messages: [message], allowedTools: [], attachments: files }, message,
        tools: this.state.tools, signal: abort.signal,
        callTool: (name, callArgs, options) => this.callTool(name, callArgs, options),
        onChange: () => this.changed(),
      });
    } finally {
      this.#stopTicking();
      this.runnerAbort = null;
      if (this.state.runner?.message === message) this.#set({ runner: { ...this.state.runner, running: false } });
    }
  }

  /** Stop the palette's running call, as a deadline would. */
  stopTool() {
    this.runnerAbort?.abort(new Error("stopped by the user"));
  }

  /** @param {Conversation} conversation */
  #changedWhileRunning(conversation) {
    this.changed();
    this.#save(false, conversation);
  }

  /** Stop the running agent: its stream, and its tool call the way a deadline stops one. */
  stop() {
    this.abort?.abort(new Error("stopped by the user"));
  }

  /**
   * @param {string} callId
   * @returns {Promise<"once" | "conversation" | "deny">}
   */
  #askApproval(callId) {
    return new Promise((resolve) => {
      this.approvals.set(callId, resolve);
      this.changed();
    });
  }

  /**
   * Show one package's question at a time; the others wait their turn.
   * @param {ConsentPrompt} prompt
   * @returns {Promise<"allow" | "deny">}
   */
  #askConsent(prompt) {
    return new Promise((resolve) => {
      this.consents.push({ prompt, resolve });
      if (!this.state.consent) this.#set({ consent: prompt });
    });
  }

  /**
   * The user's answer to the permission prompt on screen: remembered for this package and version.
   * @param {"allow" | "deny"} decision
   */
  decideConsent(decision) {
    const current = this.consents.shift();
    this.#set({ consent: this.consents[0]?.prompt ?? null });
    current?.resolve(decision);
  }

  /**
   * Allow again what a package declared (the Permissions list), after a denial or a revoke.
   * @param {string} name
   */
  allowPackage(name) {
    const pkg = this.state.registry?.packages.find((p) => p.name === name);
    if (pkg) this.grants?.decide(pkg, "allow");
  }

  /**
   * Take back a package's network and storage: its requests are refused from now on.
   * @param {string} name
   */
  revokePackage(name) {
    this.grants?.revoke(name);
  }

  /**
   * Delete what a package kept in its store on this browser.
   * @param {string} name
   */
  async clearPackageStore(name) {
    try {
      await this.packageStore?.clear(name);
    } catch (error) {
      this.#set({ problem: `${name}'s store could not be cleared: ${errorText(error)}` });
    }
  }

  /**
   * Offer the tools to the browser's agent (WebMCP), or stop offering them; remembered.
   * @param {boolean} on
   */
  setWebMcp(on) {
    if (this.state.webmcp === "absent") return;
    this.preferences.setItem(WEBMCP_KEY, on ? "on" : "off");
    this.#set({ webmcp: on ? "on" : "off" });
    this.#offerTools();
  }

  /** Keep what the browser's agent is offered in step with the tools and the user's choice. */
  #offerTools() {
    const context = this.modelContext;
    if (!context) return;
    const tools = this.state.webmcp === "on" ? this.state.tools : [];
    const names = tools.map((tool) => tool.name).join("\n");
    if (names === this.offered) return;
    this.offered = names;
    this.offer?.abort();
    this.offer = null;
    if (!tools.length) return;
    this.offer = new AbortController();
    // Through callTool, like a run by hand: deadlines, limits and permission questions hold.
    offerTools(context, tools, (name, args) => this.callTool(name, args), this.offer.signal);
  }

  /**
   * The user's answer to an approval prompt.
   * @param {string} callId
   * @param {"once" | "conversation" | "deny"} decision
   */
  decide(callId, decision) {
    const resolve = this.approvals.get(callId);
    this.approvals.delete(callId);
    resolve?.(decision);
  }
}
