// The page-side host: starts tool workers, connects an MCP client to each, merges their tools into
// one namespace, routes calls, and owns deadlines, up to terminating and replacing a worker that
// does not stop. No DOM and no Worker here: `spawn` is passed in, so node --test drives it too.
import { McpClient } from "./mcp-client.js";
import { MessagePortTransport } from "./transports.js";
import { JsonRpcError, ErrorCode } from "./jsonrpc.js";
import { capResult } from "./result-cap.js";
import { untilAborted } from "./until-aborted.js";

/** A call's deadline when neither the call, nor its tool, nor its worker's spec sets one. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** The tools/list `_meta` key in which a tool declares its own deadline (a manifest's limits.deadlineMs). */
export const DEADLINE_META = "cloche/deadlineMs";
/** The longest deadline a tool may declare (the top of a manifest's range); a longer one is cut to it. */
export const MAX_DECLARED_DEADLINE_MS = 600_000;
/** How long a worker has to answer a ping after its call was interrupted at the deadline. */
export const DEFAULT_GRACE_MS = 1_500;
/**
 * A worker whose heap grew more than this past its size at boot, and holds more than this unused,
 * is replaced once no call is in flight on it: wasm memory never shrinks, so only a fresh worker
 * gives it back. Data still in use (a python.run session's) keeps its worker.
 */
export const DEFAULT_HEAP_GROWTH_LIMIT_BYTES = 512 * 2 ** 20;
/** What a worker sends ahead of each reply: its heap's size (docs/worker-protocol.md, "Memory"). */
export const HEAP_NOTIFICATION = "notifications/cloche/heap";

/**
 * @typedef {{name: string, url?: string | URL, options?: any, interruptible?: boolean,
 *            callTimeoutMs?: number, oneCallAtATime?: boolean, expectedTools?: string[],
 *            keepAfterCancel?: boolean}} WorkerSpec
 *   keepAfterCancel: keep a worker whose cancelled call still runs (the check switched off: only
 *   the hostile-tool suite's controls set it)
 *   expectedTools: the tools of the packages the host put into the worker; when given, the worker
 *   may offer no others, and may not stop offering these (it is restarted). Read at each check, so
 *   the owner of the spec updates it before installing or unloading a package.
 * @typedef {{timeoutMs?: number, onProgress?: (p: import("./mcp-client.js").Progress) => void,
 *            signal?: AbortSignal}} CallOptions
 * @typedef {{port: MessagePort, ready: Promise<any>, terminate(): void,
 *            interrupt?(): void, clearInterrupt?(): void,
 *            onCrash?: (reason: string) => void, ignoredMessages?: number}} WorkerHandle
 * @typedef {(spec: WorkerSpec) => WorkerHandle} Spawn
 * @typedef {import("./mcp-client.js").Tool & {worker: string}} HostedTool
 * @typedef {{type: "started" | "restarting" | "restarted" | "refused-tools", worker: string, reason?: string,
 *            tools?: string[]}} WorkerEvent
 */

/**
 * @typedef {object} ManagedWorker
 * @property {WorkerSpec} spec
 * @property {WorkerHandle} handle
 * @property {McpClient} client
 * @property {import("./mcp-client.js").Tool[]} tools
 * @property {any} info
 * @property {{method: string, params: any}[]} replay  requests to repeat on a fresh worker
 * @property {Promise<void> | null} restarting
 * @property {Promise<void> | null} settling  set while an interrupted worker is asked whether it stopped
 * @property {Promise<unknown>} turn  settles when the last queued call is done (oneCallAtATime)
 * @property {{bytes: number, inUseBytes?: number}} [heap]  what its worker last reported of its
 *   heap (`info.heapBytes`: its size at boot)
 */

export class WorkerHost {
  /**
   * @param {{spawn: Spawn, callTimeoutMs?: number, graceMs?: number, maxMessageLength?: number,
   *          heapGrowthLimitBytes?: number,
   *          resultLimits?: import("./result-cap.js").ResultLimits}} options
   */
  constructor(options) {
    this.spawn = options.spawn;
    this.resultLimits = options.resultLimits;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.maxMessageLength = options.maxMessageLength;
    this.heapGrowthLimitBytes = options.heapGrowthLimitBytes ?? DEFAULT_HEAP_GROWTH_LIMIT_BYTES;
    /** @type {Map<string, ManagedWorker>} */
    this.workers = new Map();
    /** @type {() => void} */
    this.onToolsChanged = () => {};
    /** @type {(event: WorkerEvent) => void} */
    this.onWorkerEvent = () => {};
  }

  /**
   * Start a worker and add its tools. Refused, and the worker stopped, when one of its tool names
   * is already offered by another worker.
   * @param {WorkerSpec} spec
   */
  async addWorker(spec) {
    if (this.workers.has(spec.name)) throw new Error(`a worker named "${spec.name}" is already running`);
    const worker = await this.#start(spec, []);
    const clash = this.#collisions(worker.tools, spec.name);
    if (clash.length) {
      await this.#stop(worker, "its tools collide");
      throw new Error(clash.map(([tool, other]) =>
        `tool "${tool}" is offered by both "${other}" and "${spec.name}"`).join("; ") +
        ": rename one package, or load it in one worker only");
    }
    this.workers.set(spec.name, worker);
    this.#watch(worker);
    this.onWorkerEvent({ type: "started", worker: spec.name });
    this.#refuseUnexpected(worker);
    this.onToolsChanged();
    return worker.info;
  }

  /** @param {string} name */
  async removeWorker(name) {
    const worker = this.workers.get(name);
    if (!worker) return;
    this.workers.delete(name);
    await this.#stop(worker, `the "${name}" worker was removed`);
    this.onToolsChanged();
  }

  async close() {
    await Promise.all([...this.workers.keys()].map((name) => this.removeWorker(name)));
  }

  /** Every tool of every worker, each naming its worker. @returns {HostedTool[]} */
  get tools() {
    return [...this.workers.values()].flatMap((w) => w.tools.map((tool) => ({ ...tool, worker: w.spec.name })));
  }

  /**
   * Call a tool by its qualified name within its deadline: the caller's `timeoutMs`, else the
   * tool's declared `_meta["cloche/deadlineMs"]`, else its worker spec's `callTimeoutMs`, else the
   * host's. Text over the page's limits is cut from the result, with a marker (result-cap.js).
   * A worker whose spec says `oneCallAtATime` runs its calls one after another (queued calls wait,
   * and their deadlines start when they do), so no call can be answered by code running for
   * another: tool code there can post on the worker's port, but only the call in flight is there
   * to answer.
   * @param {string} name
   * @param {object} args
   * @param {CallOptions} [options]
   */
  async callTool(name, args, options = {}) {
    const worker = this.#route(name);
    if (!worker.spec.oneCallAtATime) return this.#callNow(worker, name, args, options);
    const before = worker.turn;
    /** @type {() => void} */
    let done = () => {};
    worker.turn = before.then(() => new Promise((resolve) => { done = () => resolve(undefined); }));
    try {
      await untilAborted(before, options.signal);
    } catch {
      before.then(() => done());
      throw new JsonRpcError(ErrorCode.Cancelled, `${name} was stopped before it started`);
    }
    try {
      return await this.#callNow(worker, name, args, options);
    } finally {
      done();
    }
  }

  /**
   * @param {ManagedWorker} worker
   * @param {string} name
   * @param {object} args
   * @param {CallOptions} options
   */
  async #callNow(worker, name, args, options) {
    await this.#ready(worker);
    if (options.signal?.aborted) throw new JsonRpcError(ErrorCode.Cancelled, `${name} was stopped before it started`);
    const deadline = options.timeoutMs ?? declaredDeadline(worker.tools.find((tool) => tool.name === name))
      ?? worker.spec.callTimeoutMs ?? this.callTimeoutMs;
    const controller = new AbortController();
    const { handle, client } = worker;
    const timeout = new JsonRpcError(ErrorCode.RequestTimeout,
      `${name} did not finish within ${deadline} ms and was cancelled`);
    /** @type {Promise<void> | undefined} the check begun when this call was interrupted */
    let settled;
    /** @param {JsonRpcError} error */
    const interrupt = (error) => {
      handle.interrupt?.();
      controller.abort(error);
      // At once, not when the rejection arrives: a call sent meanwhile must wait for the verdict.
      settled = this.#afterInterrupt(worker, handle, client, error);
    };
    const timer = setTimeout(() => interrupt(timeout), deadline);
    // A caller that stops a call (the user's Stop) gets what a deadline does: interrupt, cancel,
    // and a worker that does not stop is replaced, so the next call on it works.
    const stopped = new JsonRpcError(ErrorCode.Cancelled, `${name} was stopped`);
    const onCallerAbort = () => {
      const reason = options.signal?.reason;
      if (reason instanceof Error && !(reason instanceof DOMException)) stopped.message += `: ${reason.message}`;
      interrupt(stopped);
    };
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
      return capResult(await client.callTool(name, args, {
        signal: controller.signal, timeoutMs: 0, onProgress: options.onProgress,
      }), this.resultLimits);
    } catch (error) {
      if (settled && (error === timeout || error === stopped)) await settled;
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onCallerAbort);
      this.#giveBackMemory(worker);
    }
  }

  /**
   * Send another request to one worker (e.g. cloche/install); with `replay`, a replacement worker
   * gets it again before it takes calls.
   * @param {string} workerName
   * @param {string} method
   * @param {any} params
   * @param {{timeoutMs?: number, replay?: boolean}} [options]
   */
  async request(workerName, method, params, options = {}) {
    const worker = this.workers.get(workerName);
    if (!worker) throw new Error(`no worker named "${workerName}"`);
    await this.#ready(worker);
    const result = await worker.client.request(method, params, { timeoutMs: options.timeoutMs ?? 120_000 });
    if (options.replay) worker.replay.push({ method, params });
    return result;
  }

  /** @param {string} name */
  #route(name) {
    for (const worker of this.workers.values()) {
      if (worker.tools.some((tool) => tool.name === name)) return worker;
    }
    const known = this.tools.map((tool) => tool.name).sort().join(", ") || "none";
    throw new JsonRpcError(ErrorCode.InvalidParams, `unknown tool "${name}" (tools: ${known})`);
  }

  /**
   * The call was interrupted and cancelled (its deadline, or its caller stopped it). A worker that
   * answers a ping within the grace period keeps running; one that does not is terminated and
   * replaced.
   * @param {ManagedWorker} worker
   * @param {WorkerHandle} handle
   * @param {McpClient} client
   * @param {JsonRpcError} timeout  the call's error, whose message says what became of the worker
   */
  async #afterInterrupt(worker, handle, client, timeout) {
    if (worker.handle !== handle) return;  // already replaced by another call's deadline
    if (worker.settling) return worker.settling;
    worker.settling = this.#settle(worker, handle, client, timeout).finally(() => { worker.settling = null; });
    return worker.settling;
  }

  /**
   * A call sent now must not land on a worker that may be about to be replaced: wait until an
   * interrupted worker has answered its ping (or been restarted), and for a restart to finish.
   * @param {ManagedWorker} worker
   */
  async #ready(worker) {
    if (worker.settling) await worker.settling;
    if (worker.restarting) await worker.restarting;
  }

  /**
   * @param {ManagedWorker} worker
   * @param {WorkerHandle} handle
   * @param {McpClient} client
   * @param {JsonRpcError} timeout
   */
  async #settle(worker, handle, client, timeout) {
    try {
      await client.ping({ timeoutMs: this.graceMs });
      handle.clearInterrupt?.();
    } catch {
      timeout.message += `; its worker did not stop within ${this.graceMs} ms and was restarted`;
      this.#restart(worker, timeout.message).catch(() => {});
      return;
    }
    if (!worker.spec.keepAfterCancel && await this.#stillRunning(client)) {
      timeout.message += "; its code kept running after it was cancelled, so its worker was restarted";
      this.#restart(worker, timeout.message).catch(() => {});
      return;
    }
    timeout.message += "; the tool was interrupted and its worker kept running";
  }

  /**
   * Whether a worker still runs a call after it was cancelled and answered a ping: code that
   * swallows the cancellation (and the interrupt) would otherwise run on between calls. Asked
   * with `cloche/running` for up to the grace period; a worker that does not know the method (the
   * WASM worker, whose calls cannot outlive their instance) runs nothing.
   * @param {McpClient} client
   */
  async #stillRunning(client) {
    const until = Date.now() + this.graceMs;
    for (;;) {
      const answer = await client.request("cloche/running", {}, { timeoutMs: this.graceMs }).catch(() => null);
      if (!answer || !(answer.calls > 0)) return false;
      if (Date.now() >= until) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * @param {ManagedWorker} worker
   * @param {string} reason
   */
  #restart(worker, reason) {
    if (worker.restarting) return worker.restarting;
    const name = worker.spec.name;
    const restarted = new JsonRpcError(ErrorCode.WorkerRestarted,
      `the "${name}" worker was restarted (${reason}); this call was lost with it, try again`);
    for (const id of [...worker.client.peer.pending.keys()]) worker.client.peer.fail(id, restarted);
    this.onWorkerEvent({ type: "restarting", worker: name, reason });
    worker.restarting = (async () => {
      await this.#stop(worker, reason);
      const fresh = await this.#start(worker.spec, worker.replay);
      Object.assign(worker, { handle: fresh.handle, client: fresh.client, info: fresh.info, tools: fresh.tools });
      this.#watch(worker);
      this.onWorkerEvent({ type: "restarted", worker: name, reason });
      this.#refuseUnexpected(worker);
      this.onToolsChanged();
    })().finally(() => { worker.restarting = null; });
    return worker.restarting;
  }

  /**
   * @param {WorkerSpec} spec
   * @param {{method: string, params: any}[]} replay
   * @returns {Promise<ManagedWorker>}
   */
  async #start(spec, replay) {
    const handle = this.spawn(spec);
    let client;
    try {
      const info = await handle.ready;
      client = new McpClient(new MessagePortTransport(handle.port, { maxMessageLength: this.maxMessageLength }));
      await client.connect();
      for (const { method, params } of replay) await client.request(method, params, { timeoutMs: 120_000 });
      const tools = await client.listTools();
      /** @type {ManagedWorker} */
      return { spec, handle, client, tools, info, replay: [...replay], restarting: null, settling: null,
        turn: Promise.resolve() };
    } catch (error) {
      handle.terminate();
      await client?.close().catch(() => {});
      throw error;
    }
  }

  /** @param {ManagedWorker} worker */
  #watch(worker) {
    const { handle, client } = worker;
    client.onToolsChanged = () => this.#refreshTools(worker, client);
    handle.onCrash = (reason) => {
      if (worker.handle === handle && this.workers.has(worker.spec.name)) this.#restart(worker, reason).catch(() => {});
    };
    worker.heap = undefined;
    client.peer.setNotificationHandler(HEAP_NOTIFICATION, (params) => {
      if (worker.client !== client || typeof params?.bytes !== "number") return;
      worker.heap = { bytes: params.bytes, inUseBytes: params.inUseBytes };
      // A late reply (to a call already stopped) ends no callTool: check here too.
      this.#giveBackMemory(worker);
    });
  }

  /**
   * Replace a worker whose heap grew far past its size at boot and is mostly unused, once nothing
   * is in flight on it; calls sent meanwhile wait for the fresh worker, as after a deadline.
   * @param {ManagedWorker} worker
   */
  #giveBackMemory(worker) {
    const boot = worker.info?.heapBytes;
    const { bytes, inUseBytes } = worker.heap ?? {};
    if (typeof boot !== "number" || typeof bytes !== "number") return;
    const limit = this.heapGrowthLimitBytes;
    if (bytes - boot <= limit || (typeof inUseBytes === "number" && bytes - inUseBytes <= limit)) return;
    if (worker.restarting || worker.settling || worker.client.peer.pending.size > 0) return;
    if (this.workers.get(worker.spec.name) !== worker) return;
    const used = typeof inUseBytes === "number" ? `, ${formatBytes(inUseBytes)} of it in use` : "";
    this.#restart(worker, `its memory grew to ${formatBytes(bytes)}${used}; replaced to give it back`)
      .catch(() => {});
  }

  /**
   * @param {ManagedWorker} worker
   * @param {McpClient} client
   */
  async #refreshTools(worker, client) {
    if (worker.client !== client) return;
    const tools = await client.listTools().catch(() => null);
    if (!tools || worker.client !== client) return;
    const clash = new Set(this.#collisions(tools, worker.spec.name).map(([tool]) => tool));
    if (clash.size) {
      this.onWorkerEvent({ type: "refused-tools", worker: worker.spec.name, tools: [...clash],
        reason: "another worker already offers these names" });
    }
    // A tool the host put there and the worker offered cannot be made to vanish by the worker.
    const expected = worker.spec.expectedTools;
    const listed = new Set(tools.map((tool) => tool.name));
    const hidden = expected ? worker.tools.filter((t) => expected.includes(t.name) && !listed.has(t.name)) : [];
    if (hidden.length) {
      this.#restart(worker, `it stopped offering ${hidden.map((t) => t.name).join(", ")}, which the host ` +
        "put there").catch(() => {});
      return;
    }
    worker.tools = tools.filter((tool) => !clash.has(tool.name));
    this.#refuseUnexpected(worker);
    this.onToolsChanged();
  }

  /**
   * A worker whose spec names its `expectedTools` (the packages the host put into it) offers those
   * and no others: anything else it lists is refused, with an event.
   * @param {ManagedWorker} worker
   */
  #refuseUnexpected(worker) {
    const expected = worker.spec.expectedTools;
    if (!expected) return;
    const unexpected = worker.tools.filter((tool) => !expected.includes(tool.name));
    if (!unexpected.length) return;
    worker.tools = worker.tools.filter((tool) => expected.includes(tool.name));
    this.onWorkerEvent({ type: "refused-tools", worker: worker.spec.name, tools: unexpected.map((t) => t.name),
      reason: "the host did not put these tools into the worker" });
  }

  /**
   * @param {import("./mcp-client.js").Tool[]} tools
   * @param {string} workerName
   * @returns {[string, string][]}  [tool, the other worker]
   */
  #collisions(tools, workerName) {
    /** @type {[string, string][]} */
    const clashes = [];
    for (const [name, other] of this.workers) {
      if (name === workerName) continue;
      for (const tool of tools) {
        if (other.tools.some((t) => t.name === tool.name)) clashes.push([tool.name, name]);
      }
    }
    return clashes;
  }

  /**
   * @param {ManagedWorker} worker
   * @param {string} reason
   */
  async #stop(worker, reason) {
    worker.handle.onCrash = undefined;
    worker.handle.terminate();
    await worker.client.close(reason).catch(() => {});
  }
}

/**
 * The deadline a tool declares in its tools/list entry; undefined when it declares none, or
 * something that is not a positive number of milliseconds (the worker's word is not trusted).
 * @param {import("./mcp-client.js").Tool | undefined} tool
 */
export function declaredDeadline(tool) {
  const declared = tool?._meta?.[DEADLINE_META];
  if (typeof declared !== "number" || !(declared > 0)) return undefined;
  return Math.min(declared, MAX_DECLARED_DEADLINE_MS);
}

/** @param {number} bytes */
const formatBytes = (bytes) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
