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
/** Requests a worker may send that this page may not answer, with what to tell it then. */
const UNSERVED = /** @type {Record<string, string>} */ ({
  "cloche/wheels": "this page installs no packages at run time: only the packages its worker started with can be imported",
  "cloche/fetch": "this page grants no network to tool packages",
  "cloche/store": "this page keeps no store for tool packages",
});
/** How many sessions of a worker with `isolateCalls` keep their own worker when its spec says no number. */
export const DEFAULT_MAX_SESSIONS = 4;

/**
 * @typedef {{name: string, url?: string | URL, options?: any, interruptible?: boolean,
 *            callTimeoutMs?: number, oneCallAtATime?: boolean, expectedTools?: string[],
 *            keepAfterCancel?: boolean, isolateCalls?: CallIsolation, memoryLimitBytes?: number,
 *            runtime?: "python" | "wasm", standby?: boolean}} WorkerSpec
 *   runtime: "python" lets the spawner hand the worker the page's boot assets (worker-spawn.js)
 *   standby: a second copy of the worker is kept started, to take its place at once when it is
 *   restarted (a killed call's next call then waits for no boot)
 *   keepAfterCancel: keep a worker whose cancelled call still runs (the check switched off: only
 *   the hostile-tool suite's controls set it)
 *   expectedTools: the tools of the packages the host put into the worker; when given, the worker
 *   may offer no others, and may not stop offering these (it is restarted). Read at each check, so
 *   the owner of the spec updates it before installing or unloading a package.
 *   isolateCalls: no call runs where another session's code ran (python.run; see WorkerHost#callTool)
 *   memoryLimitBytes: the most memory its package declared; a worker whose heap grows past it is
 *   replaced once its call ends
 * @typedef {{session: string, reset?: string, maxSessions?: number}} CallIsolation
 *   session: the argument that names a call's session; reset: the argument that, when true, starts
 *   the session over; maxSessions: how many sessions keep their worker (DEFAULT_MAX_SESSIONS)
 * @typedef {{timeoutMs?: number, onProgress?: (p: import("./mcp-client.js").Progress) => void,
 *            signal?: AbortSignal}} CallOptions
 * @typedef {{port: MessagePort, ready: Promise<any>, terminate(): void,
 *            interrupt?(): void, clearInterrupt?(): void,
 *            onCrash?: (reason: string) => void, ignoredMessages?: number}} WorkerHandle
 * @typedef {(spec: WorkerSpec) => WorkerHandle} Spawn
 * @typedef {import("./mcp-client.js").Tool & {worker: string}} HostedTool
 * @typedef {{type: "started" | "restarting" | "restarted" | "failed" | "refused-tools", worker: string,
 *            reason?: string, tools?: string[], session?: string}} WorkerEvent
 *   session: set when the event is about the worker of one session of an `isolateCalls` worker
 *   failed: its replacement did not start either; the worker is removed, so `addWorker` with its
 *   spec starts it again (the page's Retry)
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
 * @property {Promise<void> | null} [refreshing]  set while its tools are listed again after tools/list_changed
 * @property {boolean} [retired]  stopped for good: nothing restarts it
 * @property {string} [session]  the session whose worker this is (isolateCalls)
 * @property {boolean} [oneShot]  a worker taken for one call with no session, ended when it returns
 * @property {boolean} [given]  an isolateCalls worker whose spare was taken and is being replaced
 * @property {Standby | null} [standby]  its started copy (spec.standby), to take its place at a restart
 * @property {Map<string, SessionEntry>} [sessions]  an isolateCalls worker's sessions, least recently used first
 * @property {Set<ManagedWorker>} [oneShots]  an isolateCalls worker's calls with no session, in flight
 */

/**
 * @typedef {{started: Promise<ManagedWorker>, launched: boolean, options: string, replayed: number}} Standby
 *   options, replayed: the spec's options and how many replayed requests it started with; a
 *   standby whose worker has changed since is not used
 * @typedef {{worker: Promise<ManagedWorker>, calls: number}} SessionEntry
 *   calls: calls routed to the session and not yet done (a session with none may be closed)
 */

export class WorkerHost {
  /** Workers starting now (#start); standbys wait until there are none. */
  #starting = 0;
  /** @type {(() => void)[]} */
  #quietWaiters = [];

  /**
   * @param {{spawn: Spawn, callTimeoutMs?: number, graceMs?: number, maxMessageLength?: number,
   *          heapGrowthLimitBytes?: number, listLimits?: import("./mcp-client.js").ListLimits,
   *          wheels?: (params: any, worker: string) => Promise<any>,
   *          services?: Record<string, (params: any, worker: string) => Promise<any>>,
   *          resultLimits?: import("./result-cap.js").ResultLimits}} options
   *   listLimits: caps on a worker's tools/list (mcp-client.js); only the hostile-tool suite's
   *   controls change them
   *   wheels: answers a worker's `cloche/wheels` request (packages its code asked for, fetched
   *   and checked by the page: wheel-source.js `wheelsAsked`); without it, the request is refused
   *   services: answers other requests a worker may send, by method (`cloche/fetch`,
   *   `cloche/store`: package-services.js), given the name of the worker that asked; the host
   *   knows which worker a request came from, so a worker cannot speak for another
   */
  constructor(options) {
    this.spawn = options.spawn;
    this.resultLimits = options.resultLimits;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.maxMessageLength = options.maxMessageLength;
    this.listLimits = options.listLimits;
    this.wheels = options.wheels;
    this.services = options.services ?? {};
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
    if (spec.isolateCalls) Object.assign(worker, { sessions: new Map(), oneShots: new Set() });
    const clash = this.#collisions(worker.tools, spec.name);
    if (clash.length) {
      await this.#stop(worker, "its tools collide");
      throw new Error(clash.map(([tool, other]) =>
        `tool "${tool}" is offered by both "${other}" and "${spec.name}"`).join("; ") +
        ": rename one package, or load it in one worker only");
    }
    this.workers.set(spec.name, worker);
    this.#watch(worker);
    this.#standBy(worker);
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
    const reason = `the "${name}" worker was removed`;
    worker.retired = true;
    this.#dropStandby(worker, reason);
    for (const entry of worker.sessions?.values() ?? []) entry.worker.then((w) => this.#retire(w, reason), () => {});
    for (const own of worker.oneShots ?? []) this.#retire(own, reason);
    // A spare being replaced: its handle is another's now, and the replacement stops itself.
    if (!worker.given) await this.#stop(worker, reason);
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
   * Call a tool by its qualified name within its deadline: the caller's `timeoutMs` (if positive;
   * at most MAX_DECLARED_DEADLINE_MS), else the
   * tool's declared `_meta["cloche/deadlineMs"]`, else its worker spec's `callTimeoutMs`, else the
   * host's. Text over the page's limits is cut from the result, with a marker (result-cap.js).
   * A worker whose spec says `oneCallAtATime` runs its calls one after another (queued calls wait,
   * and their deadlines start when they do), so no call can be answered by code running for
   * another: tool code there can post on the worker's port, but only the call in flight is there
   * to answer.
   *
   * A worker whose spec says `isolateCalls` (python.run's) never runs a call where another
   * session's code ran. The worker the host lists tools from is a warm spare that runs no call: a
   * call with no session takes it for itself, and that worker is ended when the call returns (or
   * at its deadline); the first call of a session (or one that resets it) takes it as the
   * session's own worker, which only that session's calls reach from then on. A fresh spare
   * starts as soon as one is taken, and calls wait for it. At most `maxSessions` sessions keep a
   * worker: the least recently used idle one is closed to make room.
   * @param {string} name
   * @param {object} args
   * @param {CallOptions} [options]
   */
  async callTool(name, args, options = {}) {
    const routed = this.#route(name);
    if (!routed.spec.isolateCalls) return this.#inTurn(routed, name, args, options);
    const { worker, done } = await this.#interpreterFor(routed, name, /** @type {any} */ (args), options.signal);
    try {
      return await this.#inTurn(worker, name, args, options);
    } finally {
      done();
    }
  }

  /**
   * Run a call on its worker: at once, or after the calls before it on a worker that runs one
   * call at a time.
   * @param {ManagedWorker} worker
   * @param {string} name
   * @param {object} args
   * @param {CallOptions} options
   */
  async #inTurn(worker, name, args, options) {
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
    // A caller's deadline must be a positive time, and is held to the longest a tool may declare.
    const asked = options.timeoutMs !== undefined && options.timeoutMs > 0
      ? Math.min(options.timeoutMs, MAX_DECLARED_DEADLINE_MS) : undefined;
    const deadline = asked ?? declaredDeadline(worker.tools.find((tool) => tool.name === name))
      ?? worker.spec.callTimeoutMs ?? this.callTimeoutMs;
    const controller = new AbortController();
    const { handle, client } = worker;
    const timeout = new JsonRpcError(ErrorCode.RequestTimeout,
      `${name} did not finish within ${deadline} ms and was cancelled`);
    /** @type {Promise<void> | undefined} the check begun when this call was interrupted */
    let settled;
    /** @param {JsonRpcError} error */
    let interrupt = (error) => {
      handle.interrupt?.();
      controller.abort(error);
      // At once, not when the rejection arrives: a call sent meanwhile must wait for the verdict.
      settled = this.#afterInterrupt(worker, handle, client, error);
    };
    if (worker.oneShot) {
      // A worker taken for this call only is ended with it: nothing to wait for.
      interrupt = (error) => {
        error.message += "; its interpreter, used for this call only, was discarded";
        controller.abort(error);
      };
    }
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
   * gets it again before it takes calls, and so do an `isolateCalls` worker's sessions and spares.
   * @param {string} workerName
   * @param {string} method
   * @param {any} params
   * @param {{timeoutMs?: number, replay?: boolean}} [options]
   */
  async request(workerName, method, params, options = {}) {
    const worker = this.workers.get(workerName);
    if (!worker) throw new Error(`no worker named "${workerName}"`);
    await this.#ready(worker);
    const timeoutMs = options.timeoutMs ?? 120_000;
    const result = await worker.client.request(method, params, { timeoutMs });
    // A worker announces new tools before it answers (an install): they are listed when this returns.
    if (worker.refreshing) await worker.refreshing;
    if (!options.replay) return result;
    worker.replay.push({ method, params });
    // The standby missed it: a new one starts with it replayed.
    this.#dropStandby(worker, "its worker changed");
    this.#standBy(worker);
    // An isolateCalls worker's sessions get it too; later spares get it at their start.
    for (const entry of worker.sessions?.values() ?? []) {
      const own = await entry.worker.catch(() => null);
      if (!own || own.retired) continue;
      await this.#ready(own);
      await own.client.request(method, params, { timeoutMs });
      own.replay.push({ method, params });
    }
    return result;
  }

  /**
   * The worker a call to an `isolateCalls` worker runs in, and what to do when the call is over.
   * @param {ManagedWorker} pool  the worker the host lists tools from: the warm spare
   * @param {string} name  the tool
   * @param {Record<string, unknown>} args
   * @param {AbortSignal} [signal]
   * @returns {Promise<{worker: ManagedWorker, done: () => void}>}
   */
  async #interpreterFor(pool, name, args, signal) {
    const isolation = /** @type {CallIsolation} */ (pool.spec.isolateCalls);
    const named = args?.[isolation.session];
    const stopped = () => new JsonRpcError(ErrorCode.Cancelled, `${name} was stopped before it started`);
    if (typeof named !== "string" || named === "") {
      /** @type {ManagedWorker} */
      let own;
      try {
        own = await this.#takeSpare(pool, signal);
      } catch (error) {
        throw signal?.aborted ? stopped() : error;
      }
      own.oneShot = true;
      pool.oneShots?.add(own);
      return { worker: own, done: () => this.#retire(own, "its call is over") };
    }
    const sessions = /** @type {Map<string, SessionEntry>} */ (pool.sessions);
    let entry = sessions.get(named);
    if (entry && isolation.reset && args[isolation.reset] === true) {
      sessions.delete(named);
      this.#closeSession(entry, `session "${named}" was reset`);
      entry = undefined;
    }
    if (!entry) {
      this.#makeRoom(pool, named);
      const taking = this.#takeSpare(pool).then((worker) => Object.assign(worker, { session: named }));
      const fresh = /** @type {SessionEntry} */ ({ worker: taking, calls: 0 });
      taking.catch(() => { if (sessions.get(named) === fresh) sessions.delete(named); });
      entry = fresh;
    }
    sessions.delete(named);
    sessions.set(named, entry);  // the most recently used goes last
    const current = entry;
    current.calls++;
    let counted = true;
    const done = () => { if (counted) current.calls--; counted = false; };
    try {
      return { worker: await untilAborted(current.worker, signal), done };
    } catch (error) {
      done();
      throw signal?.aborted ? stopped() : error;
    }
  }

  /**
   * Close least recently used sessions with no call until a new one fits; refused when every
   * session is busy.
   * @param {ManagedWorker} pool
   * @param {string} named  the session about to start
   */
  #makeRoom(pool, named) {
    const isolation = /** @type {CallIsolation} */ (pool.spec.isolateCalls);
    const max = isolation.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const sessions = /** @type {Map<string, SessionEntry>} */ (pool.sessions);
    while (sessions.size >= max) {
      const idle = [...sessions].find(([, entry]) => entry.calls === 0);
      if (!idle) {
        throw new JsonRpcError(ErrorCode.InvalidRequest, `cannot start session "${named}": all ${max} sessions ` +
          `(${[...sessions.keys()].join(", ")}) are running a call, and each keeps its own interpreter; ` +
          "wait for one to finish, or run this call without a session");
      }
      sessions.delete(idle[0]);
      this.#closeSession(idle[1], `session "${idle[0]}" was closed to make room for "${named}" ` +
        `(at most ${max} sessions keep their interpreter)`);
    }
  }

  /**
   * @param {SessionEntry} entry
   * @param {string} reason
   */
  #closeSession(entry, reason) {
    entry.worker.then(async (worker) => {
      await worker.turn;
      this.#retire(worker, reason);
    }, () => {});
  }

  /**
   * The warm spare of an `isolateCalls` worker, taken for a call or a session: it becomes a worker
   * of its own, and a fresh spare starts at once in its place.
   * @param {ManagedWorker} pool
   * @param {AbortSignal} [signal]  a call stopped while it waits takes none
   * @returns {Promise<ManagedWorker>}
   */
  async #takeSpare(pool, signal) {
    // Checked again after each wait, just before taking: two calls may wait for the same spare.
    for (;;) {
      signal?.throwIfAborted();
      if (pool.retired) throw new Error(`the "${pool.spec.name}" worker was removed`);
      if (!pool.given && !pool.restarting && !pool.settling) break;
      await untilAborted(this.#ready(pool), signal);
    }
    /** @type {ManagedWorker} */
    const taken = { spec: pool.spec, handle: pool.handle, client: pool.client, tools: pool.tools, info: pool.info,
      replay: [...pool.replay], restarting: null, settling: null, turn: Promise.resolve() };
    pool.given = true;
    this.#watch(taken);
    this.#refill(pool);
    return taken;
  }

  /**
   * Start a fresh spare for an `isolateCalls` worker whose spare was taken. Quietly: the worker,
   * as the page sees it, was ready all along.
   * @param {ManagedWorker} pool
   */
  #refill(pool) {
    pool.restarting = (async () => {
      const fresh = await this.#start(pool.spec, pool.replay);
      if (pool.retired) {
        await this.#stop(fresh, `the "${pool.spec.name}" worker was removed`);
        return;
      }
      Object.assign(pool, { handle: fresh.handle, client: fresh.client, info: fresh.info, tools: fresh.tools, given: false });
      this.#watch(pool);
      this.#refuseUnexpected(pool);
    })().finally(() => { pool.restarting = null; });
    pool.restarting.catch(() => {});
  }

  /**
   * End a worker of one session or one call for good.
   * @param {ManagedWorker} worker
   * @param {string} reason
   */
  #retire(worker, reason) {
    if (worker.retired) return;
    worker.retired = true;
    for (const pool of this.workers.values()) pool.oneShots?.delete(worker);
    this.#stop(worker, reason).catch(() => {});
  }

  /**
   * The sessions of an `isolateCalls` worker that have a worker of their own, least recently used
   * first.
   * @param {string} workerName
   */
  sessionsOf(workerName) {
    return [...this.workers.get(workerName)?.sessions?.keys() ?? []];
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
    for (;;) {
      // A spare that failed to start is tried again by the next call or request that needs one.
      if (worker.given && !worker.restarting && !worker.retired) this.#refill(worker);
      if (worker.settling) await worker.settling;
      else if (worker.restarting) await worker.restarting;
      else return;
    }
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
      timeout.message += `; its worker did not stop within ${this.graceMs} ms and was restarted` +
        (worker.session ? ` (session "${worker.session}" starts over empty)` : "");
      this.#restart(worker, timeout.message).catch(() => {});
      return;
    }
    if (!worker.spec.keepAfterCancel && await this.#stillRunning(client)) {
      timeout.message += "; its code kept running after it was cancelled, so its worker was restarted" +
        (worker.session ? ` and session "${worker.session}" starts over empty` : "");
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
    if (worker.oneShot) {
      // A worker for one call is not replaced: its call fails, and the next call gets a fresh one.
      const ended = new JsonRpcError(ErrorCode.WorkerRestarted,
        `the interpreter of this "${name}" call was ended (${reason}); try again`);
      for (const id of [...worker.client.peer.pending.keys()]) worker.client.peer.fail(id, ended);
      this.#retire(worker, reason);
      return Promise.resolve();
    }
    const restarted = new JsonRpcError(ErrorCode.WorkerRestarted,
      `the "${name}" worker was restarted (${reason}); this call was lost with it, try again`);
    for (const id of [...worker.client.peer.pending.keys()]) worker.client.peer.fail(id, restarted);
    this.#event(worker, { type: "restarting", reason });
    worker.restarting = (async () => {
      await this.#stop(worker, reason);
      const standby = this.#takeStandby(worker);
      let fresh;
      try {
        fresh = await (standby ?? Promise.reject(new Error("no standby")))
          .catch(() => this.#start(worker.spec, worker.replay));
      } catch (error) {
        // No worker to answer: gone from the host, not a dead entry whose calls fail one by one.
        const why = `it was restarted (${reason}) but did not start again: ${error instanceof Error ? error.message : error}`;
        this.#retire(worker, why);
        if (this.workers.get(name) === worker) this.workers.delete(name);
        this.#event(worker, { type: "failed", reason: why });
        this.onToolsChanged();
        throw error;
      }
      Object.assign(worker, { handle: fresh.handle, client: fresh.client, info: fresh.info, tools: fresh.tools });
      this.#watch(worker);
      this.#standBy(worker);
      this.#event(worker, { type: "restarted", reason });
      this.#refuseUnexpected(worker);
      this.onToolsChanged();
    })().finally(() => { worker.restarting = null; });
    return worker.restarting;
  }

  /**
   * Start the standby copy of a worker whose spec asks for one, in the background. One that fails
   * to start is forgotten: the next restart starts a worker as it would without.
   * @param {ManagedWorker} worker
   */
  #standBy(worker) {
    if (!worker.spec.standby || worker.standby || worker.retired || worker.oneShot) return;
    /** @type {Standby} */
    const standby = { options: JSON.stringify(worker.spec.options ?? {}), replayed: worker.replay.length,
      launched: false, started: Promise.resolve(/** @type {any} */ (null)) };
    worker.standby = standby;
    // Once no other worker is starting: a standby must not slow the workers the page waits for.
    standby.started = this.#whenQuiet().then(() => {
      if (worker.standby !== standby) throw new Error("no longer wanted");
      standby.launched = true;
      return this.#start(worker.spec, worker.replay);
    });
    standby.started.catch(() => { if (worker.standby === standby) worker.standby = null; });
  }

  /** Resolves when no worker is starting. @returns {Promise<void>} */
  #whenQuiet() {
    return this.#starting === 0 ? Promise.resolve() : new Promise((resolve) => this.#quietWaiters.push(resolve));
  }

  /**
   * The standby, if it was started for the worker as it is now (its spec still asks for one, with
   * the same options and replayed requests), else null; either way the worker has none after this.
   * @param {ManagedWorker} worker
   * @returns {Promise<ManagedWorker> | null}
   */
  #takeStandby(worker) {
    const standby = worker.standby;
    worker.standby = null;
    if (!standby?.launched) return null;
    if (worker.spec.standby && standby.options === JSON.stringify(worker.spec.options ?? {}) && standby.replayed === worker.replay.length) {
      return standby.started;
    }
    standby.started.then((copy) => this.#stop(copy, "its worker changed"), () => {});
    return null;
  }

  /** @param {ManagedWorker} worker @param {string} reason */
  #dropStandby(worker, reason) {
    const standby = worker.standby;
    worker.standby = null;
    standby?.started.then((copy) => this.#stop(copy, reason), () => {});
  }

  /**
   * @param {WorkerSpec} spec
   * @param {{method: string, params: any}[]} replay
   * @returns {Promise<ManagedWorker>}
   */
  async #start(spec, replay) {
    this.#starting++;
    try {
      return await this.#startNow(spec, replay);
    } finally {
      if (--this.#starting === 0) for (const resolve of this.#quietWaiters.splice(0)) resolve();
    }
  }

  /**
   * @param {WorkerSpec} spec
   * @param {{method: string, params: any}[]} replay
   * @returns {Promise<ManagedWorker>}
   */
  async #startNow(spec, replay) {
    const handle = this.spawn(spec);
    let client;
    try {
      const info = await handle.ready;
      client = new McpClient(new MessagePortTransport(handle.port, { maxMessageLength: this.maxMessageLength }),
        { listLimits: this.listLimits });
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
    client.onToolsChanged = () => {
      const refreshing = this.#refreshTools(worker, client).finally(() => {
        if (worker.refreshing === refreshing) worker.refreshing = null;
      });
      worker.refreshing = refreshing;
    };
    handle.onCrash = (reason) => {
      if (worker.handle === handle && !worker.retired) this.#restart(worker, reason).catch(() => {});
    };
    /** @type {Record<string, ((params: any, worker: string) => Promise<any>) | undefined>} */
    const services = { ...this.services, "cloche/wheels": this.wheels };
    for (const method of new Set([...Object.keys(services), ...Object.keys(UNSERVED)])) {
      client.peer.setRequestHandler(method, async (params) => {
        const service = services[method];
        if (!service) throw new JsonRpcError(ErrorCode.MethodNotFound, UNSERVED[method] ?? `this page answers no ${method}`);
        try {
          return await service(params, worker.spec.name);
        } catch (error) {
          throw error instanceof JsonRpcError ? error
            : new JsonRpcError(ErrorCode.InvalidParams, error instanceof Error ? error.message : String(error));
        }
      });
    }
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
    const declared = worker.spec.memoryLimitBytes;
    const overDeclared = typeof declared === "number" && bytes > declared;
    if (!overDeclared && (bytes - boot <= limit || (typeof inUseBytes === "number" && bytes - inUseBytes <= limit))) return;
    if (worker.restarting || worker.settling || worker.client.inFlight > 0) return;
    if (this.workers.get(worker.spec.name) !== worker) return;
    const used = typeof inUseBytes === "number" ? `, ${formatBytes(inUseBytes)} of it in use` : "";
    const why = overDeclared ? `, over the ${formatBytes(/** @type {number} */ (declared))} its package declares; replaced`
      : "; replaced to give it back";
    this.#restart(worker, `its memory grew to ${formatBytes(bytes)}${used}${why}`).catch(() => {});
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
      this.#event(worker, { type: "refused-tools", tools: [...clash], reason: "another worker already offers these names" });
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
    this.#event(worker, { type: "refused-tools", tools: unexpected.map((t) => t.name),
      reason: "the host did not put these tools into the worker" });
  }

  /**
   * Tell the page what became of a worker; a session's worker is named with its session.
   * @param {ManagedWorker} worker
   * @param {Omit<WorkerEvent, "worker">} event
   */
  #event(worker, event) {
    this.onWorkerEvent({ ...event, worker: worker.spec.name, ...worker.session ? { session: worker.session } : {} });
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
