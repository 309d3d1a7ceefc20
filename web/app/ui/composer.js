// The message box: Enter sends, Shift+Enter breaks the line; Stop ends a running answer. Files can
// be attached (the button, or dropped on the box): the model is told their ids and names, and a
// tool it passes an id to gets the file.
import { html, Component, createRef } from "./html.js";
import { readChosenFile } from "./read-file.js";
import { Paperclip } from "./icons.js";
import { sizeProblem, describeAttachment } from "../attachments.js";

/**
 * @typedef {{name: string, size: number, mediaType: string, base64?: string}} ChosenFile
 * @typedef {{running: boolean, disabled: boolean, placeholder: string,
 *            onSend: (text: string, files: ChosenFile[]) => void, onStop: () => void}} ComposerProps
 * @typedef {{files: ChosenFile[], problem: string}} ComposerState
 * @extends {Component<ComposerProps, ComposerState>}
 */
export class Composer extends Component {
  textarea = createRef();
  state = /** @type {ComposerState} */ ({ files: [], problem: "" });

  send() {
    const box = /** @type {HTMLTextAreaElement} */ (this.textarea.current);
    const { files } = this.state;
    if (this.props.running || this.props.disabled || (!box.value.trim() && !files.length)) return;
    this.props.onSend(box.value, files);
    box.value = "";
    this.setState({ files: [], problem: "" });
  }

  /** @param {FileList | null | undefined} list */
  async attach(list) {
    const chosen = [...list ?? []];
    const refused = chosen.map((file) => sizeProblem(file.name, file.size)).filter(Boolean);
    const read = await Promise.all(chosen.filter((file) => !sizeProblem(file.name, file.size)).map(readChosenFile));
    this.setState({ files: [...this.state.files, ...read], problem: refused.join(" ") });
  }

  /** @param {KeyboardEvent} event */
  onKeyDown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    }
  };

  /** @param {DragEvent} event */
  onDrop = (event) => {
    if (!event.dataTransfer?.files.length || this.props.disabled) return;
    event.preventDefault();
    this.attach(event.dataTransfer.files);
  };

  render() {
    const { running, disabled, placeholder, onStop } = this.props;
    const { files, problem } = this.state;
    return html`
      <form class="composer" onSubmit=${(/** @type {Event} */ e) => { e.preventDefault(); this.send(); }}
        onDragOver=${(/** @type {DragEvent} */ e) => e.preventDefault()} onDrop=${this.onDrop}>
        ${files.length || problem ? html`
          <div class="attachments">
            ${problem ? html`<p class="field-error" role="alert">${problem}</p>` : null}
            <ul aria-label="Attached files">
              ${files.map((file, index) => html`
                <li class="attachment-chip" key=${index}>
                  <span><${Paperclip} /> ${describeAttachment(file)}</span>
                  <button type="button" class="icon" aria-label=${`Remove ${file.name}`}
                    onClick=${() => this.setState({ files: files.filter((_, i) => i !== index) })}>×</button>
                </li>`)}
            </ul>
          </div>` : null}
        <label class="attach secondary" title="Attach files: the model sees their names, and tools it passes them to get the bytes">
          <${Paperclip} /><span class="visually-hidden">Attach files</span>
          <input id="attach-files" type="file" multiple class="visually-hidden" disabled=${disabled}
            onChange=${(/** @type {Event} */ e) => {
              const input = /** @type {HTMLInputElement} */ (e.currentTarget);
              this.attach(input.files).then(() => { input.value = ""; });
            }} />
        </label>
        <label for="message" class="visually-hidden">Message</label>
        <textarea id="message" ref=${this.textarea} rows="2" placeholder=${placeholder}
          disabled=${disabled} onKeyDown=${this.onKeyDown} aria-describedby="composer-hint"></textarea>
        <p id="composer-hint" class="hint">Enter sends · Shift+Enter breaks the line · the clip attaches files (up to 5 MB each)</p>
        ${running
          ? html`<button type="button" class="danger" onClick=${onStop}>Stop</button>`
          : html`<button type="submit" class="primary" disabled=${disabled}>Send</button>`}
      </form>`;
  }
}
