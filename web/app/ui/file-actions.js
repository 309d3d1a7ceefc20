// Export and import of conversations as files: the browser's download and file picker.
import { html } from "./html.js";

/**
 * Hand `text` to the browser as a file download.
 * @param {{name: string, type: string, text: string} | null} file
 */
export function download(file) {
  if (!file) return;
  const url = URL.createObjectURL(new Blob([file.text], { type: file.type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = file.name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Export buttons for the current conversation.
 * @param {{actions: import("../app-controller.js").AppController, disabled: boolean}} props
 */
export function ExportButtons({ actions, disabled }) {
  return html`
    <div class="export" role="group" aria-label="Export this conversation">
      <button type="button" class="secondary small" disabled=${disabled}
        onClick=${() => download(actions.exportConversation("markdown"))}>Export Markdown</button>
      <button type="button" class="secondary small" disabled=${disabled}
        onClick=${() => download(actions.exportConversation("json"))}>Export JSON</button>
    </div>`;
}

/**
 * A button that picks an exported JSON file and imports it as a new conversation.
 * @param {{actions: import("../app-controller.js").AppController}} props
 */
export function ImportButton({ actions }) {
  /** @param {Event} event */
  const onPick = async (event) => {
    const input = /** @type {HTMLInputElement} */ (event.currentTarget);
    const file = input.files?.[0];
    input.value = "";
    if (file) await actions.importConversation(file.name, await file.text());
  };
  return html`
    <label class="import secondary button-like">
      Import conversation…
      <input type="file" accept=".json,application/json" class="visually-hidden" onChange=${onPick} />
    </label>`;
}
