// A file the user chose (a form's file field, or an attachment to the chat), read in the page.
import { sizeProblem, bytesToBase64 } from "../attachments.js";

/**
 * The file's name, type, size and bytes as base64; one over the size cap is not read at all
 * (its `base64` stays unset, and the form or the chat says why).
 * @param {File} file
 * @returns {Promise<{name: string, size: number, mediaType: string, base64?: string}>}
 */
export async function readChosenFile(file) {
  const about = { name: file.name, size: file.size, mediaType: file.type || "application/octet-stream" };
  if (sizeProblem(file.name, file.size)) return about;
  return { ...about, base64: bytesToBase64(new Uint8Array(await file.arrayBuffer())) };
}
