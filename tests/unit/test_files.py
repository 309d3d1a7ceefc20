"""Build file helpers: nothing is rewritten that did not change."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli

from cloche_server._files import copy_if_changed, precompress, remove_unlisted, write_if_changed


def test_copy_if_changed_leaves_identical_files_alone(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.txt", tmp_path / "out" / "a.txt"
    src.write_text("one")
    assert copy_if_changed(src, dst)
    before = dst.stat().st_mtime_ns
    assert not copy_if_changed(src, dst)
    assert dst.stat().st_mtime_ns == before
    src.write_text("two")
    assert copy_if_changed(src, dst)
    assert dst.read_text() == "two"


def test_write_if_changed(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    assert write_if_changed(path, b"{}")
    assert not write_if_changed(path, b"{}")
    assert write_if_changed(path, b"[]")


def test_precompress_writes_twins_once(tmp_path: Path) -> None:
    path = tmp_path / "app.js"
    data = b"console.log('hello');\n" * 500
    path.write_bytes(data)
    twins = precompress(path)
    assert sorted(p.name for p in twins) == ["app.js.br", "app.js.gz"]
    assert brotli.decompress((tmp_path / "app.js.br").read_bytes()) == data
    assert gzip.decompress((tmp_path / "app.js.gz").read_bytes()) == data
    mtimes = [p.stat().st_mtime_ns for p in twins]
    precompress(path)
    assert [p.stat().st_mtime_ns for p in twins] == mtimes


def test_precompress_skips_twins_that_would_not_be_smaller(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_bytes(b"1")
    assert precompress(path) == []


def test_remove_unlisted(tmp_path: Path) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("k")
    stale = tmp_path / "old" / "stale.txt"
    stale.parent.mkdir()
    stale.write_text("s")
    assert remove_unlisted(tmp_path, {keep}) == [stale]
    assert keep.is_file()
    assert not stale.parent.exists()
