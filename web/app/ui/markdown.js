// Model output is untrusted: Markdown becomes HTML through marked, then DOMPurify keeps only inert
// markup. Images from elsewhere are not loaded, and links open in a new tab without a referrer.
// @ts-ignore: the build copies marked here; its types come from web/node_modules/marked.
import * as vendoredMarked from "../../vendor/marked/marked.esm.js";
// @ts-ignore: the build copies DOMPurify here; its types come from web/node_modules/dompurify.
import vendoredPurify from "../../vendor/dompurify/purify.es.mjs";

/** @type {typeof import("marked")} */
const { Marked } = vendoredMarked;
/** @type {import("dompurify").DOMPurify} */
const purify = vendoredPurify;

const marked = new Marked({ gfm: true, breaks: true, async: false });

/** @param {string} url */
function isLocal(url) {
  if (/^(data:image\/|blob:)/i.test(url)) return true;
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/**
 * Sanitized HTML for Markdown text. An image from another site becomes a note saying so: it
 * would leak what its URL carries (the page's CSP would refuse it anyway).
 * @param {string} text
 * @returns {string}
 */
export function markdownToHtml(text) {
  const raw = /** @type {string} */ (marked.parse(text));
  const fragment = purify.sanitize(raw, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"], RETURN_DOM_FRAGMENT: true,
  });
  for (const image of fragment.querySelectorAll("img")) {
    const src = image.getAttribute("src") || "";
    if (isLocal(src)) continue;
    const note = document.createElement("span");
    note.className = "blocked-image";
    note.title = src;
    note.textContent = `Image not shown${image.alt ? ` (${image.alt})` : ""}: it is not on this site`;
    image.replaceWith(note);
  }
  const holder = document.createElement("div");
  holder.append(fragment);
  return holder.innerHTML;
}
