// The page: conversations on the left, the chat in the middle, the tools and runtimes on the
// right; on a phone the two side panels open over the chat from the header.
import { html, Component, createRef } from "./html.js";
import { ChatLog } from "./chat-log.js";
import { Composer } from "./composer.js";
import { ConversationList, SystemPrompt } from "./conversation-list.js";
import { ModelPicker, RelayNotice } from "./relay-bar.js";
import { RuntimePanel } from "./runtime-panel.js";
import { ToolRunner } from "./tool-runner.js";
import { ConsentDialog } from "./permissions-view.js";
import { ExportButtons } from "./file-actions.js";
import { titleOf } from "../conversations.js";

/**
 * @typedef {{state: import("../app-controller.js").AppState,
 *            actions: import("../app-controller.js").AppController}} AppProps
 * @extends {Component<AppProps, {panel: "" | "conversations" | "tools"}>}
 */
export class App extends Component {
  state = /** @type {{panel: "" | "conversations" | "tools"}} */ ({ panel: "" });

  /** @param {"conversations" | "tools"} panel */
  toggle(panel) {
    this.setState({ panel: this.state.panel === panel ? "" : panel });
  }

  render() {
    const { state, actions } = this.props;
    const panel = this.state.panel;
    const conversation = state.current;
    const running = state.runningId !== null && state.runningId === conversation?.id;
    const ready = state.relay.state === "ready";
    return html`
      <div class="app" data-panel=${panel}>
        <header class="topbar">
          <button type="button" class="icon panel-toggle" aria-expanded=${panel === "conversations"}
            aria-controls="conversations-panel" onClick=${() => this.toggle("conversations")}>☰<span class="visually-hidden">Conversations</span></button>
          <h1>Cloche</h1>
          <${ModelPicker} state=${state} actions=${actions} />
          <button type="button" class="icon panel-toggle" aria-expanded=${panel === "tools"}
            aria-controls="tools-panel" onClick=${() => this.toggle("tools")}>Tools</button>
        </header>
        <aside id="conversations-panel" class="side left" onClick=${(/** @type {Event} */ e) => closeOnChoice(e, this)}>
          <${ConversationList} state=${state} actions=${actions} />
        </aside>
        <main class="chat">
          <div class="chat-head">
            <div class="chat-title-row">
              <h2 class="conversation-title">${conversation ? titleOf(conversation) : ""}</h2>
              <${ExportButtons} actions=${actions} disabled=${!conversation?.messages.length} />
            </div>
            <${SystemPrompt} state=${state} actions=${actions} />
          </div>
          ${state.problem ? html`<p class="relay-notice" role="alert">${state.problem}</p>` : null}
          <${FollowScroll} conversationId=${conversation?.id}>
            <${ChatLog} state=${state} actions=${actions} />
          </${FollowScroll}>
          <${RelayNotice} state=${state} actions=${actions} />
          <${Composer} running=${running} disabled=${!ready || (state.runningId !== null && !running)}
            placeholder=${ready ? "Message the model…" : "No model to talk to yet"}
            onSend=${(/** @type {string} */ text, /** @type {any[]} */ files) => actions.send(text, files)}
            onStop=${() => actions.stop()} />
        </main>
        <aside id="tools-panel" class="side right">
          <${RuntimePanel} state=${state} actions=${actions} />
        </aside>
        ${state.runner ? html`<${ToolRunner} key=${state.runner.tool} state=${state} actions=${actions} />` : null}
        <${ConsentDialog} state=${state} actions=${actions} />
      </div>`;
  }
}

/**
 * On a phone the conversation list closes once a conversation is chosen.
 * @param {Event} event
 * @param {App} app
 */
function closeOnChoice(event, app) {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target.closest("button.open, button.new-chat")) app.setState({ panel: "" });
}

/**
 * The chat's scroll area follows new content while the reader is at the bottom, and leaves them
 * where they are when they scrolled up to read; a conversation opens at its end.
 * @extends {Component<{conversationId?: string, children?: any}>}
 */
class FollowScroll extends Component {
  box = createRef();
  atBottom = true;

  onScroll = () => {
    const box = /** @type {HTMLElement} */ (this.box.current);
    this.atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  };

  /** @param {{conversationId?: string}} previous */
  componentDidUpdate(previous) {
    const box = /** @type {HTMLElement} */ (this.box.current);
    if (previous.conversationId !== this.props.conversationId) this.atBottom = true;
    if (this.atBottom) box.scrollTop = box.scrollHeight;
  }

  render() {
    return html`<div class="chat-scroll" ref=${this.box} onScroll=${this.onScroll}>${this.props.children}</div>`;
  }
}
