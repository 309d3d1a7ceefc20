"""Browser libraries copied from web/node_modules into dist/vendor/<folder>/, with their licences.

The app has no bundler and no import map (an inline import map would need inline script, which
the page's Content-Security-Policy forbids), so every file listed here must be a standalone ES
module: it may import only relative paths, never a bare specifier such as "preact".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

NODE_MODULES = Path("web/node_modules")
VENDOR_DIST = "vendor/"
# Every licence file a package ships (LICENSE, LICENSE-MIT, LICENSE-MPL, ...) goes beside its code.
LICENSE_PATTERN = "LICENSE*"


@dataclass(frozen=True)
class VendoredPackage:
    """One npm package: `files` (paths or globs inside it) land flat in vendor/<folder>/."""

    name: str
    folder: str
    files: tuple[str, ...]


VENDORED_NPM = (
    VendoredPackage("@bjorn3/browser_wasi_shim", "browser_wasi_shim", ("dist/*.js",)),
    VendoredPackage("preact", "preact", ("dist/preact.mjs",)),
    VendoredPackage("htm", "htm", ("dist/htm.mjs",)),
    VendoredPackage("marked", "marked", ("lib/marked.esm.js",)),
    VendoredPackage("dompurify", "dompurify", ("dist/purify.es.mjs",)),
)


class VendoredFileMissing(Exception):
    def __init__(self, package: str, wanted: Path) -> None:
        super().__init__(package, wanted)
        self.package = package
        self.wanted = wanted

    def __str__(self) -> str:
        return (
            f"npm package {self.package}: {self.wanted} is missing: "
            "run `npm ci` in web/ (scripts/build does it)"
        )


class _Output(Protocol):
    def copy(self, src: Path, relative: str) -> Path: ...


def vendored_files(root: Path, package: VendoredPackage) -> list[tuple[Path, str]]:
    """(source, path in the dist) for each file of `package`; each pattern must match a file."""
    source = root / NODE_MODULES / package.name
    pairs = []
    for pattern in (*package.files, LICENSE_PATTERN):
        found = sorted(p for p in source.glob(pattern) if p.is_file())
        if not found:
            raise VendoredFileMissing(package.name, NODE_MODULES / package.name / pattern)
        pairs += [(path, f"{VENDOR_DIST}{package.folder}/{path.name}") for path in found]
    return pairs


def copy_vendored(root: Path, out: _Output) -> None:
    """Copy every file of VENDORED_NPM into the dist."""
    for package in VENDORED_NPM:
        for src, relative in vendored_files(root, package):
            out.copy(src, relative)
