// What an error says, for a person: its message, or the thrown value as text.

/** @param {unknown} error */
export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
