// A tool call in the conversation: name, arguments, live progress and elapsed time, the result or
// the error, the approval prompt when the call waits for one, and a button to run it again.
import { describeAttachment } from "../attachments.js";
import { Paperclip } from "./icons.js";
import { html } from "./html.js";
import { PermissionLines } from "./permissions-view.js";

const FINISHED = new Set(["ok", "error", "denied", "stopped"]);
const STATUS_TEXT = {
  pending: "Waiting", approval: "Needs your approval", running: "Running", ok: "Done",
  error: "Failed", denied: "Denied", stopped: "Stopped",
};
/** The user's own open/closed choice per card, kept while the page lives. @type {Map<string, boolean>} */
const chosenOpen = new Map();

/** @param {number} ms */
export function duration(ms) {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** @param {any} value */
const pretty = (value) => JSON.stringify(value, null, 2);

/**
 * @param {{message: any, now: number, awaitingApproval: boolean, canRerun: boolean, forceOpen?: boolean,
 *          reason: string, actions: import("../app-controller.js").AppController,
 *          pkg?: import("../app-controller.js").PackageState,
 *          files?: import("../attachments.js").AttachmentInfo[]}} props
 *   pkg: the package that offers the tool, whose permissions the approval prompt shows
 */
export function ToolCard({ message, now, awaitingApproval, canRerun, forceOpen, reason, actions, pkg, files = [] }) {
  const call = message.cloche ?? {};
  const status = call.status ?? "pending";
  const finished = FINISHED.has(status);
  const open = forceOpen || (chosenOpen.get(message.tool_call_id) ?? !finished);
  const elapsed = finished ? call.elapsedMs ?? 0 : call.startedAt ? now - call.startedAt : 0;
  const onToggle = (/** @type {Event} */ event) => {
    const element = /** @type {HTMLDetailsElement} */ (event.currentTarget);
    if (element.open !== open) chosenOpen.set(message.tool_call_id, element.open);
  };
  return html`
    <details class="tool-card" data-status=${status} data-call-id=${message.tool_call_id} open=${open} onToggle=${onToggle}>
      <summary>
        <span class="tool-icon" aria-hidden="true"></span>
        <code class="tool-name">${call.tool ?? "tool"}</code>
        <span class="tool-state">${STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status}</span>
        ${(status === "running" || finished) && call.startedAt
          ? html`<span class="tool-elapsed" aria-label="elapsed time">${duration(elapsed)}</span>` : null}
      </summary>
      ${status === "running" ? html`<${Progress} progress=${call.progress} />` : null}
      ${awaitingApproval ? html`<${Approval} message=${message} reason=${reason} actions=${actions} pkg=${pkg} />` : null}
      <div class="tool-body">
        <h4>Arguments</h4>
        <${Arguments} args=${call.args} files=${files} />
        ${finished ? html`<${Outcome} call=${call} content=${message.content} />` : null}
        ${finished && canRerun ? html`
          <button type="button" class="secondary rerun" onClick=${() => actions.rerun(message.tool_call_id)}>
            Run again
          </button>` : null}
      </div>
    </details>`;
}

/** Longer argument text is cut in the card (a file's base64 given directly, say). */
const SHOWN_CHARACTERS = 4_000;

/**
 * Arguments as a person reads them: each field by name, text as it is (code keeps its lines), an
 * attachment id as the file it names, and very long text cut.
 * @param {{args: any, files: import("../attachments.js").AttachmentInfo[]}} props
 */
function Arguments({ args, files }) {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return html`<pre class="tool-args">${typeof args === "string" ? args : pretty(args)}</pre>`;
  }
  const entries = Object.entries(args);
  if (!entries.length) return html`<p class="tool-note none">No arguments</p>`;
  return html`
    <dl class="tool-args">
      ${entries.map(([name, value]) => html`
        <dt>${name}</dt>
        <dd>${argumentValue(value, files)}</dd>`)}
    </dl>`;
}

/**
 * @param {unknown} value
 * @param {import("../attachments.js").AttachmentInfo[]} files
 */
function argumentValue(value, files) {
  const file = typeof value === "string" ? files.find((f) => f.id === value) : undefined;
  if (file) return html`<span class="attachment-chip" title=${`id ${file.id}`}><${Paperclip} /> ${describeAttachment(file)}</span>`;
  const text = typeof value === "string" ? value : pretty(value);
  if (text.length <= SHOWN_CHARACTERS) return html`<pre>${text}</pre>`;
  return html`<pre>${text.slice(0, SHOWN_CHARACTERS)}</pre>
    <p class="tool-note none">… and ${(text.length - SHOWN_CHARACTERS).toLocaleString("en")} more characters</p>`;
}

/** @param {{progress?: {progress: number, total?: number, message?: string}}} props */
function Progress({ progress }) {
  const total = progress?.total;
  const label = progress?.message || (total ? `${progress?.progress} of ${total}` : "Working…");
  return html`
    <div class="tool-progress">
      ${total ? html`<progress max=${total} value=${progress?.progress ?? 0} aria-label="tool progress"></progress>`
        : html`<progress aria-label="tool progress"></progress>`}
      <span class="tool-progress-text">${label}</span>
    </div>`;
}

/** @param {{call: any, content: string}} props */
function Outcome({ call, content }) {
  if (call.status === "denied" || call.status === "stopped") {
    return html`<p class="tool-note">${content}</p>`;
  }
  if (call.error && !call.result) {
    return html`<h4>Error</h4><pre class="tool-error">${call.error.message ?? content}</pre>`;
  }
  const result = call.result ?? {};
  const texts = (result.content ?? []).filter((/** @type {any} */ part) => part.type === "text")
    .map((/** @type {any} */ part) => part.text).join("\n");
  const structured = result.structuredContent;
  const heading = result.isError || call.status === "error" ? "Error" : "Result";
  return html`
    <h4>${heading}</h4>
    ${structured !== undefined
      ? html`<details class="structured" open=${false}>
          <summary>Structured result (JSON)</summary>
          <pre class="tool-result">${pretty(structured)}</pre>
        </details>
        ${summaryOf(structured)}`
      : html`<pre class=${result.isError || call.status === "error" ? "tool-error" : "tool-result"}>${texts || content}</pre>`}`;
}

/** A short look at structured content without opening it: its first scalar fields. @param {any} value */
function summaryOf(value) {
  if (value === null || typeof value !== "object") return html`<pre class="tool-result">${String(value)}</pre>`;
  const fields = Object.entries(value).filter(([, v]) => v !== null && v !== "" && typeof v !== "object").slice(0, 6);
  if (!fields.length) return null;
  return html`<dl class="tool-fields">${fields.map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>`;
}

/**
 * @param {{message: any, reason: string, actions: import("../app-controller.js").AppController,
 *          pkg?: import("../app-controller.js").PackageState}} props
 */
function Approval({ message, reason, actions, pkg }) {
  const id = message.tool_call_id;
  const tool = message.cloche?.tool;
  return html`
    <div class="approval" role="group" aria-label=${`Approve ${tool}?`}>
      <p><strong>Allow <code>${tool}</code> to run?</strong> ${reason}</p>
      ${pkg && pkg.grant !== "none" ? html`<p class="approval-package">Its package ${pkg.name} ${pkg.version} asks for:</p>` : null}
      <${PermissionLines} pkg=${pkg} />
      <div class="buttons">
        <button type="button" class="primary" onClick=${() => actions.decide(id, "once")}>Allow once</button>
        <button type="button" class="secondary" onClick=${() => actions.decide(id, "conversation")}>
          Allow for this conversation
        </button>
        <button type="button" class="danger" onClick=${() => actions.decide(id, "deny")}>Deny</button>
      </div>
    </div>`;
}
