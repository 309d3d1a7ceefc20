// Model output is untrusted: Markdown becomes HTML through marked, then DOMPurify keeps only inert
// markup. Images from elsewhere lose their source (the page's CSP would block them anyway), and
// links open in a new tab without a referrer.
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
  if (node.tagName === "IMG") {
    const src = node.getAttribute("src") || "";
    if (!isLocal(src)) {
      node.removeAttribute("src");
      node.removeAttribute("srcset");
      node.setAttribute("data-blocked-src", src);
      node.setAttribute("title", `Image not loaded: ${src} is not on this site`);
    }
  }
});

/**
 * Sanitized HTML for Markdown text.
 * @param {string} text
 * @returns {string}
 */
export function markdownToHtml(text) {
  const raw = /** @type {string} */ (marked.parse(text));
  return purify.sanitize(raw, { FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"] });
}
