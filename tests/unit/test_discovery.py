"""Finding tools through the `cloche.tools` entry point group of installed distributions."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _tool_support import make_wheel

from cloche import Permissions, discover
from cloche.discovery import tools_of

TOOLS = '''
from cloche import tool

@tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()

@tool(name="whisper")
def quiet(text: str) -> str:
    return text.lower()

helper = 42
'''


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[list[str]]:
    paths: list[str] = []
    yield paths
    for path in paths:
        sys.path.remove(path)
    for name in [m for m in sys.modules if m.startswith("demo_")]:
        del sys.modules[name]


def install(tmp_path: Path, on_path: list[str], name: str, **kwargs: object) -> str:
    wheel = str(make_wheel(tmp_path, name, **kwargs))  # type: ignore[arg-type]
    sys.path.insert(0, wheel)
    on_path.append(wheel)
    return wheel


def test_a_module_entry_point_gives_its_tools_under_the_namespace(
    tmp_path: Path, on_path: list[str]
) -> None:
    wheel = install(
        tmp_path,
        on_path,
        "demo-voice",
        modules={"demo_voice/__init__.py": TOOLS},
        entry_points={"voice": "demo_voice"},
    )
    found = discover(path=[wheel])
    assert found.problems == []
    [package] = found.packages
    assert (package.namespace, package.distribution, package.version) == (
        "voice",
        "demo-voice",
        "1.0",
    )
    assert [t.name for t in found.tools] == ["voice.shout", "voice.whisper"]
    assert found.tools[0].description == "Upper-case a text."
    assert found.tools[0]("a") == "A"


def test_entry_points_naming_one_tool_and_broken_modules(
    tmp_path: Path, on_path: list[str]
) -> None:
    wheel = install(
        tmp_path,
        on_path,
        "demo-mixed",
        modules={"demo_mixed.py": TOOLS, "demo_broken.py": "raise RuntimeError('no luck')"},
        entry_points={
            "one": "demo_mixed:shout",
            "broken": "demo_broken",
            "wrong": "demo_mixed:helper",
        },
    )
    found = discover(path=[wheel])
    assert [t.name for t in found.tools] == ["one.shout"]
    assert sorted(map(str, found.problems)) == [
        "demo-mixed: entry point 'broken': RuntimeError: no luck",
        "demo-mixed: entry point 'wrong': TypeError: "
        "expected a module, a tool or a list of tools, got int",
    ]


def test_the_same_tool_name_twice_keeps_the_first(tmp_path: Path, on_path: list[str]) -> None:
    wheel = install(
        tmp_path,
        on_path,
        "demo-twice",
        modules={"demo_twice.py": TOOLS},
        entry_points={"x": "demo_twice", "x ": "demo_twice"},
    )
    found = discover(path=[wheel])
    assert [t.name for t in found.tools] == ["x.shout", "x.whisper"]
    assert "x.shout is already defined" in str(found.problems[0])


def test_module_all_limits_the_tools() -> None:
    import types

    from cloche import tool

    module = types.ModuleType("m")
    module.a = tool(lambda: 1, name="a")  # type: ignore[attr-defined]
    module.b = tool(lambda: 2, name="b")  # type: ignore[attr-defined]
    module.__all__ = ["b"]  # type: ignore[attr-defined]
    assert [t.name for t in tools_of(module)] == ["b"]


DECLARING = """
from cloche import permissions, tool

__all__ = ["fetch_it"]
PERMISSIONS = permissions(network=["https://api.example.org"], deadline_ms=20_000)
_MORE = permissions(memory_bytes=64 * 2**20)

@tool(network=["https://*.example.net"], storage=True)
def fetch_it(url: str) -> str:
    return url

@tool
def plain(text: str) -> str:
    return text
"""


def test_a_package_asks_for_its_modules_declarations_and_its_tools(
    tmp_path: Path, on_path: list[str]
) -> None:
    wheel = install(
        tmp_path,
        on_path,
        "demo-declaring",
        modules={"demo_declaring.py": DECLARING},
        entry_points={"whole": "demo_declaring", "one": "demo_declaring:plain"},
    )
    found = discover(path=[wheel])
    assert found.problems == []
    packages = {package.namespace: package for package in found.packages}
    # __all__ picks the tools; module-level declarations count whatever their names.
    assert [t.name for t in packages["whole"].tools] == ["whole.fetch_it"]
    assert packages["whole"].permissions == Permissions(
        ("https://api.example.org", "https://*.example.net"), True, 20_000, 64 * 2**20
    )
    # A tool entry point has no module of its own: only the tool's declaration counts.
    assert packages["one"].permissions == Permissions()
    # The package's deadline is its tools' unless they declare their own; tools/list says so.
    assert packages["whole"].tools[0].deadline_ms == 20_000
    assert packages["whole"].tools[0].to_mcp()["_meta"] == {"cloche/deadlineMs": 20_000}
    assert packages["one"].tools[0].deadline_ms is None


def test_a_package_that_declares_nothing_asks_for_nothing(
    tmp_path: Path, on_path: list[str]
) -> None:
    wheel = install(
        tmp_path,
        on_path,
        "demo-quiet",
        modules={"demo_quiet.py": TOOLS},
        entry_points={"quiet": "demo_quiet"},
    )
    [package] = discover(path=[wheel]).packages
    assert package.permissions == Permissions()


def test_an_invalid_declaration_is_a_problem_and_the_other_packages_load(
    tmp_path: Path, on_path: list[str]
) -> None:
    bad_module = "from cloche import permissions\nP = permissions(network=['https://x.test/api'])\n"
    bad_tool = (
        "from cloche import tool\n\n"
        "@tool(storage='yes')\n"
        "def keep(text: str) -> str:\n"
        "    return text\n"
    )
    wheel = install(
        tmp_path,
        on_path,
        "demo-invalid",
        modules={
            "demo_bad_module.py": bad_module,
            "demo_bad_tool.py": bad_tool,
            "demo_ok.py": TOOLS,
        },
        entry_points={"module": "demo_bad_module", "tool": "demo_bad_tool", "ok": "demo_ok"},
    )
    found = discover(path=[wheel])
    assert [p.namespace for p in found.packages] == ["ok"]
    assert sorted(map(str, found.problems)) == [
        "demo-invalid: entry point 'module': DeclarationError: network entry "
        "'https://x.test/api' is not an origin (no path, query or user part): "
        "write an origin pattern: scheme://host[:port] with scheme http or https, where host "
        "may be *.example.org (its subdomains) or * (any host), e.g. https://api.example.org",
        "demo-invalid: entry point 'tool': DeclarationError: tool keep: "
        "storage must be True or False, got 'yes'",
    ]
