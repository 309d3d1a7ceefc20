// The first page: boot Python in a worker and show each phase, then the result or the failure.
import { startPythonWorker, DEFAULT_BOOT_TIMEOUT_MS } from "./python-runtime.js";

const PHASES = ["download", "boot", "packages"];
const section = /** @type {HTMLElement} */ (document.getElementById("python-status"));
const bar = /** @type {HTMLProgressElement} */ (document.getElementById("python-progress"));
const text = /** @type {HTMLElement} */ (document.getElementById("python-message"));

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
    item.classList.toggle("done", at < index);
    item.classList.toggle("active", at === index);
  }
}

/** @param {import("./python-runtime.js").BootProgress} progress */
function onProgress(progress) {
  showPhase(progress.phase);
  const index = PHASES.indexOf(progress.phase);
  if (progress.phase === "download" && progress.total) {
    const fraction = (progress.done || 0) / progress.total;
    bar.value = fraction / PHASES.length;
    text.textContent = `Downloading Python: ${megabytes(progress.done || 0)} of ${megabytes(progress.total)}`;
  } else {
    bar.value = index / PHASES.length;
    text.textContent = progress.phase === "boot"
      ? "Starting the Python interpreter…"
      : `Loading packages: ${progress.detail || ""}`;
  }
}

try {
  const { info } = await startPythonWorker({
    baseURL: new URL("./", location.href),
    timeoutMs: bootTimeoutMs(),
    onProgress,
  });
  showPhase("ready");
  for (const item of section.querySelectorAll("[data-phase]")) item.classList.add("done");
  bar.value = 1;
  section.dataset.state = "ready";
  section.dataset.crossOriginIsolated = String(info.crossOriginIsolated);
  text.textContent = `Python ready: Python ${info.python}, cloche ${info.cloche}`;
} catch (error) {
  const phase = /** @type {any} */ (error).phase || "boot";
  section.dataset.state = "failed";
  section.dataset.failedPhase = phase;
  showPhase(phase);
  text.textContent = `Python failed to start (${phase}): ${error instanceof Error ? error.message : error}`;
}
