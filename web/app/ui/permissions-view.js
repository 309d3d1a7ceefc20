// What packages may reach beyond their sandbox, shown to the user: the lines under a package in
// the palette, the runtime panel and the approval prompt; the question asked before a package's
// first use or install; and the one list where every grant is seen and revoked (Permissions).
import { html, Component, createRef } from "./html.js";
import { permissionLines } from "../permissions.js";

/**
 * @typedef {import("../app-controller.js").AppState} AppState
 * @typedef {import("../app-controller.js").AppController} Actions
 * @typedef {import("../app-controller.js").PackageState} PackageState
 */

export const GRANT_TEXT = {
  none: "", allowed: "Allowed", denied: "Not allowed", ask: "Asks on first use",
};

/**
 * The package that offers a tool, by the tool's qualified name.
 * @param {AppState} state
 * @param {string} tool
 */
export function packageOfTool(state, tool) {
  return state.packages.find((p) => p.tools.includes(tool));
}

/**
 * A package's permissions as short lines, with where the user stands on them.
 * @param {{pkg: PackageState | undefined, limits?: boolean}} props
 */
export function PermissionLines({ pkg, limits = false }) {
  const lines = pkg ? permissionLines(pkg.permissions, { limits }) : [];
  if (!pkg || !lines.length) return null;
  return html`
    <ul class="permission-lines" aria-label="What ${pkg.name} may reach" data-grant=${pkg.grant}>
      ${lines.map((line) => html`<li>${line}</li>`)}
      ${pkg.grant !== "none" ? html`<li class="grant-state">${GRANT_TEXT[pkg.grant]}</li>` : null}
    </ul>`;
}

/**
 * The question before a package that wants network or storage is first used or installed, in a
 * modal dialog; Escape answers "Don't allow".
 * @param {{state: AppState, actions: Actions}} props
 */
export function ConsentDialog({ state, actions }) {
  const prompt = state.consent;
  return prompt ? html`<${ConsentQuestion} key=${`${prompt.name}@${prompt.version}`} prompt=${prompt} actions=${actions} />` : null;
}

/**
 * @typedef {{prompt: import("../app-controller.js").ConsentPrompt, actions: Actions}} QuestionProps
 * @extends {Component<QuestionProps>}
 */
class ConsentQuestion extends Component {
  dialog = createRef();

  componentDidMount() {
    /** @type {HTMLDialogElement} */ (this.dialog.current).showModal();
  }

  render() {
    const { prompt, actions } = this.props;
    const all = permissionLines(prompt.permissions);
    const added = permissionLines(prompt.added);
    const earlier = prompt.previous;
    return html`
      <dialog class="consent" ref=${this.dialog} aria-labelledby="consent-heading"
        onCancel=${(/** @type {Event} */ event) => { event.preventDefault(); actions.decideConsent("deny"); }}>
        <h2 id="consent-heading">Allow <code>${prompt.name}</code> ${prompt.version} to reach beyond its sandbox?</h2>
        ${earlier ? html`
          <p>You ${earlier.decision === "allow" ? "allowed" : "did not allow"} version ${earlier.version}. This version asks for more:</p>
          <ul class="permission-lines added" aria-label="New in this version">${added.map((line) => html`<li>${line}</li>`)}</ul>
          <p>Everything it asks for:</p>` : html`<p>This package's tools ask for:</p>`}
        <ul class="permission-lines" aria-label="What it asks for">${all.map((line) => html`<li>${line}</li>`)}</ul>
        <p class="consent-note">Its requests go through this page and this site's server, which allow nothing else.
          Not allowed, its tools still run, and whatever needs this fails with an error. You can change your
          answer under <strong>Permissions</strong> in the Tools panel.</p>
        <div class="buttons">
          <button type="button" class="primary" onClick=${() => actions.decideConsent("allow")}>Allow</button>
          <button type="button" class="danger" onClick=${() => actions.decideConsent("deny")}>Don't allow</button>
        </div>
      </dialog>`;
  }
}

/**
 * Every package that asks for network or storage, with the user's answer: revoke, allow again,
 * or clear what it stored.
 * @param {{state: AppState, actions: Actions}} props
 */
export function PermissionsView({ state, actions }) {
  const asking = state.packages.filter((p) => p.grant !== "none");
  return html`
    <section id="permissions" class="permissions" aria-labelledby="permissions-heading">
      <h2 id="permissions-heading">Permissions</h2>
      ${asking.length ? html`
        <ul class="grants">
          ${asking.map((pkg) => html`
            <li class="grant" key=${pkg.name} data-package=${pkg.name} data-grant=${pkg.grant}>
              <span class="package-label"><span class="package-name">${pkg.name}</span>${" "}
                <span class="package-meta">${pkg.version} · ${GRANT_TEXT[pkg.grant]}</span></span>
              <div class="buttons">
                ${pkg.grant === "allowed"
                  ? html`<button type="button" class="secondary small" aria-label="Revoke ${pkg.name}"
                      onClick=${() => actions.revokePackage(pkg.name)}>Revoke</button>`
                  : html`<button type="button" class="secondary small" aria-label="Allow ${pkg.name}"
                      onClick=${() => actions.allowPackage(pkg.name)}>Allow</button>`}
                ${pkg.permissions.storage ? html`<button type="button" class="secondary small"
                  aria-label="Clear the store of ${pkg.name}" title="Deletes what this package kept on this browser"
                  onClick=${() => actions.clearPackageStore(pkg.name)}>Clear store</button>` : null}
              </div>
              <ul class="permission-lines">${permissionLines(pkg.permissions).map((line) => html`<li>${line}</li>`)}</ul>
            </li>`)}
        </ul>` : html`<p class="package none">No package asks for network or storage.</p>`}
      ${state.webmcp !== "absent" ? html`
        <label class="webmcp">
          <input type="checkbox" checked=${state.webmcp === "on"}
            onChange=${(/** @type {Event} */ e) => actions.setWebMcp(/** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
          Offer these tools to this browser's own agent (WebMCP)
        </label>` : null}
    </section>`;
}
