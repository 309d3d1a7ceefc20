// The conversation: the user's messages, the model's answers as sanitized Markdown (streaming as
// they arrive), a card for every tool call, and notices (stopped, errors, the step limit).
import { describeAttachment } from "../attachments.js";
import { html } from "./html.js";
import { Paperclip } from "./icons.js";
import { markdownToHtml } from "./markdown.js";
import { ToolCard } from "./tool-card.js";
import { approvalReason } from "../approval-policy.js";
import { packageOfTool } from "./permissions-view.js";

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function ChatLog({ state, actions }) {
  const conversation = state.current;
  const messages = conversation?.messages ?? [];
  const running = state.runningId !== null && state.runningId === conversation?.id;
  if (!messages.length) return html`<${Welcome} state=${state} />`;
  /** @type {Map<string, any>} tool_call_id -> tool message */
  const results = new Map(messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m]));
  return html`
    <ol class="chat-log" aria-label="Conversation" aria-live="polite" aria-busy=${running ? "true" : "false"}>
      ${messages.map((message, index) => {
        if (message.role === "user") {
          const files = message.cloche?.attachments ?? [];
          return html`<li class="message user" key=${index}><span class="who">You</span>
            ${message.content ? html`<p>${message.content}</p>` : null}
            ${files.length ? html`<ul class="attached" aria-label="Attached files">
              ${files.map((/** @type {any} */ file) => html`<li class="attachment-chip" title=${`id ${file.id}`}><${Paperclip} /> ${describeAttachment(file)}</li>`)}
            </ul>` : null}</li>`;
        }
        if (message.role === "assistant") {
          const calls = (message.tool_calls ?? []).map((/** @type {any} */ c) => results.get(c.id)).filter(Boolean);
          const streaming = Boolean(message.cloche?.streaming);
          return html`
            <li class="message assistant" key=${index} data-streaming=${streaming ? "true" : "false"}>
              <span class="who">Assistant</span>
              ${message.content || streaming ? html`<div class="markdown"
                dangerouslySetInnerHTML=${{ __html: markdownToHtml(message.content || "") }}></div>` : null}
              ${streaming && !message.content ? html`<p class="thinking">Thinking…</p>` : null}
              ${calls.map((/** @type {any} */ call) => html`<${ToolCard} key=${call.tool_call_id}
                message=${call} now=${state.now} actions=${actions} files=${state.current?.attachments ?? []}
                awaitingApproval=${call.cloche?.status === "approval" && actions.approvals.has(call.tool_call_id)}
                reason=${approvalReason(state.tools.find((t) => t.name === call.cloche?.tool) ?? {})}
                pkg=${packageOfTool(state, call.cloche?.tool)}
                canRerun=${!state.runningId && state.tools.some((t) => t.name === call.cloche?.tool)} />`)}
            </li>`;
        }
        if (message.role === "notice") {
          return html`<li class="notice" key=${index} data-kind=${message.kind}
            role=${message.kind === "error" ? "alert" : "status"}>${message.text}</li>`;
        }
        return null;
      })}
    </ol>`;
}

/** @param {{state: import("../app-controller.js").AppState}} props */
function Welcome({ state }) {
  return html`
    <div class="welcome">
      <h2>What can I help with?</h2>
      <p>The model can use ${state.tools.length} tools that run sandboxed in this browser tab:
        Python, text and data tools, and WebAssembly tools. You see every call it makes, and tools
        that could change things or reach outside the sandbox ask you first.</p>
    </div>`;
}
