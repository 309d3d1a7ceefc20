// The first page: start the tool workers, show each one's boot phases, then the tools they offer.
import { WorkerHost } from "./worker-host.js";
import { moduleWorkerSpawner, DEFAULT_BOOT_TIMEOUT_MS } from "./worker-spawn.js";
import { loadRegistry, pythonWorkerSpecs, wasmWorkerSpecs } from "./tool-workers.js";

const PHASES = ["download", "boot", "packages"];
const section = /** @type {HTMLElement} */ (document.getElementById("python-status"));
const bar = /** @type {HTMLProgressElement} */ (document.getElementById("python-progress"));
const text = /** @type {HTMLElement} */ (document.getElementById("python-message"));
const toolList = /** @type {HTMLElement} */ (document.getElementById("tool-list"));

/** ?bootTimeout=SECONDS overrides the default boot timeout. */
function bootTimeoutMs() {
  const seconds = Number(new URLSearchParams(location.search).get("bootTimeout"));
  return seconds > 0 ? seconds * 1000 : DEFAULT_BOOT_TIMEOUT_MS;
}

/** @param {number} bytes */
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** @param {string} phase */
function showPhase(phase) {
  const index = PHASES.indexOf(phase);
  for (const item of section.querySelectorAll("[data-phase]")) {
    const at = PHASES.indexOf(/** @type {HTMLElement} */ (item).dataset.phase || "");
    item.classList.toggle("done", index === -1 || at < index);
    item.classList.toggle("active", at === index);
  }
}

/** The slowest worker's progress is the page's. @type {Map<string, import("./worker-spawn.js").BootProgress>} */
const progressByWorker = new Map();

/**
 * @param {string} worker
 * @param {import("./worker-spawn.js").BootProgress} progress
 */
function onProgress(worker, progress) {
  // The card follows the Python workers while they start; the WASM worker's start is brief.
  if (!worker.startsWith("python") || section.dataset.state !== "starting") return;
  progressByWorker.set(worker, progress);
  const slowest = [...progressByWorker.values()]
    .sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase))[0];
  const index = PHASES.indexOf(slowest.phase);
  showPhase(slowest.phase);
  if (slowest.phase === "download" && slowest.total) {
    bar.value = (slowest.done || 0) / slowest.total / PHASES.length;
    text.textContent = `Downloading Python: ${megabytes(slowest.done || 0)} of ${megabytes(slowest.total)}`;
  } else {
    bar.value = index / PHASES.length;
    text.textContent = slowest.phase === "boot"
      ? "Starting the Python interpreter…"
      : `Loading packages: ${slowest.detail || ""}`;
  }
}

/** @param {import("./worker-host.js").HostedTool[]} tools */
function showTools(tools) {
  toolList.replaceChildren(...tools.map((tool) => {
    const item = document.createElement("li");
    const name = document.createElement("code");
    name.textContent = tool.name;
    const about = document.createElement("span");
    about.textContent = ` ${tool.title || ""}: ${(tool.description || "").replace(/\s+/g, " ")}`;
    item.append(name, about);
    return item;
  }));
}

const base = new URL("./", location.href);
const host = new WorkerHost({ spawn: moduleWorkerSpawner({ bootTimeoutMs: bootTimeoutMs(), onProgress }) });
host.onToolsChanged = () => showTools(host.tools);
try {
  const registry = await loadRegistry(new URL("registry.json", base));
  // WASM tools need no Python: they are listed as soon as their worker answers.
  const wasm = Promise.all(wasmWorkerSpecs(registry, base).map((spec) => host.addWorker(spec)));
  wasm.catch((error) => console.error("cloche: the WASM worker failed to start", error));
  const started = await Promise.allSettled(pythonWorkerSpecs(registry, base).map((spec) => host.addWorker(spec)));
  const failure = started.find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
  const infos = started.map((outcome) => /** @type {PromiseFulfilledResult<any>} */ (outcome).value);
  const info = infos[0];
  showPhase("ready");
  bar.value = 1;
  section.dataset.state = "ready";
  section.dataset.crossOriginIsolated = String(infos.every((i) => i.crossOriginIsolated));
  text.textContent = `Python ready: Python ${info.python}, cloche ${info.cloche}`;
} catch (error) {
  const phase = /** @type {any} */ (error).phase || "boot";
  section.dataset.state = "failed";
  section.dataset.failedPhase = phase;
  showPhase(phase);
  text.textContent = `Python failed to start (${phase}): ${error instanceof Error ? error.message : error}`;
  await host.close();
}
