"""The app page's modulepreload links, written into dist/index.html by the build.

Without them the browser finds the app's modules one level of imports at a time (each a
revalidation, since they are served `no-cache`); with them it asks for all of them while it parses
the HTML. Pyodide's WebAssembly is not preloaded: Chromium then compiled the preloaded response
without its code cache, and the background compile slowed the workers' start by about 0.5 s here.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

# `import ... from "x"`, `export ... from "x"` and `import "x"`: the static imports a module graph
# is made of (dynamic import() is left out: it loads when used). Only relative specifiers are
# followed; a match inside a comment at worst preloads a file the page has.
_STATIC_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']"""
    r"""|^\s*import\s*["'](\.{1,2}/[^"']+)["']""",
    re.MULTILINE,
)
_MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"></script>')


def module_graph(root: Path, entry: str) -> list[str]:
    """Every module `entry` imports statically, transitively, as paths relative to `root`, in the
    order they are found; files that are not in `root` are left out."""
    found: list[str] = []
    queue = [PurePosixPath(entry)]
    seen = {queue[0]}
    while queue:
        module = queue.pop(0)
        path = root / module
        if not path.is_file():
            continue
        found.append(str(module))
        for match in _STATIC_IMPORT.finditer(path.read_text(encoding="utf-8")):
            target = _normalize(module.parent / (match.group(1) or match.group(2)))
            if target is not None and target not in seen:
                seen.add(target)
                queue.append(target)
    return found


def _normalize(path: PurePosixPath) -> PurePosixPath | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None  # outside the dist
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def with_preloads(html: str, root: Path) -> str:
    """`html` with a modulepreload link for every module its module script imports (the modules
    found in `root`), before that script."""
    script = _MODULE_SCRIPT.search(html)
    if script is None:
        return html
    modules = module_graph(root, script.group(1))[1:]  # the entry itself loads by its script tag
    indent = html[html.rfind("\n", 0, script.start()) + 1 : script.start()]
    links = [f'<link rel="modulepreload" href="{module}">' for module in modules]
    block = "".join(f"{link}\n{indent}" for link in links)
    return html[: script.start()] + block + html[script.start() :]
