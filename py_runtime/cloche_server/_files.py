"""File helpers for an incremental build: write only what changed, compress once."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

# Files worth serving precompressed. Wheels and zips are deflated already; the build repacks
# python_stdlib.zip stored and precompresses it by name (stdlib_repack.py, build.py).
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".svg", ".wasm", ".map", ".txt"}
COMPRESSED_SUFFIXES = (".br", ".gz")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_content(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return sha256_file(a) == sha256_file(b)


def copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy src to dst unless dst already holds the same bytes. Returns whether it wrote."""
    if same_content(src, dst):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)
    return True


def write_if_changed(dst: Path, data: bytes) -> bool:
    if dst.is_file() and dst.read_bytes() == data:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(dst)
    return True


def precompress(path: Path) -> list[Path]:
    """Write path.br and path.gz beside path when missing or older than path.

    Brotli at quality 11 is slow (about 30 s for the 9.6 MB Pyodide wasm), so it runs only when the
    source is newer than its compressed twin, which an unchanged source never is.
    """
    outputs = [path.with_name(path.name + suffix) for suffix in COMPRESSED_SUFFIXES]
    source_mtime = path.stat().st_mtime_ns
    stale = [p for p in outputs if not p.is_file() or p.stat().st_mtime_ns < source_mtime]
    if stale:
        data = path.read_bytes()
        for out in stale:
            compressed = _brotli(data) if out.suffix == ".br" else _gzip(data)
            # A compressed twin that is not smaller is useless: the server then sends the original.
            if len(compressed) < len(data):
                out.write_bytes(compressed)
            else:
                out.unlink(missing_ok=True)
    return [p for p in outputs if p.is_file()]


def _brotli(data: bytes) -> bytes:
    import brotli

    compressed: bytes = brotli.compress(data, quality=11)
    return compressed


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def remove_unlisted(root: Path, keep: set[Path]) -> list[Path]:
    """Delete files below root that the build did not produce this time."""
    removed = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path not in keep:
            path.unlink()
            removed.append(path)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
