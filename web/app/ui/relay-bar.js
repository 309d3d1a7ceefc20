// What the relay offers: the model picker, the token form when the server asks for one, and one
// sentence on how to configure a model when none is.
import { html, Component } from "./html.js";

/**
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function ModelPicker({ state, actions }) {
  const { relay, model } = state;
  if (relay.state !== "ready") return null;
  return html`
    <label class="model-picker">
      <span>Model</span>
      <select value=${model} disabled=${state.runningId !== null}
        onChange=${(/** @type {Event} */ e) => actions.chooseModel(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
        ${relay.models.map((m) => html`<option value=${m}>${m}</option>`)}
      </select>
    </label>`;
}

/**
 * Shown above the message box when the relay cannot be used yet.
 * @param {{state: import("../app-controller.js").AppState,
 *          actions: import("../app-controller.js").AppController}} props
 */
export function RelayNotice({ state, actions }) {
  const { relay } = state;
  if (relay.state === "none") {
    return html`
      <p class="relay-notice" role="status" id="no-model">
        No model is configured on this server yet: start <code>cloche serve</code> with${" "}
        <code>OPENAI_API_KEY</code> or <code>ANTHROPIC_API_KEY</code> set, or with a${" "}
        <code>--config</code> file (see <code>docs/relay.md</code>). Until then, every tool in the${" "}
        Tools panel still works.
      </p>`;
  }
  if (relay.state === "token") return html`<${TokenForm} message=${relay.message} actions=${actions} />`;
  if (relay.state === "error") {
    return html`
      <p class="relay-notice" role="alert">
        The model relay could not be reached: ${relay.message}
        <button type="button" class="secondary" onClick=${() => actions.loadModels()}>Try again</button>
      </p>`;
  }
  return null;
}

/** @extends {Component<{message: string, actions: import("../app-controller.js").AppController}>} */
class TokenForm extends Component {
  /** @param {SubmitEvent} event */
  onSubmit = (event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("relay-token"));
    this.props.actions.saveToken(input.value);
  };

  render() {
    const { message } = this.props;
    return html`
      <form class="relay-notice token-form" onSubmit=${this.onSubmit}>
        <p>This server's model relay needs an access token. Ask its operator for one; it is kept
          only in this tab (session storage).</p>
        <label for="relay-token">Access token</label>
        <input id="relay-token" name="relay-token" type="password" autocomplete="off" required />
        <button type="submit" class="primary">Use token</button>
        ${message ? html`<p class="error" role="alert">${message}</p>` : null}
      </form>`;
  }
}
