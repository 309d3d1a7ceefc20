"""scratchDir under CPython: an empty, writable folder for one call, removed after it, and no
other file system; without scratchDir, no file system at all (docs/wasm-tools.md)."""

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import pytest
from wasm_helpers import FIXTURES

from cloche.wasm_manifest import load_manifest
from cloche_server.wasm import ToolFailed, WasmPackage

SCRATCH = FIXTURES / "scratch" / "manifest.json"


@pytest.fixture(scope="module")
def scratch() -> WasmPackage:
    return WasmPackage.load(SCRATCH)


def package_with(scratch_dir: str | None) -> WasmPackage:
    manifest = dataclasses.replace(load_manifest(SCRATCH), scratch_dir=scratch_dir)
    return WasmPackage(manifest, (SCRATCH.parent / manifest.module).read_bytes())


def test_a_tool_writes_a_file_and_reads_it_back_within_one_call(scratch: WasmPackage) -> None:
    text = "héllo\nwörld " * 1000
    assert scratch.call("write", {"path": "/tmp/note.txt", "text": text}) == {
        "path": "/tmp/note.txt",
        "text": text,
    }


def test_every_call_starts_with_an_empty_scratch_dir(scratch: WasmPackage) -> None:
    assert scratch.call("list", {"path": "/tmp"}) == {"names": []}
    scratch.call("write", {"path": "/tmp/note.txt", "text": "first call"})
    assert scratch.call("read", {"path": "/tmp/note.txt"}) == {
        "found": False,
        "reason": "No such file or directory",
    }
    assert scratch.call("list", {"path": "/tmp"}) == {"names": []}


def test_the_host_folder_is_removed_after_the_call(
    scratch: WasmPackage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    scratch.call("write", {"path": "/tmp/note.txt", "text": "gone after the call"})
    assert [folder.parent for folder in made] == [tmp_path]
    assert list(tmp_path.iterdir()) == []


def test_the_scratch_dir_is_all_of_the_file_system_a_tool_sees(scratch: WasmPackage) -> None:
    # The scratch folder is a real one under the host's temporary folder: ".." must not leave it.
    for path in ["/etc/hostname", "/tmp/../etc/hostname", "/tmp/../../../../etc/hostname"]:
        assert scratch.call("read", {"path": path})["found"] is False, path
    with pytest.raises(ToolFailed, match=r"^cannot list /: "):
        scratch.call("list", {"path": "/"})
    with pytest.raises(ToolFailed, match=r"^cannot write /etc/note\.txt: "):
        scratch.call("write", {"path": "/etc/note.txt", "text": "x"})


def test_a_scratch_dir_elsewhere_than_tmp_is_honoured() -> None:
    package = package_with("/data/scratch")
    assert package.call("write", {"path": "/data/scratch/a.txt", "text": "a"})["text"] == "a"
    with pytest.raises(ToolFailed, match=r"^cannot write /tmp/a\.txt: "):
        package.call("write", {"path": "/tmp/a.txt", "text": "a"})


def test_without_scratch_dir_a_tool_has_no_file_system() -> None:
    package = package_with(None)
    with pytest.raises(ToolFailed, match=r"^cannot write /tmp/note\.txt: "):
        package.call("write", {"path": "/tmp/note.txt", "text": "x"})
    with pytest.raises(ToolFailed, match=r"^cannot list /tmp: "):
        package.call("list", {"path": "/tmp"})
