"""A module that misbehaves is stopped with a clear error, and the next call still works."""

import contextlib
import dataclasses
import hashlib
import json
import tempfile
import threading
import time
from pathlib import Path

import pytest
import wasmtime
from wasm_helpers import FIXTURES, TOOL_PACKAGES

from cloche.wasm_manifest import Limits, WasmManifest, WasmTool, load_manifest
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


def test_a_flood_is_stopped_soon_after_the_limit_and_only_the_start_is_read(
    misbehave: WasmPackage,
) -> None:
    limits = misbehave.manifest.limits
    run = misbehave._run(b'{"tool": "flood"}')
    assert run.stopped == "output"
    assert len(run.stdout) == limits.output_bytes + 1
    # What the file may hold past the limit: a poll interval of writing plus one write, which is
    # at most the module's memory (runner.py); here about 2.5 MB in all.
    assert limits.output_bytes < run.stdout_bytes < limits.output_bytes + limits.memory_bytes


def test_output_past_the_limit_fails_even_when_the_tool_ends_before_it_is_noticed() -> None:
    manifest = load_manifest(TOOL_PACKAGES / "hash" / "manifest.json")
    manifest = dataclasses.replace(
        manifest, limits=dataclasses.replace(manifest.limits, output_bytes=10)
    )
    package = WasmPackage(manifest, (TOOL_PACKAGES / "hash" / "hash.wasm").read_bytes())
    with pytest.raises(ToolFailed, match="output exceeded its limit of 10 bytes"):
        package.call("sha256", {"text": "abc"})


def test_a_cancelled_call_stops_at_once(misbehave: WasmPackage) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(ToolFailed, match=r"^the tool call was cancelled by the client$"):
        misbehave.call("loop", {}, cancel=cancel)
    assert 0.2 <= time.monotonic() - started < 0.5
    timer.join()
    with pytest.raises(ToolFailed, match="cancelled by the client"):
        misbehave.call("echo", {"text": "never runs"}, cancel=cancel)  # already cancelled
    assert misbehave.call("echo", {"text": "after"}, cancel=threading.Event()) == {"text": "after"}


def test_a_call_cancelled_while_it_waits_for_another_ends_at_once(misbehave: WasmPackage) -> None:
    errors: list[str] = []

    def loop() -> None:
        try:
            misbehave.call("loop", {})
        except ToolFailed as error:
            errors.append(str(error))

    first = threading.Thread(target=loop)
    first.start()
    time.sleep(0.1)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ToolFailed, match="cancelled by the client"):
        misbehave.call("echo", {"text": "waits"}, cancel=cancel)
    assert time.monotonic() - started < 0.5  # the loop holds the package for 2 s
    first.join()
    assert errors == ["the tool did not finish within its deadline of 2000 ms"]


def _stderr_flood(chunks: int) -> WasmPackage:
    """A package whose one tool writes `chunks` times 64 KiB on stderr, then {"ok": true}."""
    text = f"""
      (module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 2)
        (data (i32.const 16) "{{\\"ok\\": true}}")
        (func (export "_start") (local $i i32)
          (i32.store (i32.const 0) (i32.const 65536))
          (i32.store (i32.const 4) (i32.const 65536))
          (block $done (loop $again
            (br_if $done (i32.ge_u (local.get $i) (i32.const {chunks})))
            (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $again)))
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 12))
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
    """
    module = bytes(wasmtime.wat2wasm(text))
    manifest = WasmManifest(
        name="noisy",
        version="0.0.1",
        module="noisy.wasm",
        sha256=hashlib.sha256(module).hexdigest(),
        limits=Limits(memory_bytes=2**24, deadline_ms=10_000, output_bytes=4096),
        tools=(WasmTool(name="run", description="Floods stderr.", input_schema={}),),
    )
    return WasmPackage(manifest, module)


def test_stderr_keeps_its_first_64_kib_and_its_file_stays_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _stderr_flood(4096)  # 256 MiB, in about 0.3 s here
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    peak = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.is_set():
            for stderr in tmp_path.glob("*/stderr"):
                with contextlib.suppress(OSError):
                    peak = max(peak, stderr.stat().st_blocks * 512)
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run = package._run(b'{"tool": "run"}')
    finally:
        finished.set()
        sampler.join()
    assert (run.exit_code, run.stdout, run.stopped) == (0, b'{"ok": true}', None)
    assert run.stderr == bytes(65536)
    assert 0 < peak < 32 * 2**20  # measured: under 3 MiB on disk at any time
