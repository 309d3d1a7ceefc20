// The docs embed's own JavaScript, bundled and minified the way a site could ship it (esbuild),
// without the runtimes (Pyodide, the worker scripts, the WASM modules): its size and its largest
// parts. Target: at most 50 KB (issue 16); reported, not enforced.
//   node scripts/bench_embed_size.mjs
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
  entryPoints: ["web/embed/embed.js"], bundle: true, minify: true, format: "esm", write: false,
  plugins: [vendored], metafile: true, logLevel: "silent",
});
const size = result.outputFiles[0].contents.length;
const inputs = Object.values(result.metafile.outputs)[0].inputs;
const kb = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`docs embed, minified               ${kb(size).padStart(9)}   target <= ${kb(TARGET_BYTES)}`);
for (const [path, input] of Object.entries(inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 6)) {
  console.log(`  ${path.replace(/^web\/(node_modules\/)?/, "").padEnd(33)} ${kb(input.bytesInOutput).padStart(9)}`);
}
