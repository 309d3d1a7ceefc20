// The agent loop: ask the model (streamed through the relay), run the tools it calls through the
// host, tell it the outcomes, and repeat until it answers, the user stops it, or the step limit.
// It mutates the conversation in place and calls onChange after every change, so a UI re-renders
// from the same objects. No DOM: the relay, the host and the approval prompt are passed in.
import { toolNameMap } from "./tool-names.js";
import { needsApproval, approvalReason } from "./approval-policy.js";
import { resultForModel } from "./tool-result-text.js";
import { errorText } from "./error-text.js";
import { untilAborted } from "./until-aborted.js";
import { attachmentNote, substituteAttachments } from "./attachments.js";

export const DEFAULT_MAX_STEPS = 10;

const STOPPED_CALL = "The user stopped this call.";

/**
 * @typedef {import("./mcp-client.js").Tool} Tool
 * @typedef {import("./mcp-client.js").CallToolResult} CallToolResult
 * @typedef {import("./mcp-client.js").Progress} Progress
 * @typedef {import("./tool-names.js").ToolNameMap} ToolNameMap
 *
 * @typedef {"pending" | "approval" | "denied" | "running" | "ok" | "error" | "stopped"} ToolCallStatus
 * @typedef {object} ToolCallState  what a tool message's card shows
 * @property {string} tool  the MCP name (the model's name when it named no known tool)
 * @property {any} args  the parsed arguments (the raw text when they were not a JSON object)
 * @property {ToolCallStatus} status
 * @property {number} startedAt  ms since the epoch: when it was queued, then when it started running
 * @property {number} elapsedMs  how long it ran (so far, while running)
 * @property {Progress} [progress]
 * @property {CallToolResult} [result]
 * @property {{code?: number | string, message: string}} [error]  a failure thrown by the host
 *
 * @typedef {{id: string, type: "function", function: {name: string, arguments: string}}} ToolCall
 * @typedef {{role: "system" | "developer", content: any, cloche?: any}} SystemMessage
 * @typedef {{role: "user", content: any,
 *            cloche?: {attachments?: import("./attachments.js").AttachmentInfo[]}}} UserMessage
 * @typedef {{role: "assistant", content: string | null, tool_calls?: ToolCall[],
 *            cloche?: {streaming?: boolean}}} AssistantMessage
 * @typedef {{role: "tool", tool_call_id: string, content: string, cloche: ToolCallState}} ToolMessage
 * @typedef {{role: "notice", kind: "error" | "step-limit" | "stopped", text: string}} Notice
 * @typedef {SystemMessage | UserMessage | AssistantMessage | ToolMessage | Notice} Message
 * @typedef {{systemPrompt: string, messages: Message[], allowedTools: string[],
 *            attachments?: import("./attachments.js").Attachment[]}} Conversation  attachments: the
 *            files attached in the chat, with their bytes; messages name them by id
 *
 * @typedef {(name: string, args: object, options: {onProgress: (progress: Progress) => void,
 *            signal?: AbortSignal}) => Promise<CallToolResult>} CallTool
 * @typedef {(body: object, signal?: AbortSignal) => AsyncIterable<any>} Chat
 * @typedef {{tool: Tool, args: object, callId: string, reason: string}} ApprovalRequest
 * @typedef {(request: ApprovalRequest) => Promise<"once" | "conversation" | "deny">} Approve
 * @typedef {"done" | "stopped" | "error" | "step-limit"} RunStatus
 *
 * @typedef {object} RunOptions
 * @property {Conversation} conversation  the user's message already pushed
 * @property {string} model  the relay's model alias
 * @property {Tool[]} tools  the host's tools
 * @property {CallTool} callTool
 * @property {Chat} chat
 * @property {Approve} approve
 * @property {AbortSignal} [signal]  stops the stream or the running call; the loop then returns "stopped"
 * @property {number} [maxSteps]  model requests per run (DEFAULT_MAX_STEPS)
 * @property {() => void} [onChange]
 *
 * @typedef {object} Run  one runAgent call's state
 * @property {Conversation} conversation
 * @property {AbortSignal} [signal]
 * @property {() => void} changed
 * @property {AssistantMessage | null} assistant  this step's
 * @property {ToolMessage[]} toolMessages  this step's
 * @property {Map<string, string>} rawArguments  by call id: what the model sent, before "{}" replaced it
 */

/**
 * Run the model and its tool calls until it answers without calling a tool. Never throws for a
 * failed relay, a failed tool, a denial, a stop or the step limit: each is told in the conversation.
 * @param {RunOptions} options
 * @returns {Promise<{status: RunStatus}>}
 */
export async function runAgent(options) {
  const { conversation, model, tools, callTool, chat, approve, signal } = options;
  const maxSteps = Math.max(1, options.maxSteps ?? DEFAULT_MAX_STEPS);
  /** @type {Run} */
  const run = {
    conversation, signal, changed: () => options.onChange?.(),
    assistant: null, toolMessages: [], rawArguments: new Map(),
  };
  for (let step = 1; step <= maxSteps; step++) {
    if (signal?.aborted) return stop(run);
    const names = toolNameMap(tools.map((tool) => tool.name));
    const outcome = await streamAnswer(run, chat, requestBody(conversation, model, tools, names));
    if (outcome !== "answered") return { status: outcome };
    const calls = run.assistant?.tool_calls ?? [];
    if (!calls.length) return { status: "done" };
    await runToolCalls(run, calls, tools, names, callTool, approve);
    if (signal?.aborted) return stop(run);
  }
  notice(run, "step-limit", `Stopped after ${maxSteps} ${maxSteps === 1 ? "step" : "steps"}, the limit ` +
    "for one message, while the model still wanted to call tools. Send a message to let it continue.");
  return { status: "step-limit" };
}

/**
 * Run a tool message's call again with the same arguments (the user asked, so no approval), and
 * replace its card and the content the model sees with the new outcome.
 * @param {{conversation: Conversation, message: ToolMessage, tools: Tool[], callTool: CallTool,
 *          signal?: AbortSignal, onChange?: () => void}} options
 * @returns {Promise<{status: ToolCallStatus}>}
 */
export async function rerunToolCall({ conversation, message, tools, callTool, signal, onChange }) {
  if (!conversation.messages.includes(message) || message.role !== "tool") {
    throw new Error("rerunToolCall: the message is not a tool call of this conversation");
  }
  const changed = () => onChange?.();
  const state = message.cloche;
  const names = toolNameMap(tools.map((tool) => tool.name));
  const tool = tools.find((candidate) => candidate.name === state.tool);
  for (const key of /** @type {const} */ (["progress", "result", "error"])) delete state[key];
  if (!tool) {
    fail(message, unknownToolText(names.toModel(state.tool) ?? state.tool, tools, names));
  } else if (!isObject(state.args)) {
    fail(message, badArgumentsText(names.toModel(tool.name) ?? tool.name, String(state.args), "not a JSON object"));
  } else {
    await execute(message, tool, state.args, { callTool, signal, changed, files: conversation.attachments ?? [] });
  }
  changed();
  return { status: state.status };
}

/**
 * What is sent to the model: the system prompt, then every message without notices and without
 * the page's own `cloche` fields.
 * @param {Conversation} conversation
 * @returns {object[]}
 */
export function wireMessages(conversation) {
  /** @type {object[]} */
  const wire = conversation.systemPrompt ? [{ role: "system", content: conversation.systemPrompt }] : [];
  for (const message of conversation.messages) {
    if (message.role === "notice") continue;
    const { cloche: _, ...rest } = message;
    // The model learns each attached file's id and name, never its bytes.
    const attached = message.role === "user" ? message.cloche?.attachments : undefined;
    if (attached?.length) rest.content = `${rest.content}\n\n${attachmentNote(attached)}`;
    // Some OpenAI-compatible servers refuse "" beside tool_calls; null is what the format specifies.
    if (rest.role === "assistant" && !rest.content && rest.tool_calls?.length) rest.content = null;
    wire.push(rest);
  }
  return wire;
}

/**
 * @param {Conversation} conversation
 * @param {string} model
 * @param {Tool[]} tools
 * @param {ToolNameMap} names
 */
function requestBody(conversation, model, tools, names) {
  /** @type {Record<string, any>} */
  const body = { model, messages: wireMessages(conversation), stream: true };
  if (tools.length) {
    body.tools = tools.map((tool) => {
      const title = tool.title ?? /** @type {any} */ (tool.annotations)?.title;
      const description = [title, tool.description].filter(Boolean).join(": ");
      return {
        type: "function",
        function: {
          name: names.toModel(tool.name),
          ...(description ? { description } : {}),
          parameters: { properties: {}, ...tool.inputSchema, type: "object" },
        },
      };
    });
  }
  return body;
}

/**
 * Stream one answer into a new assistant message. "answered" when the stream completed.
 * @param {Run} run
 * @param {Chat} chat
 * @param {object} body
 * @returns {Promise<"answered" | "stopped" | "error">}
 */
async function streamAnswer(run, chat, body) {
  /** @type {AssistantMessage} */
  const assistant = { role: "assistant", content: "", cloche: { streaming: true } };
  run.conversation.messages.push(assistant);
  run.assistant = assistant;
  run.toolMessages = [];
  run.changed();
  /** @type {{id: string, name: string, arguments: string}[]} */
  const calls = [];
  try {
    const iterator = chat(body, run.signal)[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (!finished) {
        const next = await untilAborted(iterator.next(), run.signal);
        finished = Boolean(next.done);
        if (!next.done && applyChunk(assistant, calls, next.value)) run.changed();
      }
    } finally {
      if (!finished) iterator.return?.()?.catch(() => {});
    }
  } catch (error) {
    if (run.signal?.aborted) return stop(run).status;
    delete assistant.cloche;
    if (!assistant.content) removeMessage(run.conversation, assistant);
    notice(run, "error", describeFailure(error));
    return "error";
  }
  delete assistant.cloche;
  run.rawArguments = new Map();
  /** @type {ToolCall[]} */
  const toolCalls = [];
  for (const call of calls.filter(Boolean)) {
    // A call needs an id its tool message can answer, unique within the message.
    let id = call.id;
    while (!id || run.rawArguments.has(id)) id = `call_${Math.random().toString(36).slice(2, 12)}`;
    run.rawArguments.set(id, call.arguments);
    toolCalls.push({ id, type: "function", function: { name: call.name, arguments: wireArguments(call.arguments) } });
  }
  if (toolCalls.length) assistant.tool_calls = toolCalls;
  run.changed();
  return "answered";
}

/**
 * @param {AssistantMessage} assistant
 * @param {{id: string, name: string, arguments: string}[]} calls  accumulated by index
 * @param {any} chunk
 * @returns {boolean} whether the message changed
 */
function applyChunk(assistant, calls, chunk) {
  const delta = chunk?.choices?.[0]?.delta;
  if (!delta) return false;
  let changed = false;
  for (const text of [delta.content, delta.refusal]) {
    if (typeof text === "string" && text) {
      assistant.content = (assistant.content ?? "") + text;
      changed = true;
    }
  }
  const parts = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
  parts.forEach((/** @type {any} */ part, /** @type {number} */ position) => {
    const index = typeof part?.index === "number" ? part.index : position;
    const call = (calls[index] ??= { id: "", name: "", arguments: "" });
    if (typeof part?.id === "string" && part.id && !call.id) call.id = part.id;
    if (typeof part?.function?.name === "string") call.name += part.function.name;
    if (typeof part?.function?.arguments === "string") call.arguments += part.function.arguments;
  });
  return changed;
}

/**
 * Arguments as the conversation keeps them. Ones that are not a JSON object become "{}": the
 * relay's Anthropic translation refuses anything else, which would wedge the conversation; the
 * tool message quotes what the model actually sent.
 * @param {string} raw
 */
function wireArguments(raw) {
  const parsed = parseArguments(raw);
  return parsed.ok ? (raw.trim() ? raw : "{}") : "{}";
}

/**
 * @param {Run} run
 * @param {ToolCall[]} calls
 * @param {Tool[]} tools
 * @param {ToolNameMap} names
 * @param {CallTool} callTool
 * @param {Approve} approve
 */
async function runToolCalls(run, calls, tools, names, callTool, approve) {
  const raw = (/** @type {ToolCall} */ call) => run.rawArguments.get(call.id) ?? call.function.arguments;
  const queued = calls.map((call) => {
    const parsed = parseArguments(raw(call));
    /** @type {ToolMessage} */
    const message = {
      role: "tool", tool_call_id: call.id, content: "",
      cloche: {
        tool: names.fromModel(call.function.name) ?? call.function.name,
        args: parsed.ok ? parsed.value : raw(call),
        status: "pending", startedAt: Date.now(), elapsedMs: 0,
      },
    };
    run.conversation.messages.push(message);
    run.toolMessages.push(message);
    return { call, message, parsed };
  });
  run.changed();
  for (const { call, message, parsed } of queued) {
    if (run.signal?.aborted) return;
    const modelName = call.function.name;
    const mcpName = names.fromModel(modelName);
    const tool = tools.find((candidate) => candidate.name === mcpName);
    if (!tool) {
      fail(message, unknownToolText(modelName, tools, names));
    } else if (!parsed.ok) {
      fail(message, badArgumentsText(modelName, raw(call), parsed.problem));
    } else if (await approved(run, message, tool, parsed.value, approve)) {
      await execute(message, tool, parsed.value, { callTool, signal: run.signal, changed: run.changed,
        files: run.conversation.attachments ?? [] });
    }
    run.changed();
  }
}

/**
 * Ask the user when the tool needs it and is not allowed for the whole conversation yet.
 * @param {Run} run
 * @param {ToolMessage} message
 * @param {Tool} tool
 * @param {object} args
 * @param {Approve} approve
 */
async function approved(run, message, tool, args, approve) {
  const { allowedTools } = run.conversation;
  if (!needsApproval(tool) || allowedTools.includes(tool.name)) return true;
  message.cloche.status = "approval";
  run.changed();
  /** @type {string} */
  let answer;
  try {
    answer = await untilAborted(
      approve({ tool, args, callId: message.tool_call_id, reason: approvalReason(tool) }), run.signal);
  } catch (error) {
    if (run.signal?.aborted) return false;
    fail(message, `Error: the approval prompt failed (${errorText(error)}), so the call did not run.`);
    return false;
  }
  if (answer === "conversation" && !allowedTools.includes(tool.name)) allowedTools.push(tool.name);
  if (answer === "once" || answer === "conversation") return true;
  message.cloche.status = "denied";
  message.content = "The user denied this call, so it did not run. Do not call this tool again " +
    "unless you first ask the user and they agree.";
  return false;
}

/**
 * Run the call and put its outcome on the message: the card's fields and the model's content.
 * An attachment id given to a field that takes a file is replaced by the file's bytes here, for
 * the call only: the card and the conversation keep the id.
 * @param {ToolMessage} message
 * @param {Tool} tool
 * @param {object} args
 * @param {{callTool: CallTool, signal: AbortSignal | undefined, changed: () => void,
 *          files: import("./attachments.js").Attachment[]}} context
 */
async function execute(message, tool, args, { callTool, signal, changed, files }) {
  const withFiles = substituteAttachments(args, tool.inputSchema, (id) => files.find((file) => file.id === id), files);
  if (withFiles.problems.length) {
    fail(message, `Error: ${withFiles.problems.join("; ")}. The call did not run.`);
    return;
  }
  args = withFiles.args;
  const state = message.cloche;
  Object.assign(state, { status: "running", startedAt: Date.now(), elapsedMs: 0 });
  message.content = "";
  changed();
  const onProgress = (/** @type {Progress} */ progress) => {
    if (state.status !== "running") return;  // a late notification of a finished call
    state.progress = {
      progress: progress.progress,
      ...(progress.total === undefined ? {} : { total: progress.total }),
      ...(progress.message === undefined ? {} : { message: progress.message }),
    };
    state.elapsedMs = Date.now() - state.startedAt;
    changed();
  };
  try {
    // Raced with the signal too, so a stop ends the wait even when the call ignores it.
    const result = await untilAborted(callTool(tool.name, args, { onProgress, signal }), signal);
    state.result = result;
    state.status = result.isError ? "error" : "ok";
    message.content = resultForModel(result);
  } catch (error) {
    if (signal?.aborted) {
      state.status = "stopped";
      message.content = STOPPED_CALL;
    } else {
      const code = /** @type {any} */ (error)?.code;
      state.error = { ...(code === undefined ? {} : { code }), message: errorText(error) };
      state.status = "error";
      message.content = `Tool error: ${errorText(error)}`;
    }
  } finally {
    state.elapsedMs = Date.now() - state.startedAt;
  }
  changed();
}

/**
 * The run was stopped: keep what was streamed, drop tool calls that got no tool message, mark
 * the calls not finished as stopped, and say so.
 * @param {Run} run
 * @returns {{status: "stopped"}}
 */
function stop(run) {
  const { assistant, conversation } = run;
  if (assistant) {
    delete assistant.cloche;
    if (assistant.tool_calls) {
      const answered = new Set(run.toolMessages.map((message) => message.tool_call_id));
      const kept = assistant.tool_calls.filter((call) => answered.has(call.id));
      if (kept.length) assistant.tool_calls = kept; else delete assistant.tool_calls;
    }
    if (!assistant.content && !assistant.tool_calls) removeMessage(conversation, assistant);
  }
  for (const message of run.toolMessages) {
    const state = message.cloche;
    if (state.status === "pending" || state.status === "approval" || state.status === "running") {
      if (state.status === "running") state.elapsedMs = Date.now() - state.startedAt;
      state.status = "stopped";
      message.content = STOPPED_CALL;
    }
  }
  notice(run, "stopped", "Stopped.");
  return { status: "stopped" };
}

/**
 * @param {Run} run
 * @param {Notice["kind"]} kind
 * @param {string} text
 */
function notice(run, kind, text) {
  run.conversation.messages.push({ role: "notice", kind, text });
  run.changed();
}

/**
 * @param {ToolMessage} message
 * @param {string} content
 */
function fail(message, content) {
  message.cloche.status = "error";
  message.cloche.elapsedMs = 0;
  message.content = content;
}

/**
 * @param {string} modelName
 * @param {Tool[]} tools
 * @param {ToolNameMap} names
 */
function unknownToolText(modelName, tools, names) {
  const known = tools.map((tool) => names.toModel(tool.name)).join(", ") || "none";
  return `Error: there is no tool named "${modelName}", so nothing ran. The tools are: ${known}.`;
}

/**
 * @param {string} modelName
 * @param {string} raw
 * @param {string} problem
 */
function badArgumentsText(modelName, raw, problem) {
  const shown = raw.length > 500 ? `${raw.slice(0, 500)}…` : raw;
  return `Error: the arguments of this ${modelName} call are ${problem}, so nothing ran. You sent: ` +
    `${shown}\nCall it again with the arguments as one JSON object that matches its parameters.`;
}

/**
 * @param {unknown} text
 * @returns {{ok: true, value: Record<string, unknown>} | {ok: false, problem: string}}
 */
function parseArguments(text) {
  if (typeof text !== "string") return { ok: false, problem: "not a JSON string" };
  if (!text.trim()) return { ok: true, value: {} };  // some models send "" for a call without arguments
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not valid JSON (${errorText(error)})` };
  }
  if (!isObject(value)) {
    return { ok: false, problem: `JSON ${Array.isArray(value) ? "array" : value === null ? "null" : typeof value}, not an object` };
  }
  return { ok: true, value };
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * @param {Conversation} conversation
 * @param {Message} message
 */
function removeMessage(conversation, message) {
  const index = conversation.messages.lastIndexOf(message);
  if (index >= 0) conversation.messages.splice(index, 1);
}

/** @param {unknown} error */
function describeFailure(error) {
  // RelayError's toString says what failed ("The model relay answered 502 (...): ...").
  if (error instanceof Error && error.name === "RelayError") return String(error);
  return `The model request failed: ${errorText(error)}`;
}
