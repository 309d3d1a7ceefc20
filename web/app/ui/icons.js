// Icons drawn inline, so that they show without an emoji font and take the text's colour.
import { html } from "./html.js";

/** A paper clip: attached files. */
export function Paperclip() {
  return html`<svg class="icon-svg" viewBox="0 0 24 24" width="1em" height="1em" aria-hidden="true" focusable="false"
    fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    <path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8" />
  </svg>`;
}
