// The tools panel: Python's boot phases with progress (or what failed, with Retry), every tool,
// listed from registry.json before any worker answers, and the runtimes with their packages.
import { html, Component } from "./html.js";
import { RuntimesView } from "./runtimes-view.js";
import { PermissionLines, PermissionsView, packageOfTool } from "./permissions-view.js";

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
      <${ToolList} state=${state} actions=${actions} />
      <${RuntimesView} state=${state} actions=${actions} />
      <${PermissionsView} state=${state} actions=${actions} />
    </section>`;
}

/**
 * The palette: every tool, grouped by runtime and package, searchable; a tool opens its runner.
 * @typedef {{state: import("../app-controller.js").AppState,
 *            actions: import("../app-controller.js").AppController}} ToolListProps
 * @extends {Component<ToolListProps, {query: string}>}
 */
class ToolList extends Component {
  state = { query: "" };

  render() {
    const { state, actions } = this.props;
    const words = this.state.query.toLowerCase().split(/\s+/).filter(Boolean);
    const available = state.packages.filter((p) => p.state === "available");
    const matches = state.tools.filter((tool) => {
      const haystack = `${tool.name} ${tool.title ?? ""} ${tool.description ?? ""}`.toLowerCase();
      return words.every((word) => haystack.includes(word));
    });
    /** @type {Map<string, Map<string, import("../app-controller.js").ListedTool[]>>} runtime -> package -> tools */
    const runtimes = new Map([["Python", new Map()], ["WebAssembly", new Map()]]);
    for (const tool of matches) {
      const runtime = state.workers[tool.worker]?.kind === "wasm" ? "WebAssembly" : "Python";
      const packages = /** @type {Map<string, any[]>} */ (runtimes.get(runtime));
      const namespace = tool.name.split(".")[0];
      packages.set(namespace, [...packages.get(namespace) ?? [], tool]);
    }
    return html`
      <div class="palette">
        <label class="visually-hidden" for="tool-search">Search tools</label>
        <input id="tool-search" type="search" placeholder="Search ${state.tools.length} tools…"
          value=${this.state.query}
          onInput=${(/** @type {Event} */ e) => this.setState({ query: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
        ${matches.length ? null : html`<p class="tool-note none">No tool matches “${this.state.query}”.</p>`}
        ${available.length ? html`<p class="tool-note none more-packages">
          ${available.length === 1 ? "One more package" : `${available.length} more packages`} can be installed:
          see <a href="#runtimes">Runtimes</a>.</p>` : null}
        <ul id="tool-list" class="tool-list">
          ${[...runtimes].filter(([, packages]) => packages.size).map(([runtime, packages]) => html`
            <li class="runtime-group" key=${runtime}>
              <h3 class="runtime-name">${runtime}</h3>
              <ul>
                ${[...packages].map(([namespace, tools]) => html`
                  <li class="tool-group" key=${namespace}>
                    <h4>${namespace}</h4>
                    <${PermissionLines} pkg=${packageOfTool(state, tools[0].name)} />
                    <ul>
                      ${tools.map((tool) => {
                        const worker = state.workers[tool.worker]?.state ?? "ready";
                        return html`
                          <li class="tool" data-worker-state=${worker}>
                            <button type="button" class="tool-open" title=${tool.description ?? ""}
                              onClick=${() => actions.openTool(tool.name)}>
                              <span class="worker-dot" aria-label=${workerLabel(worker)}></span>
                              <code>${tool.name}</code>
                              <span class="tool-title">${tool.title ?? ""}</span>
                            </button>
                          </li>`;
                      })}
                    </ul>
                  </li>`)}
              </ul>
            </li>`)}
        </ul>
      </div>`;
  }
}

/** @param {string} state */
function workerLabel(state) {
  return state === "ready" ? "ready" : state === "failed" ? "unavailable: its runtime failed to start"
    : state === "restarting" ? "restarting" : "starting";
}
