"""The Sphinx extension: a real build of docs/examples/sphinx, and its directives' errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloche_server.build import Project, find_project_root

PROJECT = Project(find_project_root(Path(__file__).parent))
EXAMPLE = PROJECT.root / "docs" / "examples" / "sphinx"
DIST = PROJECT.default_dist


def _build(source: Path, out: Path, *, ok: bool = True) -> str:
    """Run sphinx-build (in its own process: docutils' registries are global) and return its
    warnings and errors."""
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--no-color"]
    result = subprocess.run(
        [*command, str(source), str(out)], capture_output=True, text=True, check=False
    )
    assert (result.returncode == 0) == ok, result.stderr
    return result.stderr


def _project(root: Path, index: str, conf: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "conf.py").write_text(f'extensions = ["cloche_server.sphinx"]\n{conf}')
    (root / "index.rst").write_text(index)
    return root


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    if not (DIST / "embed" / "embed.js").is_file():
        pytest.fail("dist/ is not built: run scripts/build (scripts/test does it first)")


def test_the_example_builds_demos_and_copies_the_dist(tmp_path: Path) -> None:
    out = tmp_path / "html"
    assert _build(EXAMPLE, out) == ""
    page = (out / "index.html").read_text()
    assert page.count('<script type="module" src="_static/cloche/embed/embed.js') == 1
    tool = re.search(r'<cloche-tool tool="hash\.sha256" args="([^"]*)"></cloche-tool>', page)
    assert tool is not None
    assert json.loads(tool.group(1).replace("&quot;", '"')) == {"text": "hello"}
    assert 'tool="text.stats"' in page
    assert '<cloche-python deadline-ms="60000">x = 21\nprint(x * 2)</cloche-python>' in page
    copied = out / "_static" / "cloche"
    for name in ("embed/embed.js", "registry.json", "pyodide-lock.json"):
        assert (copied / name).read_bytes() == (DIST / name).read_bytes()
    assert not list(copied.rglob("*.br")), "precompressed twins are for cloche serve only"


def test_only_pages_with_demos_load_the_embed_and_code_is_escaped(tmp_path: Path) -> None:
    index = "Demos\n=====\n\n.. toctree::\n\n   plain\n\n.. cloche-python::\n   :webmcp:\n\n"
    index += "   print('<b>&')\n"
    source = _project(tmp_path / "docs", index, f"cloche_dist = {str(DIST)!r}\n")
    (source / "plain.rst").write_text("Plain\n=====\n\nNo demos here.\n")
    out = tmp_path / "html"
    assert _build(source, out) == ""
    page = (out / "index.html").read_text()
    assert "<cloche-python webmcp>print('&lt;b&gt;&amp;')</cloche-python>" in page
    assert "_static/cloche/embed/embed.js" in page
    assert "cloche/embed/embed.js" not in (out / "plain.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{text: hello}", r":args: is not valid JSON \(Expecting property name"),
        ('["hello"]', r":args: must be a JSON object"),
    ],
)
def test_bad_args_are_a_build_error_naming_the_demo(
    tmp_path: Path, args: str, message: str
) -> None:
    index = f"Demo\n====\n\n.. cloche-tool:: hash.sha256\n   :args: {args}\n"
    source = _project(tmp_path / "docs", index, f"cloche_dist = {str(DIST)!r}\n")
    warnings = _build(source, tmp_path / "html")
    assert re.search(rf"index\.rst:\d+: ERROR: cloche-tool hash\.sha256: {message}", warnings)


def test_a_folder_that_is_no_dist_is_refused_before_reading(tmp_path: Path) -> None:
    source = _project(tmp_path / "docs", "Demo\n====\n", 'cloche_dist = "nowhere"\n')
    errors = _build(source, tmp_path / "html", ok=False)
    assert re.search(r"docs/nowhere is not a built Cloche dist .*: run `cloche build`", errors)
    assert not (tmp_path / "html" / "index.html").exists()


def test_a_rebuild_copies_nothing_again(tmp_path: Path) -> None:
    source = _project(tmp_path / "docs", "Demo\n====\n", f"cloche_dist = {str(DIST)!r}\n")
    out = tmp_path / "html"
    _build(source, out)
    script = out / "_static" / "cloche" / "embed" / "embed.js"
    before = script.stat().st_mtime_ns
    shutil.rmtree(out / ".doctrees")
    _build(source, out)
    assert script.stat().st_mtime_ns == before
