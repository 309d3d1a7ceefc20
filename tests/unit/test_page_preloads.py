"""The app page's modulepreload links: the static import graph of its module script."""

from __future__ import annotations

from pathlib import Path

from cloche_server.page_preloads import module_graph, with_preloads


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_graph_follows_static_imports_across_folders_once(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/main.js": 'import { a } from "./a.js";\nimport "./side.js";\n'
            'export { b } from "./ui/b.js";\nconst lazy = () => import("./lazy.js");\n',
            "app/a.js": 'import {\n  x,\n  y,\n} from "../vendor/lib.mjs";\n'
            'import { b } from "./ui/b.js";\n',
            "app/side.js": "",
            "app/ui/b.js": 'import "../a.js";\nimport "https://cdn.example.org/x.js";\n',
            "app/lazy.js": "",
            "vendor/lib.mjs": 'import "./missing.mjs";\n',
        },
    )
    assert module_graph(tmp_path, "app/main.js") == [
        "app/main.js",
        "app/a.js",
        "app/side.js",
        "app/ui/b.js",
        "vendor/lib.mjs",
    ]


def test_an_import_out_of_the_root_is_left_out(tmp_path: Path) -> None:
    _write(tmp_path, {"main.js": 'import "../../etc/passwd.js";\n'})
    assert module_graph(tmp_path, "main.js") == ["main.js"]


def test_the_links_go_before_the_module_script(tmp_path: Path) -> None:
    _write(tmp_path, {"app/main.js": 'import "./a.js";\n', "app/a.js": ""})
    page = '<head>\n    <script type="module" src="app/main.js"></script>\n  </head>'
    assert with_preloads(page, tmp_path) == (
        '<head>\n    <link rel="modulepreload" href="app/a.js">\n'
        '    <script type="module" src="app/main.js"></script>\n  </head>'
    )


def test_the_dist_page_preloads_what_its_script_imports(tmp_path: Path) -> None:
    dist = Path(__file__).resolve().parents[2] / "dist"
    page = (dist / "index.html").read_text()
    assert '<link rel="modulepreload" href="app/worker-host.js">' in page
    assert '<link rel="modulepreload" href="vendor/preact/preact.mjs">' in page
    assert "pyodide.asm.wasm" not in page
