"""A module that misbehaves is stopped with a clear error, and the next call still works."""

import hashlib
import json
import time
from pathlib import Path

import pytest
from wasm_helpers import FIXTURES, TOOL_PACKAGES

from cloche.wasm_manifest import load_manifest
from cloche_server.cli import main
from cloche_server.wasm import ModuleRefused, ToolFailed, WasmPackage

MISBEHAVE = FIXTURES / "misbehave" / "manifest.json"


@pytest.fixture(scope="module")
def misbehave() -> WasmPackage:
    return WasmPackage.load(MISBEHAVE)


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("trap", "the tool crashed: wasm trap: wasm `unreachable` instruction executed"),
        ("grow", "the tool ran out of memory (limit 16 MiB)"),
        ("bad_json", "the tool wrote invalid JSON on stdout"),
        ("not_object", "the tool's result is not a JSON object"),
        ("flood", "the tool's output exceeded its limit of 65536 bytes"),
        ("exit_silently", "the tool exited with status 3 without an error message"),
        ("fail", "failed on purpose"),
    ],
)
def test_each_misbehaviour_fails_the_call_with_a_clear_error(
    misbehave: WasmPackage, tool: str, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ToolFailed) as caught:
        misbehave.call(tool, {})
    assert str(caught.value).startswith(message)
    assert time.monotonic() - started < 1.5  # stopped by the limit, not by the deadline
    assert misbehave.call("echo", {"text": "still here"}) == {"text": "still here"}


def test_an_infinite_loop_is_stopped_at_its_deadline(misbehave: WasmPackage) -> None:
    started = time.monotonic()
    with pytest.raises(ToolFailed, match="did not finish within its deadline of 2000 ms"):
        misbehave.call("loop", {})
    assert 1.9 < time.monotonic() - started < 4
    assert misbehave.call("echo", {"text": "after"}) == {"text": "after"}


def test_memory_cannot_grow_past_the_limit_even_by_the_module_itself(
    misbehave: WasmPackage,
) -> None:
    run = misbehave._run(b'{"tool": "grow"}')
    assert run.trap is not None
    assert run.memory_bytes <= 16 * 2**20


def test_each_call_gets_a_fresh_instance(misbehave: WasmPackage) -> None:
    # The grow call above filled memory; a fresh instance starts small again.
    run = misbehave._run(b'{"tool": "echo", "arguments": {"text": "x"}}')
    assert run.exit_code == 0
    assert run.memory_bytes < 2**20


def test_a_module_whose_hash_does_not_match_is_refused() -> None:
    manifest = load_manifest(TOOL_PACKAGES / "hash" / "manifest.json")
    module = bytearray((TOOL_PACKAGES / "hash" / "hash.wasm").read_bytes())
    module[-1] ^= 1
    with pytest.raises(ModuleRefused, match=r"sha256 is .* but the manifest says"):
        WasmPackage(manifest, bytes(module), "hash.wasm")


def test_a_module_that_does_not_compile_is_refused(tmp_path: Path) -> None:
    manifest = json.loads(MISBEHAVE.read_text())
    broken = b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"  # a function, no body
    manifest["sha256"] = hashlib.sha256(broken).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "misbehave.wasm").write_bytes(broken)
    with pytest.raises(ModuleRefused, match="does not compile"):
        WasmPackage.load(tmp_path / "manifest.json")


def test_the_cli_runs_a_tool(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(TOOL_PACKAGES / "hash" / "manifest.json")
    assert main(["wasm", "run", manifest, "hash.md5", '{"text": "abc"}']) == 0
    assert json.loads(capsys.readouterr().out)["hex"] == "900150983cd24fb0d6963f7d28e17f72"
    assert main(["wasm", "run", str(MISBEHAVE), "fail", "{}"]) == 1
    assert json.loads(capsys.readouterr().out) == {"error": "failed on purpose"}
    assert main(["wasm", "run", manifest, "sha256", '{"text": 1}']) == 2
    assert "text must be string" in capsys.readouterr().err
    assert main(["wasm", "run", manifest, "sha256", "not json"]) == 2
