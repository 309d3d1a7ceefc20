// The runtime panel's lower half: each worker with its state and the packages loaded in it, then
// the packages the dist offers that are not loaded, each with Install (and Remove for loaded ones).
import { html } from "./html.js";
import { PermissionLines } from "./permissions-view.js";

/**
 * @typedef {import("../app-controller.js").WorkerState} WorkerState
 * @typedef {import("../app-controller.js").PackageState} PackageState
 */

/** @param {string} worker */
export function workerTitle(worker) {
  if (worker === "wasm") return "WebAssembly";
  if (worker === "python-tools") return "Python tools";
  return `Python: ${worker.replace(/^python-/, "")} (isolated)`;
}

/**
 * What a worker is doing, in a few words.
 * @param {WorkerState} worker
 */
export function workerStateText(worker) {
  if (worker.state === "starting") return worker.detail || "Starting…";
  if (worker.state === "failed") return `Failed: ${worker.message}`;
  if (worker.state === "restarting") return `Restarting: ${worker.message}`;
  const busy = worker.busy ?? 0;
  return busy ? `Busy: ${busy} call${busy === 1 ? "" : "s"} running` : "Ready";
}

/**
 * What an isolated worker (python.run's) keeps: each session in an interpreter of its own.
 * @param {string[]} sessions
 */
export function sessionsText(sessions) {
  const open = sessions.length ? `Sessions: ${sessions.join(", ")}.` : "No sessions yet.";
  return `${open} Each session has an interpreter of its own; a call without a session gets a fresh one.`;
}

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function RuntimesView({ state, actions }) {
  const available = state.packages.filter((p) => p.state === "available" || (p.state === "installing"));
  const workers = Object.entries(state.workers);
  return html`
    <section id="runtimes" class="runtimes" aria-labelledby="runtimes-heading">
      <h2 id="runtimes-heading">Runtimes</h2>
      <ul class="workers">
        ${workers.map(([name, worker]) => {
          const packages = state.packages.filter((p) => p.worker === name && (p.state === "loaded" || p.state === "removing"));
          const busy = worker.state === "ready" && (worker.busy ?? 0) > 0;
          return html`
            <li class="worker" key=${name} data-worker=${name} data-state=${busy ? "busy" : worker.state}>
              <div class="worker-head">
                <span class="worker-dot" aria-hidden="true"></span>
                <strong>${workerTitle(name)}</strong>
                <span class="worker-state" aria-live="polite">${workerStateText(worker)}</span>
              </div>
              ${worker.sessions ? html`<p class="worker-sessions">${sessionsText(worker.sessions)}</p>` : null}
              ${worker.state === "starting"
                ? html`<progress max="1" value=${worker.fraction ?? 0} aria-label="${workerTitle(name)} start-up"></progress>` : null}
              <ul class="packages" aria-label="Packages loaded in ${workerTitle(name)}">
                ${packages.length ? packages.map((p) => html`<${PackageRow} key=${p.name} pkg=${p} worker=${worker} actions=${actions} />`)
                  : html`<li class="package none">No packages loaded.</li>`}
              </ul>
            </li>`;
        })}
      </ul>
      <h3 class="available-heading">Available to install</h3>
      ${available.length ? html`
        <ul class="packages available" aria-label="Packages available to install">
          ${available.map((p) => html`<${PackageRow} key=${p.name} pkg=${p} worker=${state.workers[p.worker]} actions=${actions} />`)}
        </ul>` : html`<p class="package none">Every package the site offers is loaded.</p>`}
    </section>`;
}

/**
 * @param {{pkg: PackageState, worker: WorkerState | undefined,
 *          actions: import("../app-controller.js").AppController}} props
 */
function PackageRow({ pkg, worker, actions }) {
  const loaded = pkg.state === "loaded" || pkg.state === "removing";
  const pending = pkg.state === "installing" || pkg.state === "removing";
  const restartsWorker = pkg.runtime === "python" && pkg.worker === "python-tools";
  const busy = (worker?.busy ?? 0) > 0;
  const title = loaded
    ? restartsWorker ? "Restarts the Python tools worker without this package" : "Unloads this package"
    : "Loads this package now; its tools appear in the list";
  return html`
    <li class="package" data-package=${pkg.name} data-state=${pkg.state}>
      <span class="package-label"><span class="package-name">${pkg.name}</span>${" "}
        <span class="package-meta">${pkg.version}${loaded ? "" : pkg.runtime === "wasm" ? " · WebAssembly" : " · Python"}</span></span>
      <button type="button" class="secondary small" title=${title}
          aria-label="${loaded ? "Remove" : "Install"} ${pkg.name}"
          disabled=${pending || (loaded && busy) || worker?.state === "starting" && loaded}
          onClick=${() => (loaded ? actions.removePackage(pkg.name) : actions.installPackage(pkg.name))}>
          ${pkg.state === "installing" ? "Installing…" : pkg.state === "removing" ? "Removing…" : loaded ? "Remove" : "Install"}
      </button>
      <p class="package-tools">${pkg.tools.join(", ")}</p>
      <${PermissionLines} pkg=${pkg} limits=${true} />
      ${pkg.message ? html`<p class="field-error" role="alert">${pkg.message}</p>` : null}
    </li>`;
}
