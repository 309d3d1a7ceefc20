"""The vendored browser libraries: standalone ES modules, each with its licence, and a missing one
named with what to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wasm_helpers import ROOT

from cloche_server.vendored_npm import (
    VENDORED_NPM,
    VendoredFileMissing,
    VendoredPackage,
    copy_vendored,
    vendored_files,
)

# Static and dynamic imports and re-exports: `from "x"`, `import "x"`, `import("x")`.
SPECIFIER = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")


class Recorder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.copied: dict[str, Path] = {}

    def copy(self, src: Path, relative: str) -> Path:
        self.copied[relative] = src
        dst = self.root / relative
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        return dst


def test_the_ui_libraries_and_the_shim_land_under_vendor_with_their_licences(
    tmp_path: Path,
) -> None:
    out = Recorder(tmp_path)
    copy_vendored(ROOT, out)
    for relative in (
        "vendor/preact/preact.mjs",
        "vendor/htm/htm.mjs",
        "vendor/marked/marked.esm.js",
        "vendor/dompurify/purify.es.mjs",
        "vendor/browser_wasi_shim/index.js",
    ):
        assert (tmp_path / relative).read_bytes() == out.copied[relative].read_bytes()
    for package in VENDORED_NPM:
        licences = list((tmp_path / "vendor" / package.folder).glob("LICENSE*"))
        assert licences, f"{package.name} has no licence beside it"


def test_every_vendored_module_imports_only_relative_paths() -> None:
    # The page has no import map (it would be inline script), so a bare specifier cannot resolve.
    for package in VENDORED_NPM:
        for src, relative in vendored_files(ROOT, package):
            if src.suffix not in (".js", ".mjs"):
                continue
            specifiers = SPECIFIER.findall(src.read_text(encoding="utf-8"))
            bare = [s for s in specifiers if not s.startswith(("./", "../", "/"))]
            assert bare == [], f"{relative} imports {bare}"


def test_a_missing_file_names_the_package_and_says_to_run_npm_ci(tmp_path: Path) -> None:
    package = VendoredPackage("preact", "preact", ("dist/preact.mjs",))
    (tmp_path / "web" / "node_modules" / "preact" / "dist").mkdir(parents=True)
    with pytest.raises(VendoredFileMissing) as caught:
        vendored_files(tmp_path, package)
    message = str(caught.value)
    assert "npm package preact" in message
    assert "web/node_modules/preact/dist/preact.mjs is missing" in message
    assert "run `npm ci` in web/" in message


def test_a_package_without_a_licence_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "web" / "node_modules" / "htm" / "dist"
    folder.mkdir(parents=True)
    (folder / "htm.mjs").write_text("export default 1;\n")
    package = VendoredPackage("htm", "htm", ("dist/htm.mjs",))
    with pytest.raises(VendoredFileMissing, match=r"htm/LICENSE\* is missing"):
        vendored_files(tmp_path, package)
