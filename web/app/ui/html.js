// The UI's one seam to its library: Preact's renderer with htm's tagged templates, both vendored
// into dist/vendor/ by the build (standalone ES modules: no bundler, no import map).
// @ts-ignore: the build copies preact here; its types come from web/node_modules/preact.
import * as vendoredPreact from "../../vendor/preact/preact.mjs";
// @ts-ignore: the build copies htm here; its types come from web/node_modules/htm.
import vendoredHtm from "../../vendor/htm/htm.mjs";

/** @type {typeof import("preact")} */
const preact = vendoredPreact;
/** @type {typeof import("htm").default} */
const htm = vendoredHtm;

export const { render, Component, createRef } = preact;
export const html = htm.bind(preact.h);
