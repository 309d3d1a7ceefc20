import json
from pathlib import Path

import pytest
from wasm_helpers import ROOT

from cloche_server.wasm_dist import WasmDistError, copy_wasm, with_wasm_packages


class Recorder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def copy(self, src: Path, relative: str) -> Path:
        dst = self.root / relative
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        return dst


def test_packages_are_copied_with_registry_entries(tmp_path: Path) -> None:
    entries = copy_wasm(ROOT, Recorder(tmp_path))
    assert {e["name"] for e in entries} == {"codec", "grep", "hash", "primes", "textstats"}
    for entry in entries:
        assert (tmp_path / entry["manifest"]).is_file()
        assert (tmp_path / entry["module"]).is_file()
        assert all(t["name"].startswith(entry["name"] + ".") for t in entry["tools"])


def test_the_registry_gains_the_wasm_packages_and_refuses_a_tool_offered_twice() -> None:
    python = {"name": "p", "runtime": "python", "tools": [{"name": "hash.sha256"}]}
    registry = json.dumps({"registryVersion": 1, "packages": [python]}).encode()
    wasm = {"name": "codec", "runtime": "wasm", "tools": [{"name": "codec.hex_encode"}]}
    merged = json.loads(with_wasm_packages(registry, [wasm]))
    assert [p["name"] for p in merged["packages"]] == ["p"]
    assert [p["name"] for p in merged["wasmPackages"]] == ["codec"]
    clash = {"name": "hash", "runtime": "wasm", "tools": [{"name": "hash.sha256"}]}
    with pytest.raises(WasmDistError, match=r"hash\.sha256 is in both p and the WASM package hash"):
        with_wasm_packages(registry, [clash])


def test_each_entry_says_what_its_package_may_reach_nothing_beyond_its_limits(
    tmp_path: Path,
) -> None:
    for entry in copy_wasm(ROOT, Recorder(tmp_path)):
        assert entry["permissions"] == {
            "network": [],
            "storage": False,
            "deadlineMs": entry["limits"]["deadlineMs"],
            "memoryBytes": entry["limits"]["memoryBytes"],
        }
