"""registry.json: tool packages and their tools, read by importing the wheels."""

import json
from pathlib import Path

import pytest
from _tool_support import make_wheel

from cloche_server._files import sha256_file
from cloche_server.build import Project, find_project_root
from cloche_server.registry import RegistryError, registry, with_boot_flags

DIST = Project(find_project_root(Path(__file__).parent)).default_dist

TOOLS = '''
from typing import TypedDict
from cloche import tool

class Out(TypedDict):
    n: int

@tool(read_only=True)
def count(text: str) -> Out:
    """Count characters."""
    return {"n": len(text)}
'''


def test_registry_lists_each_tool_package_with_wheel_sha256_and_tool_schemas(
    tmp_path: Path,
) -> None:
    wheel = make_wheel(tmp_path, "demo-count", {"demo_count.py": TOOLS}, {"chars": "demo_count"})
    plain = make_wheel(tmp_path, "demo-plain", {"demo_plain.py": ""}, {})
    assert registry([wheel, plain]) == {
        "registryVersion": 1,
        "packages": [
            {
                "name": "demo-count",
                "version": "1.0",
                "runtime": "python",
                "wheel": wheel.name,
                "sha256": sha256_file(wheel),
                "namespaces": ["chars"],
                "tools": [
                    {
                        "name": "chars.count",
                        "title": "Count",
                        "description": "Count characters.",
                        "inputSchema": {
                            "type": "object",
                            "properties": {"text": {"type": "string"}},
                            "required": ["text"],
                            "additionalProperties": False,
                        },
                        "outputSchema": {
                            "type": "object",
                            "properties": {"n": {"type": "integer"}},
                            "required": ["n"],
                            "additionalProperties": False,
                        },
                        "annotations": {"title": "Count", "readOnlyHint": True},
                    }
                ],
            }
        ],
    }


def test_a_wheel_whose_tools_fail_to_import_fails_the_registry(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo-bad", {"demo_bad.py": "import nowhere"}, {"bad": "demo_bad"})
    with pytest.raises(RegistryError, match="No module named 'nowhere'"):
        registry([wheel])


def test_two_packages_with_the_same_tool_name_fail_the_registry(tmp_path: Path) -> None:
    a = make_wheel(tmp_path, "demo-a", {"demo_a.py": TOOLS}, {"same": "demo_a"})
    b = make_wheel(tmp_path, "demo-b", {"demo_b.py": TOOLS}, {"same": "demo_b"})
    with pytest.raises(RegistryError, match=r"same\.count is in both demo-a and demo-b"):
        registry([a, b])


def test_the_built_dist_registry_lists_the_first_party_tools() -> None:
    if not (DIST / "registry.json").is_file():
        pytest.fail("dist/ is not built: run scripts/build (scripts/test does it first)")
    document = json.loads((DIST / "registry.json").read_text())
    tools = {t["name"] for p in document["packages"] for t in p["tools"]}
    assert {"python.run", "text.stats", "regex.search", "regex.replace", "json.query"} <= tools
    assert {"json.format", "csv.summary", "date.add", "date.diff", "date.info"} <= tools
    lock = json.loads((DIST / "pyodide-lock.json").read_text())["packages"]
    for package in document["packages"]:
        assert sha256_file(DIST / package["wheel"]) == package["sha256"]
        assert lock[package["name"]]["file_name"] == package["wheel"]
        assert lock[package["name"]]["depends"] == ["cloche"]


def test_boot_flags_mark_on_demand_packages_of_either_runtime() -> None:
    document = {"packages": [{"name": "a"}, {"name": "b"}], "wasmPackages": [{"name": "w"}]}
    marked = json.loads(with_boot_flags(json.dumps(document).encode(), ["b", "w"]))
    assert [p["boot"] for p in marked["packages"]] == [True, False]
    assert marked["wasmPackages"][0]["boot"] is False


def test_an_on_demand_name_the_dist_lacks_fails_and_lists_what_it_has() -> None:
    document = json.dumps({"packages": [{"name": "a"}]}).encode()
    with pytest.raises(RegistryError, match=r"on-demand names nope, .*packages are: a"):
        with_boot_flags(document, ["nope"])
