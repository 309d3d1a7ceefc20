// The palette's runner: a dialog with the tool's description, a form made from its schema, Run and
// Stop, and the outcome shown as the chat shows a tool call.
import { html, Component, createRef } from "./html.js";
import { ToolForm } from "./tool-form.js";
import { ToolCard } from "./tool-card.js";

/**
 * @typedef {{state: import("../app-controller.js").AppState,
 *            actions: import("../app-controller.js").AppController}} RunnerProps
 * @extends {Component<RunnerProps>}
 */
export class ToolRunner extends Component {
  dialog = createRef();

  componentDidMount() {
    /** @type {HTMLDialogElement} */ (this.dialog.current).showModal();
  }

  render() {
    const { state, actions } = this.props;
    const runner = /** @type {import("../app-controller.js").ToolRun} */ (state.runner);
    const tool = state.tools.find((t) => t.name === runner.tool);
    const worker = tool ? state.workers[tool.worker] : undefined;
    return html`
      <dialog class="tool-runner" ref=${this.dialog} aria-labelledby="runner-title"
        onClose=${() => actions.closeTool()} onCancel=${() => actions.closeTool()}>
        <header>
          <div>
            <h2 id="runner-title">${tool?.title || runner.tool}</h2>
            <code>${runner.tool}</code>
            <span class="runtime-badge">${worker?.kind === "wasm" ? "WebAssembly" : "Python"}</span>
          </div>
          <button type="button" class="icon" aria-label="Close" onClick=${() => actions.closeTool()}>✕</button>
        </header>
        ${tool?.description ? html`<p class="tool-description">${unwrap(tool.description)}</p>` : null}
        ${worker && worker.state !== "ready"
          ? html`<p class="tool-note">${worker.state === "failed"
              ? `Its runtime is unavailable: ${worker.message}` : "Its runtime is starting: a run waits for it."}</p>`
          : null}
        ${tool ? html`<${ToolForm} key=${tool.name} tool=${tool} running=${runner.running}
          onRun=${(/** @type {object} */ args, /** @type {any[]} */ files) => actions.runTool(args, files)}
          onStop=${() => actions.stopTool()} />`
          : html`<p class="tool-note">No tool named ${runner.tool} is offered any more.</p>`}
        ${runner.message ? html`<div class="runner-outcome" aria-live="polite">
          <${ToolCard} message=${runner.message} now=${state.now} actions=${actions} forceOpen=${true}
            files=${runner.files ?? []}
            awaitingApproval=${false} canRerun=${false} reason="" />
        </div>` : null}
      </dialog>`;
  }
}

/**
 * Docstrings wrap their lines by hand: join a paragraph's lines, keep the blank lines between
 * paragraphs.
 * @param {string} text
 */
function unwrap(text) {
  return text.replace(/([^\n])\n(?=[^\n])/g, "$1 ");
}
