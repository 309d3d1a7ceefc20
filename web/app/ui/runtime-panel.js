// The runtimes and their tools: Python's boot phases with progress (or what failed, with Retry),
// and every tool, listed from registry.json before any worker answers.
import { html } from "./html.js";

const PHASES = ["download", "boot", "packages"];
const PHASE_NAMES = { download: "Download", boot: "Boot", packages: "Packages" };

/**
 * The Python workers as one: failed if one failed, ready when all are, else the slowest.
 * @param {Record<string, import("../app-controller.js").WorkerState>} workers
 */
export function pythonStatus(workers) {
  const python = Object.values(workers).filter((w) => w.kind === "python");
  const failed = python.find((w) => w.state === "failed");
  if (failed) return { state: "failed", phase: failed.phase ?? "boot", fraction: failed.fraction ?? 0,
    text: `Python failed to start: ${failed.message}` };
  if (python.length && python.every((w) => w.state === "ready" || w.state === "restarting")) {
    const info = python.find((w) => w.info)?.info ?? {};
    return { state: "ready", phase: "ready", fraction: 1, text: `Python ready: Python ${info.python}, cloche ${info.cloche}`,
      crossOriginIsolated: python.every((w) => w.info?.crossOriginIsolated) };
  }
  const slowest = python.filter((w) => w.state === "starting")
    .sort((a, b) => (a.fraction ?? 0) - (b.fraction ?? 0))[0];
  return { state: "starting", phase: slowest?.phase ?? "download", fraction: slowest?.fraction ?? 0,
    text: slowest?.detail || "Starting Python…" };
}

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function RuntimePanel({ state, actions }) {
  const python = pythonStatus(state.workers);
  const at = PHASES.indexOf(python.phase);
  return html`
    <section class="runtime" aria-labelledby="runtime-heading">
      <h2 id="runtime-heading">Tools</h2>
      <div id="python-status" class="status" data-state=${python.state}
        data-failed-phase=${python.state === "failed" ? python.phase : undefined}
        data-cross-origin-isolated=${python.state === "ready" ? String(python.crossOriginIsolated) : undefined}
        aria-live="polite">
        <ol class="phases" aria-label="Python start-up">
          ${PHASES.map((phase, index) => html`
            <li data-phase=${phase} class=${python.state === "ready" || index < at ? "done" : index === at ? "active" : ""}>
              ${PHASE_NAMES[/** @type {keyof PHASE_NAMES} */ (phase)]}
            </li>`)}
        </ol>
        <progress id="python-progress" max="1" value=${python.fraction} aria-label="Python start-up progress"></progress>
        <p id="python-message">${python.text}</p>
        ${python.state === "failed"
          ? html`<button type="button" class="primary" onClick=${() => actions.retryWorkers()}>Retry</button>` : null}
      </div>
      <${ToolList} state=${state} />
    </section>`;
}

/** @param {{state: import("../app-controller.js").AppState}} props */
function ToolList({ state }) {
  /** @type {Map<string, import("../app-controller.js").ListedTool[]>} */
  const groups = new Map();
  for (const tool of state.tools) {
    const namespace = tool.name.split(".")[0];
    groups.set(namespace, [...groups.get(namespace) ?? [], tool]);
  }
  return html`
    <ul id="tool-list" class="tool-list">
      ${[...groups].map(([namespace, tools]) => html`
        <li class="tool-group" key=${namespace}>
          <h3>${namespace}</h3>
          <ul>
            ${tools.map((tool) => {
              const worker = state.workers[tool.worker]?.state ?? "ready";
              return html`
                <li class="tool" data-worker-state=${worker} title=${tool.description ?? ""}>
                  <span class="worker-dot" aria-label=${workerLabel(worker)}></span>
                  <code>${tool.name}</code>
                  <span class="tool-title">${tool.title ?? ""}</span>
                </li>`;
            })}
          </ul>
        </li>`)}
    </ul>`;
}

/** @param {string} state */
function workerLabel(state) {
  return state === "ready" ? "ready" : state === "failed" ? "unavailable: its runtime failed to start"
    : state === "restarting" ? "restarting" : "starting";
}
