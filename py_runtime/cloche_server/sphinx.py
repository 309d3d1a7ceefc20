"""Sphinx extension: live Cloche demos in documentation (`pip install 'cloche[sphinx]'`).

In conf.py: `extensions = ["cloche_server.sphinx"]` and, optionally, `cloche_dist = "path/to/dist"`
(relative to conf.py; default: the checkout's dist/, else the one packaged in the cloche wheel).

    .. cloche-tool:: hash.sha256
       :args: {"text": "hello"}
       :deadline-ms: 5000

    .. cloche-python::

       print(6 * 7)

Each directive becomes a `<cloche-tool>` or `<cloche-python>` element; pages that use one load
`_static/cloche/embed/embed.js`, and the HTML builders copy the dist there once per build.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

from cloche import __version__

from ._files import COMPRESSED_SUFFIXES, copy_if_changed

# Under the HTML output's _static/, where Sphinx's own assets are.
STATIC_FOLDER = "cloche"
EMBED_SCRIPT = f"{STATIC_FOLDER}/embed/embed.js"
TOOL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# Marks the raw nodes this extension makes, so a page that holds one gets the script tag.
MARKER = "cloche_demo"


def _attributes(values: dict[str, str | None]) -> str:
    parts = []
    for name, value in values.items():
        parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    return " ".join(parts)


def _common(options: dict[str, Any]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    if "deadline-ms" in options:
        values["deadline-ms"] = str(options["deadline-ms"])
    if "webmcp" in options:
        values["webmcp"] = None
    return values


def _demo(markup: str) -> nodes.raw:
    node = nodes.raw("", markup, format="html")
    node[MARKER] = True
    return node


class ClocheTool(SphinxDirective):
    """`.. cloche-tool:: package.tool`; `:args:` (a JSON object), `:deadline-ms:`, `:webmcp:`."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {
        "args": directives.unchanged,
        "deadline-ms": directives.positive_int,
        "webmcp": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        tool = self.arguments[0]
        if not TOOL_NAME.match(tool):
            raise self.error(f"cloche-tool: {tool!r} is not a tool name like hash.sha256")
        values: dict[str, str | None] = {"tool": tool}
        if "args" in self.options:
            text = self.options["args"] or ""
            try:
                args = json.loads(text)
            except json.JSONDecodeError as error:
                raise self.error(
                    f"cloche-tool {tool}: :args: is not valid JSON ({error}): {text}"
                ) from None
            if not isinstance(args, dict):
                raise self.error(f"cloche-tool {tool}: :args: must be a JSON object, not {text}")
            values["args"] = json.dumps(args, ensure_ascii=False)
        values.update(_common(self.options))
        return [_demo(f"<cloche-tool {_attributes(values)}></cloche-tool>")]


class ClochePython(SphinxDirective):
    """`.. cloche-python::` whose content is the cell's code; `:deadline-ms:`, `:webmcp:`."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "deadline-ms": directives.positive_int,
        "webmcp": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        self.assert_has_content()
        code = html.escape("\n".join(self.content), quote=False)
        attributes = _attributes(_common(self.options))
        opening = f"<cloche-python {attributes}>" if attributes else "<cloche-python>"
        return [_demo(f"{opening}{code}</cloche-python>")]


def dist_folder(app: Sphinx) -> Path:
    """The dist to copy: `cloche_dist` of conf.py, else the checkout's or the packaged one."""
    from .dist_location import DistNotFound, default_dist

    configured = app.config.cloche_dist
    try:
        folder = Path(app.confdir, configured) if configured else default_dist(Path(app.confdir))
    except DistNotFound as error:
        raise ExtensionError(f"cloche: {error}; or set cloche_dist in conf.py") from None
    if not (folder / "embed" / "embed.js").is_file():
        raise ExtensionError(
            f"cloche: {folder} is not a built Cloche dist (it has no embed/embed.js): run "
            "`cloche build`, or set cloche_dist in conf.py to a folder it made"
        )
    return folder


def _check_dist(app: Sphinx) -> None:
    if app.builder.format == "html":
        dist_folder(app)


def _add_script(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if doctree is not None and any(n.get(MARKER) for n in doctree.findall(nodes.raw)):
        app.add_js_file(EMBED_SCRIPT, type="module")


def _copy_dist(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = dist_folder(app)
    target = Path(app.outdir) / "_static" / STATIC_FOLDER
    # The precompressed twins are for `cloche serve`; a docs host compresses on its own.
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix not in COMPRESSED_SUFFIXES:
            copy_if_changed(path, target / path.relative_to(source))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("cloche_dist", None, "html", types=(str, type(None)))
    app.add_directive("cloche-tool", ClocheTool)
    app.add_directive("cloche-python", ClochePython)
    app.connect("builder-inited", _check_dist)
    app.connect("html-page-context", _add_script)
    app.connect("build-finished", _copy_dist)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
