// The Python worker's entry: boot Pyodide on the first message, then report ready or failed.
import { bootPyodide, describePython, BootError } from "./pyodide-boot.js";

const PACKAGES = ["micropip", "cloche"];

/** @param {any} message */
const post = (message) => self.postMessage(message);

self.addEventListener("message", async (/** @type {MessageEvent} */ event) => {
  if (event.data?.type !== "boot") return;
  try {
    const base = new URL(event.data.buildInfoURL);
    const pyodide = await bootPyodide(event.data.buildInfo, base, PACKAGES, (progress) =>
      post({ type: "progress", ...progress }));
    post({
      type: "ready",
      ...describePython(pyodide),
      crossOriginIsolated: self.crossOriginIsolated,
    });
  } catch (error) {
    const phase = error instanceof BootError ? error.phase : "boot";
    post({ type: "failed", phase, message: String(error instanceof Error ? error.message : error) });
  }
}, { once: true });
