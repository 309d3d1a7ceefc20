"""A build output staged beside its folder: swapped in when complete and changed, else untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche_server.staged_folder import StagedFolder


def _state(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "sub").mkdir(parents=True)
    (dist / "index.html").write_text("<p>old</p>")
    (dist / "index.html.gz").write_bytes(b"old twin")
    (dist / "sub" / "a.whl").write_bytes(b"wheel")
    return dist


def test_a_failed_build_leaves_the_folder_as_it_was(dist: Path) -> None:
    before = _state(dist)
    stage = StagedFolder(dist)
    try:
        staging = stage.open()
        (staging / "index.html").unlink()
        (staging / "index.html").write_text("<p>half-built</p>")
        (staging / "sub" / "b.whl").write_bytes(b"new")
        raise RuntimeError("the build failed here")
    except RuntimeError:
        pass
    finally:
        stage.discard()
    assert _state(dist) == before
    assert sorted(p.name for p in dist.parent.iterdir()) == ["dist"]


def test_an_unchanged_build_is_not_swapped_in(dist: Path) -> None:
    before = _state(dist)
    stage = StagedFolder(dist)
    stage.open()
    assert stage.commit() is False
    assert _state(dist) == before  # same inodes: the folder was never replaced
    assert sorted(p.name for p in dist.parent.iterdir()) == ["dist"]


def test_a_changed_build_replaces_the_folder_whole(dist: Path) -> None:
    stage = StagedFolder(dist)
    staging = stage.open()
    assert (staging / "index.html").stat().st_ino == (dist / "index.html").stat().st_ino
    tmp = staging / "index.html.tmp"  # as the build writes: a temporary, renamed over the file
    tmp.write_text("<p>new</p>")
    tmp.replace(staging / "index.html")
    (staging / "index.html.gz").unlink()  # as the build does before rewriting a twin in place
    (staging / "index.html.gz").write_bytes(b"new twin")
    (staging / "sub" / "a.whl").unlink()
    (staging / "b.whl").write_bytes(b"other wheel")
    assert (dist / "index.html").read_text() == "<p>old</p>"
    assert (dist / "index.html.gz").read_bytes() == b"old twin"
    assert stage.commit() is True
    assert {k: v[0] for k, v in _state(dist).items()} == {
        "index.html": b"<p>new</p>",
        "index.html.gz": b"new twin",
        "b.whl": b"other wheel",
    }
    assert sorted(p.name for p in dist.parent.iterdir()) == ["dist"]
    assert stage.final(staging / "b.whl") == dist.resolve() / "b.whl"


def test_a_first_build_creates_the_folder(tmp_path: Path) -> None:
    stage = StagedFolder(tmp_path / "new" / "dist")
    (stage.open() / "x").write_text("x")
    assert stage.commit() is True
    assert (tmp_path / "new" / "dist" / "x").read_text() == "x"


def test_leftovers_of_a_killed_build_are_cleared(dist: Path) -> None:
    leftover = dist.with_name(".dist.staging")
    (leftover / "junk").mkdir(parents=True)
    stage = StagedFolder(dist)
    staging = stage.open()
    assert not (staging / "junk").exists()
    assert stage.commit() is False
    assert not leftover.exists()
