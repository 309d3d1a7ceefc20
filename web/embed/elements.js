// The documentation demos as custom elements, each in a Shadow DOM of its own and all sharing the
// page's one runtime (embed-runtime.js):
//   <cloche-tool tool="hash.sha256" args='{"text": "hello"}'></cloche-tool>
//   <cloche-python>print(sum(range(10)))</cloche-python>
// A demo shows its tool's title, description and form from registry.json at once; its worker
// starts when the reader is about to use it (it scrolls into view, or they focus or press in it).
import { html, render, Component } from "../app/ui/html.js";
import { ToolForm } from "../app/ui/tool-form.js";
import { resultForModel } from "../app/tool-result-text.js";
import { substituteAttachments } from "../app/attachments.js";
import { errorText } from "../app/error-text.js";
import { registryOf, describeTool } from "./embed-registry.js";
import { modelContext, offerTools } from "../app/webmcp.js";

/** Where the dist is: this module sits in its embed/ folder. */
const DIST = new URL("../", import.meta.url);
const STYLES = new URL("embed.css", import.meta.url);
/** @type {Promise<import("./embed-runtime.js").EmbedRuntime> | null} */
let loading = null;

/**
 * The page's one runtime, loaded when a demo is first about to be used: the host, the protocol
 * and the policy frame are not part of what a page loads to show its demos. Tests reach it too
 * (this module is one instance per page).
 */
export function runtime() {
  loading ??= Promise.all([import("./embed-runtime.js"), import("../app/worker-spawn.js"), import("./policy-frame.js")])
    .then(([{ runtimeFor }, { moduleWorkerSpawner }, { policyFrame }]) => {
      /** The frame whose policy the workers live under, made before the first worker starts. */
      let frame = /** @type {Promise<Window> | null} */ (null);
      let realm = /** @type {Window | null} */ (null);
      return runtimeFor(DIST, () => ({
        spawn: moduleWorkerSpawner({ realm: () => realm }),
        beforeStart: async () => {
          frame ??= policyFrame(DIST);
          realm = await frame;
        },
      }));
    });
  return loading;
}

/** What the registry says of a demo's tool, without loading the runtime. @param {string} name */
const describe = async (name) => describeTool(await registryOf(DIST), name);

let cells = 0;
/** @type {Set<string>} tools this page already offers through WebMCP */
const offered = new Set();

/**
 * Offer a demo's tools to the browser's agent when the page opted in: `webmcp` on the element, or
 * `data-webmcp` on the script tag that loads the embed.
 * @param {HTMLElement} element
 * @param {string[]} names
 */
async function offerIfOptedIn(element, names) {
  const context = modelContext();
  const script = [...document.querySelectorAll("script[data-webmcp]")]
    .some((tag) => /** @type {HTMLScriptElement} */ (tag).src === import.meta.url.replace(/elements\.js$/, "embed.js"));
  if (!context || !(element.hasAttribute("webmcp") || script)) return;
  const fresh = names.filter((name) => name && !offered.has(name));
  for (const name of fresh) offered.add(name);
  const tools = await Promise.all(fresh.map((name) => describe(name).then((info) => info.tool)));
  offerTools(context, tools, async (name, args) => (await runtime()).callTool(name, args));
}

/**
 * @typedef {{phase: "idle" | "running" | "done" | "failed", text: string, progress: string,
 *            startedAt: number, elapsedMs: number}} Outcome
 */

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * What a run shows: elapsed time and progress while it runs, then the result or the error.
 * @param {{outcome: Outcome, now: number}} props
 */
function OutcomeView({ outcome, now }) {
  if (outcome.phase === "idle") return null;
  if (outcome.phase === "running") {
    return html`<p class="status" role="status">Running… ${seconds(now - outcome.startedAt)}${outcome.progress ? ` · ${outcome.progress}` : ""}</p>`;
  }
  return html`
    <div class="outcome" data-phase=${outcome.phase}>
      <p class="status">${outcome.phase === "done" ? "Done" : "Failed"} in ${seconds(outcome.elapsedMs)}</p>
      <pre class="result" role=${outcome.phase === "failed" ? "alert" : undefined}>${outcome.text}</pre>
    </div>`;
}

/**
 * What a demo shows of a result: python.run's output as a notebook shows it (stdout, stderr, then
 * the value of the last expression), other structured results as indented JSON, else the text.
 * @param {any} result
 */
export function demoText(result) {
  const structured = result.structuredContent;
  if (result.isError || !structured || typeof structured !== "object") return resultForModel(result);
  if (typeof structured.stdout === "string" && "value" in structured) {
    const parts = [structured.stdout, structured.stderr ?? ""].map((part) => part.replace(/\n$/, "")).filter(Boolean);
    if (structured.value !== null && structured.value !== undefined) parts.push(String(structured.value));
    return parts.join("\n");
  }
  return JSON.stringify(structured, null, 2);
}

const IDLE = /** @type {Outcome} */ ({ phase: "idle", text: "", progress: "", startedAt: 0, elapsedMs: 0 });

/**
 * Run a demo's call, showing its progress and elapsed time, then what it gave; `view.abort`
 * stops it.
 * @param {import("preact").Component<any, any> & {abort: AbortController | null, state: {outcome: Outcome}}} view
 * @param {string} name
 * @param {object} args
 * @param {number | undefined} timeoutMs  the demo's own deadline (its `deadline-ms` attribute)
 */
async function runInto(view, name, args, timeoutMs) {
  if (view.abort) return;
  const abort = new AbortController();
  view.abort = abort;
  const startedAt = Date.now();
  view.setState({ outcome: { ...IDLE, phase: "running", startedAt }, now: startedAt });
  const ticker = setInterval(() => view.setState({ now: Date.now() }), 200);
  /** @type {Outcome["phase"]} */
  let phase = "done";
  let text = "";
  try {
    const result = await (await runtime()).callTool(name, args, {
      signal: abort.signal, ...timeoutMs ? { timeoutMs } : {},
      onProgress: (p) => view.setState({ outcome: { ...view.state.outcome,
        progress: p.message ?? (p.total ? `${p.progress} of ${p.total}` : "") } }),
    });
    text = demoText(result);
    if (result.isError) phase = "failed";
  } catch (error) {
    phase = "failed";
    text = errorText(error);
  } finally {
    clearInterval(ticker);
    view.abort = null;
  }
  view.setState({ outcome: { phase, text, progress: "", startedAt, elapsedMs: Date.now() - startedAt } });
}

/**
 * @typedef {{name: string, args: Record<string, unknown>, timeoutMs?: number}} ToolDemoProps
 * @typedef {{info: import("./embed-registry.js").ToolInfo | null, problem: string, outcome: Outcome, now: number}} ToolDemoState
 * @extends {Component<ToolDemoProps, ToolDemoState>}
 */
class ToolDemo extends Component {
  /** @type {ToolDemoState} */
  state = { info: null, problem: "", outcome: IDLE, now: 0 };
  /** @type {AbortController | null} */
  abort = null;

  /**
   * Chosen files travel as attachments that the form's arguments name by id: put their bytes in.
   * @param {import("../app/mcp-client.js").Tool} tool
   * @param {object} args
   * @param {import("../app/attachments.js").Attachment[]} files
   */
  onRun(tool, args, files) {
    const { args: withFiles, problems } = substituteAttachments(args, tool.inputSchema, (id) => files.find((f) => f.id === id));
    if (problems.length) {
      this.setState({ outcome: { ...IDLE, phase: "failed", text: problems.join("; ") } });
      return;
    }
    runInto(this, tool.name, withFiles, this.props.timeoutMs);
  }

  componentDidMount() {
    describe(this.props.name).then((info) => this.setState({ info }),
      (error) => this.setState({ problem: errorText(error) }));
  }

  render() {
    const { info, problem, outcome, now } = this.state;
    if (problem) return html`<section class="demo"><p class="result" role="alert">${problem}</p></section>`;
    if (!info) return html`<section class="demo" aria-busy="true"><p class="status">Loading ${this.props.name}…</p></section>`;
    const { tool } = info;
    return html`
      <section class="demo" aria-label=${`Try ${tool.name}`}>
        <header>
          <strong class="title">${tool.title ?? tool.name}</strong> <code>${tool.name}</code>
          <span class="badge">${info.runtime === "wasm" ? "WebAssembly" : "Python"}</span>
        </header>
        ${tool.description ? html`<p class="description">${tool.description.split(/\n\s*\n/)[0].replace(/\s+/g, " ")}</p>` : null}
        <${ToolForm} tool=${tool} initial=${this.props.args} running=${outcome.phase === "running"}
          onStop=${() => this.abort?.abort(new Error("stopped by the reader"))}
          onRun=${(/** @type {object} */ args, /** @type {any[]} */ files) => this.onRun(tool, args, files)} />
        <div aria-live="polite"><${OutcomeView} outcome=${outcome} now=${now} /></div>
      </section>`;
  }
}

/**
 * @typedef {{code: string, session: string, timeoutMs?: number}} CellProps
 * @typedef {{code: string, outcome: Outcome, now: number}} CellState
 * @extends {Component<CellProps, CellState>}
 */
class PythonCell extends Component {
  /** @param {CellProps} props */
  constructor(props) {
    super(props);
    /** @type {CellState} */
    this.state = { code: props.code, outcome: IDLE, now: 0 };
    /** @type {AbortController | null} */
    this.abort = null;
  }

  /** @param {KeyboardEvent} event */
  onKey = (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey || event.shiftKey)) {
      event.preventDefault();
      this.runCell();
    }
  };

  runCell() {
    runInto(this, "python.run", { code: this.state.code, session: this.props.session }, this.props.timeoutMs);
  }

  render() {
    const { code, outcome, now } = this.state;
    const running = outcome.phase === "running";
    return html`
      <section class="demo cell" aria-label="Python cell">
        <label class="visually-hidden" for="code">Python code</label>
        <textarea id="code" class="code" spellcheck="false" rows=${Math.max(3, code.split("\n").length)}
          value=${code} onInput=${(/** @type {Event} */ e) => this.setState({ code: /** @type {HTMLTextAreaElement} */ (e.currentTarget).value })}
          onKeyDown=${this.onKey}></textarea>
        <div class="buttons">
          ${running ? html`<button type="button" class="danger" onClick=${() => this.abort?.abort(new Error("stopped by the reader"))}>Stop</button>`
            : html`<button type="button" class="primary" onClick=${() => this.runCell()}>Run</button>`}
          <span class="hint">Shift+Enter runs · variables last between runs of this cell</span>
        </div>
        <div aria-live="polite"><${OutcomeView} outcome=${outcome} now=${now} /></div>
      </section>`;
  }
}

/**
 * A demo element: its shadow root, the embed's styles, and the runtime warmed up as soon as the
 * reader is about to use it.
 */
class DemoElement extends HTMLElement {
  /** @type {IntersectionObserver | null} */
  observer = null;

  /** The tools this demo calls. @returns {string[]} */
  tools() {
    return [];
  }

  /** @returns {any} */
  view() {
    return null;
  }

  /** The demo's own deadline, from `deadline-ms`, if it has a valid one. */
  timeoutMs() {
    const ms = Number(this.getAttribute("deadline-ms"));
    return Number.isInteger(ms) && ms > 0 ? ms : undefined;
  }

  connectedCallback() {
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    render(html`<link rel="stylesheet" href=${STYLES.href} />${this.view()}`, root);
    const warm = () => {
      this.observer?.disconnect();
      this.observer = null;
      runtime().then((embed) => embed.prepare(this.tools())).catch(() => {});  // a failure shows on Run
    };
    this.observer = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) warm(); });
    this.observer.observe(this);
    offerIfOptedIn(this, this.tools()).catch(() => {});  // an unknown tool shows in the demo itself
    this.addEventListener("focusin", warm, { once: true });
    this.addEventListener("pointerdown", warm, { once: true });
  }

  disconnectedCallback() {
    this.observer?.disconnect();
    this.observer = null;
  }
}

export class ClocheTool extends DemoElement {
  tools() {
    return [this.getAttribute("tool") ?? ""];
  }

  view() {
    const name = this.getAttribute("tool") ?? "";
    let args = {};
    try {
      args = JSON.parse(this.getAttribute("args") || "{}");
    } catch (error) {
      return html`<p class="result" role="alert">The args of this ${name} demo are not JSON: ${errorText(error)}</p>`;
    }
    return html`<${ToolDemo} name=${name} args=${args} timeoutMs=${this.timeoutMs()} />`;
  }
}

export class ClochePython extends DemoElement {
  session = `cell-${++cells}`;

  tools() {
    return ["python.run"];
  }

  view() {
    const code = (this.textContent ?? "").replace(/^\n+|\s+$/g, "");
    return html`<${PythonCell} code=${dedent(code)} session=${this.session} timeoutMs=${this.timeoutMs()} />`;
  }
}

/** The code of a cell as written indented in HTML, with the common indent taken away. @param {string} text */
export function dedent(text) {
  const lines = text.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const common = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(common)).join("\n");
}

export function defineElements() {
  if (!customElements.get("cloche-tool")) customElements.define("cloche-tool", ClocheTool);
  if (!customElements.get("cloche-python")) customElements.define("cloche-python", ClochePython);
}
