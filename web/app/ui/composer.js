// The message box: Enter sends, Shift+Enter breaks the line; Stop ends a running answer.
import { html, Component, createRef } from "./html.js";

/**
 * @typedef {{running: boolean, disabled: boolean, placeholder: string,
 *            onSend: (text: string) => void, onStop: () => void}} ComposerProps
 * @extends {Component<ComposerProps>}
 */
export class Composer extends Component {
  textarea = createRef();

  send() {
    const box = /** @type {HTMLTextAreaElement} */ (this.textarea.current);
    if (this.props.running || this.props.disabled || !box.value.trim()) return;
    this.props.onSend(box.value);
    box.value = "";
  }

  /** @param {KeyboardEvent} event */
  onKeyDown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    }
  };

  render() {
    const { running, disabled, placeholder, onStop } = this.props;
    return html`
      <form class="composer" onSubmit=${(/** @type {Event} */ e) => { e.preventDefault(); this.send(); }}>
        <label for="message" class="visually-hidden">Message</label>
        <textarea id="message" ref=${this.textarea} rows="2" placeholder=${placeholder}
          disabled=${disabled} onKeyDown=${this.onKeyDown} aria-describedby="composer-hint"></textarea>
        <p id="composer-hint" class="hint">Enter sends · Shift+Enter breaks the line</p>
        ${running
          ? html`<button type="button" class="danger" onClick=${onStop}>Stop</button>`
          : html`<button type="submit" class="primary" disabled=${disabled}>Send</button>`}
      </form>`;
  }
}
