// The docs embed's JavaScript, bundled and minified the way a site could ship it (esbuild, with
// the dynamic imports split off), without the runtimes themselves (Pyodide, the worker scripts,
// the WASM modules):
//   - what a page loads to show its demos (the elements, the form, Preact and htm): target at most
//     50 KB (issue 16); reported, not enforced;
//   - the runtime's page side (WorkerHost, the protocol, the policy frame), loaded when a demo is
//     first about to be used.
//   node scripts/bench_embed_size.mjs [--json]   (--json: {"first", "runtime", "total", "target"} in bytes)
import { build } from "esbuild";

const TARGET_BYTES = 50 * 1024;
// The app imports Preact and htm from dist/vendor/; here they come from web/node_modules.
const vendored = {
  name: "vendored",
  setup(/** @type {import("esbuild").PluginBuild} */ b) {
    b.onResolve({ filter: /vendor\/(preact|htm)\// }, (args) => ({
      path: new URL(args.path.includes("preact") ? "../web/node_modules/preact/dist/preact.mjs"
        : "../web/node_modules/htm/dist/htm.mjs", import.meta.url).pathname,
    }));
  },
};
const result = await build({
  entryPoints: ["web/embed/embed.js"], bundle: true, minify: true, format: "esm", splitting: true,
  outdir: "embed-size", write: false, plugins: [vendored], metafile: true, logLevel: "silent",
});
const kb = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, output]) => output.entryPoint === "web/embed/embed.js");
if (!entry) throw new Error("esbuild made no entry chunk");
// The entry and the chunks it imports statically: what the page loads before any demo is used.
const initial = new Set([entry[0]]);
for (const [path, output] of outputs) {
  if (initial.has(path)) for (const i of output.imports) if (i.kind === "import-statement") initial.add(i.path);
}
const size = (/** @type {string[]} */ paths) => paths.reduce((sum, p) => sum + result.metafile.outputs[p].bytes, 0);
const first = size([...initial]);
const total = size(outputs.map(([path]) => path));
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ first, runtime: total - first, total, target: TARGET_BYTES }));
  process.exit(0);
}
console.log(`docs embed, minified                          size   target`);
console.log(`to show the demos (elements, form, Preact) ${kb(first).padStart(9)}   <= ${kb(TARGET_BYTES)}`);
console.log(`the runtime's page side, at first use      ${kb(total - first).padStart(9)}`);
console.log(`all of it                                  ${kb(total).padStart(9)}`);
