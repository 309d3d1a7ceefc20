// The control: Pyodide in a plain module worker, booted the way Cloche's Python worker boots, but
// served without the workers' Content-Security-Policy and never locked down. Every escape case
// runs here first and must get out, or the case could not catch anything.
// It runs from a blob: URL, so it is given the page's origin to find the runtime's files.

self.addEventListener("message", async (event) => {
  if (event.data?.type === "boot") {
    try {
      const { origin, wheel } = event.data;
      const { bootPyodide } = await import(`${origin}/workers/pyodide-boot.js`);
      const { pyodide } = await bootPyodide(new URL("/build-info.json", origin), ["micropip", "cloche"], () => {});
      pyodide.FS.writeFile(`/tmp/${wheel.fileName}`, Uint8Array.from(atob(wheel.base64), (c) => c.charCodeAt(0)));
      await pyodide.runPythonAsync(`import micropip\nawait micropip.install("emfs:/tmp/${wheel.fileName}", deps=False)`);
      self.runCase = pyodide.pyimport("cloche_hostile_tools").run_case;
      self.postMessage({ type: "ready" });
    } catch (error) {
      self.postMessage({ type: "failed", message: String(error) });
    }
  } else if (event.data?.type === "case") {
    try {
      const outcome = await self.runCase(event.data.case, event.data.target);
      self.postMessage({ type: "outcome", id: event.data.id, outcome: outcome.toJs({ dict_converter: Object.fromEntries }) });
    } catch (error) {
      self.postMessage({ type: "outcome", id: event.data.id, outcome: { completed: false, detail: `the control failed: ${error}` } });
    }
  }
});
