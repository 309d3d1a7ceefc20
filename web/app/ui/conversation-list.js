// The conversations kept in this browser: new, switch, rename, delete; and the current one's
// system prompt.
import { html, Component } from "./html.js";
import { ImportButton } from "./file-actions.js";

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function ConversationList({ state, actions }) {
  const currentId = state.current?.id;
  return html`
    <nav class="conversations" aria-label="Conversations">
      <button type="button" class="primary new-chat" onClick=${() => actions.newConversation()}>New conversation</button>
      <ul>
        ${state.conversations.map((c) => html`<${ConversationItem} key=${c.id} summary=${c}
          current=${c.id === currentId} running=${c.id === state.runningId} actions=${actions} />`)}
      </ul>
      <${ImportButton} actions=${actions} />
    </nav>`;
}

/**
 * @typedef {{summary: import("../conversations.js").ConversationSummary, current: boolean, running: boolean,
 *            actions: import("../app-controller.js").AppController}} ItemProps
 * @extends {Component<ItemProps, {mode: "view" | "rename" | "delete", draft: string}>}
 */
class ConversationItem extends Component {
  state = /** @type {{mode: "view" | "rename" | "delete", draft: string}} */ ({ mode: "view", draft: "" });

  /** @param {SubmitEvent} event */
  onRename = (event) => {
    event.preventDefault();
    this.props.actions.rename(this.props.summary.id, this.state.draft);
    this.setState({ mode: "view" });
  };

  render() {
    const { summary, current, running, actions } = this.props;
    const { mode } = this.state;
    if (mode === "rename") {
      return html`
        <li class="conversation" data-current=${current}>
          <form class="rename" onSubmit=${this.onRename}
            onKeyDown=${(/** @type {KeyboardEvent} */ e) => e.key === "Escape" && this.setState({ mode: "view" })}>
            <label class="visually-hidden" for=${`title-${summary.id}`}>New title</label>
            <input id=${`title-${summary.id}`} name="title" value=${this.state.draft} autofocus
              onInput=${(/** @type {Event} */ e) => this.setState({ draft: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
            <button type="submit" class="secondary">Save</button>
          </form>
        </li>`;
    }
    if (mode === "delete") {
      return html`
        <li class="conversation" data-current=${current}>
          <span class="confirm">Delete “${summary.title}”?</span>
          <button type="button" class="danger" onClick=${() => actions.remove(summary.id)}>Delete</button>
          <button type="button" class="secondary" onClick=${() => this.setState({ mode: "view" })}>Keep</button>
        </li>`;
    }
    return html`
      <li class="conversation" data-current=${current}>
        <button type="button" class="open" aria-current=${current ? "true" : undefined}
          onClick=${() => actions.switchTo(summary.id)}>
          ${running ? html`<span class="dot" aria-label="running"></span>` : null}${summary.title}
        </button>
        <button type="button" class="icon" aria-label=${`Rename “${summary.title}”`} title="Rename"
          onClick=${() => this.setState({ mode: "rename", draft: summary.title })}>✎</button>
        <button type="button" class="icon" aria-label=${`Delete “${summary.title}”`} title="Delete"
          onClick=${() => this.setState({ mode: "delete" })}>✕</button>
      </li>`;
  }
}

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function SystemPrompt({ state, actions }) {
  const prompt = state.current?.systemPrompt ?? "";
  return html`
    <details class="system-prompt">
      <summary>System prompt${prompt ? "" : " (none)"}</summary>
      <label for="system-prompt" class="visually-hidden">System prompt for this conversation</label>
      <textarea id="system-prompt" rows="3" value=${prompt}
        placeholder="Instructions the model gets before this conversation, e.g. “Answer briefly.”"
        onInput=${(/** @type {Event} */ e) => actions.setSystemPrompt(/** @type {HTMLTextAreaElement} */ (e.currentTarget).value)}
        onChange=${(/** @type {Event} */ e) => actions.setSystemPrompt(/** @type {HTMLTextAreaElement} */ (e.currentTarget).value, { saveNow: true })}></textarea>
    </details>`;
}
