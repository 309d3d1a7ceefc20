// The Python worker's entry (docs/worker-protocol.md): boot Pyodide with the packages asked for,
// then bridge MCP between the port and cloche's PythonWorker, JSON text both ways.
import { bootPyodide, describePython, heapUsage, BootError, SNAPSHOT_PACKAGES } from "./pyodide-boot.js";
import { lockDown, closeLoaders } from "./lockdown.js";

const BASE_PACKAGES = SNAPSHOT_PACKAGES;

// Kept here, in this module's scope, before the lockdown replaces the global one: tool code
// cannot reach it, so only this module can report progress, readiness or failure to the host.
const postToHost = self.postMessage.bind(self);
/** @param {any} message @param {Transferable[]} [transfer] */
const post = (message, transfer = []) => postToHost(message, transfer);

// docs/worker-protocol.md, "Memory": wasm memory never shrinks, so the host watches the heap.
const heapNotice = (/** @type {any} */ pyodide, /** @type {number} */ bootBytes) => JSON.stringify(
  { jsonrpc: "2.0", method: "notifications/cloche/heap", params: heapUsage(pyodide, bootBytes) });

self.addEventListener("message", async (/** @type {MessageEvent} */ event) => {
  if (event.data?.type !== "cloche/init") return;
  const { port, options = {}, interruptBuffer, boot: { coming, ...boot } = {} } = event.data;
  // The page's boot assets follow in a message of their own, once its compile is done and its
  // snapshot is read: the worker starts loading meanwhile and waits for them only to instantiate.
  if (coming) {
    /** @type {Promise<any>} */
    const arriving = new Promise((resolve) => {
      const receive = (/** @type {MessageEvent} */ message) => {
        if (message.data?.type !== "cloche/boot") return;
        self.removeEventListener("message", receive);
        resolve(message.data);
      };
      self.addEventListener("message", receive);
    });
    boot.module = arriving.then((a) => (a.module instanceof WebAssembly.Module ? a.module : null));
    boot.snapshot = arriving.then((a) => (a.snapshot instanceof Uint8Array ? a.snapshot : undefined));
  }
  // When each boot phase began, in ms since cloche/init arrived: for the runtime panel and the bench.
  const began = performance.now();
  const phases = /** @type {Record<string, number>} */ ({});
  try {
    const packages = [...BASE_PACKAGES, ...(options.packages ?? [])];
    const { pyodide, restored, snapshot, snapshotProblem } = await bootPyodide(
      new URL("../build-info.json", import.meta.url), packages, (progress) => {
        phases[progress.phase] ??= Math.round(performance.now() - began);
        post({ type: "cloche/progress", ...progress });
      }, boot);
    // A worker asked for a snapshot makes one and serves nothing: the page keeps the snapshot for
    // the workers after it and ends this one (python-boot-assets.js).
    if (boot.makeSnapshot) {
      if (snapshot) post({ type: "cloche/snapshot", snapshot }, [snapshot.buffer]);
      else post({ type: "cloche/failed", phase: "snapshot", message: snapshotProblem ?? "no snapshot was made" });
      return;
    }
    if (interruptBuffer) pyodide.setInterruptBuffer(interruptBuffer);
    // Before any tool code runs (importing the tool packages below runs theirs): no network,
    // no storage, no loaders. Installs at run time get the wheels' bytes from the host.
    lockDown(self);
    closeLoaders(pyodide);
    pyodide.pyimport("cloche.worker").refuse_remote_installs();
    // Tool code's pyfetch goes to the host, which fetches only what the user granted.
    pyodide.pyimport("cloche.worker").route_network_through_host();
    // The only Python object the worker holds; nothing but strings leaves this module.
    const runtime = pyodide.pyimport("cloche.worker").PythonWorker(
      (/** @type {string} */ text) => port.postMessage(text));
    const problems = runtime.problems.toJs();
    /** @param {string} text */
    const handle = async (text, retries = 1) => {
      try {
        const reply = await runtime.handle(text);
        if (typeof reply === "string") {
          // The heap's size goes ahead of each reply (issue 11), for the host to see when the call ends.
          port.postMessage(heapNotice(pyodide, bootHeap));
          port.postMessage(reply);
        }
      } catch (error) {
        // An interrupt meant for a tool that had just finished lands in the next message's
        // handling instead; it is spent now, so that message is handled again.
        if (retries > 0 && String(error).includes("KeyboardInterrupt")) return handle(text, retries - 1);
        console.error("cloche: the Python worker failed to handle a message", error);
      }
    };
    const bootHeap = heapUsage(pyodide).bytes;
    port.onmessage = (/** @type {MessageEvent} */ message) => handle(message.data);
    post({
      type: "cloche/ready",
      info: { ...describePython(pyodide), crossOriginIsolated: self.crossOriginIsolated, problems,
        heapBytes: bootHeap,  // the boot size, for the host's comparison
        started: restored ? "snapshot" : "fresh", ...snapshotProblem ? { snapshotProblem } : {},
        phases: { ...phases, ready: Math.round(performance.now() - began) } },
    });
  } catch (error) {
    const phase = error instanceof BootError ? error.phase : "boot";
    post({ type: "cloche/failed", phase, message: String(error instanceof Error ? error.message : error) });
  }
}, { once: true });
