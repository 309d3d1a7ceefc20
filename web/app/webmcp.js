// WebMCP: where the browser offers its built-in agent the tools a page registers
// (`document.modelContext` in the current W3C draft, `navigator.modelContext` in older builds), a
// page that opts in offers Cloche's tools there. A call goes through the same host as any other:
// the same deadlines, limits and grants. Feature-detected: nothing happens where the API is absent.

/**
 * The page's model context, or null where the browser has none.
 * @param {any} [scope]
 * @returns {{registerTool(tool: object, options?: {signal?: AbortSignal}): unknown} | null}
 */
export function modelContext(scope = globalThis) {
  return scope.document?.modelContext ?? scope.navigator?.modelContext ?? null;
}

/**
 * Offer tools to the browser's agent until `signal` aborts. A tool's call resolves to its MCP
 * result; a call the host refused or ended (invalid arguments, a deadline) resolves to an error
 * result saying why, as the agent UI tells its model, since WebMCP passes a thrown error on as
 * "the invocation failed" and nothing more.
 * @param {NonNullable<ReturnType<typeof modelContext>>} context
 * @param {{name: string, title?: string, description?: string, inputSchema?: any, annotations?: any}[]} tools
 * @param {(name: string, args: object) => Promise<any>} call
 * @param {AbortSignal} [signal]
 */
export function offerTools(context, tools, call, signal) {
  for (const tool of tools) {
    context.registerTool({
      name: tool.name,
      description: tool.description || tool.title || tool.name,
      inputSchema: tool.inputSchema ?? { type: "object" },
      annotations: { readOnlyHint: tool.annotations?.readOnlyHint === true },
      execute: (/** @type {object | undefined} */ input) => call(tool.name, input ?? {}).catch((error) => ({
        content: [{ type: "text", text: error instanceof Error ? error.message : String(error) }], isError: true,
      })),
    }, signal ? { signal } : undefined);
  }
}
