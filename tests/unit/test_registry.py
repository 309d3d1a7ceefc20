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
                "permissions": {"network": [], "storage": False},
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


NETWORKED = '''
from cloche import permissions, tool

PERMISSIONS = permissions(network=["https://api.example.org"], deadline_ms=20_000)

@tool(network=["https://*.example.net", "https://api.example.org"])
def look(text: str) -> str:
    """Look something up."""
    return text
'''
KEEPING = '''
from cloche import tool

@tool(storage=True)
def keep(text: str) -> str:
    """Keep something."""
    return text
'''


def test_permissions_are_the_union_over_a_packages_entry_points_and_their_tools(
    tmp_path: Path,
) -> None:
    wheel = make_wheel(
        tmp_path,
        "demo-net",
        {"demo_net.py": NETWORKED, "demo_keep.py": KEEPING},
        {"net": "demo_net", "keep": "demo_keep:keep"},
    )
    [package] = registry([wheel])["packages"]
    assert sorted(package["namespaces"]) == ["keep", "net"]
    assert package["permissions"] == {
        "network": ["https://api.example.org", "https://*.example.net"],
        "storage": True,
        "deadlineMs": 20_000,
    }


def test_an_invalid_declaration_fails_the_registry_naming_it(tmp_path: Path) -> None:
    source = "from cloche import permissions\nP = permissions(network=['ftp://x.org'])\n"
    wheel = make_wheel(tmp_path, "demo-ftp", {"demo_ftp.py": source}, {"ftp": "demo_ftp"})
    with pytest.raises(RegistryError, match=r"DeclarationError: network entry 'ftp://x\.org'"):
        registry([wheel])


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
        assert package["permissions"]["storage"] is False
        assert sha256_file(DIST / package["wheel"]) == package["sha256"]
        assert lock[package["name"]]["file_name"] == package["wheel"]
        assert lock[package["name"]]["depends"] == ["cloche"]
    network = {p["name"]: p["permissions"]["network"] for p in document["packages"]}
    assert network["cloche-tools-web"] == ["https://*", "http://*"]
    assert network["cloche-tools-text"] == []
    for package in document["wasmPackages"]:
        assert package["permissions"] == {
            "network": [],
            "storage": False,
            "deadlineMs": package["limits"]["deadlineMs"],
            "memoryBytes": package["limits"]["memoryBytes"],
        }


def test_boot_flags_mark_on_demand_packages_of_either_runtime() -> None:
    document = {"packages": [{"name": "a"}, {"name": "b"}], "wasmPackages": [{"name": "w"}]}
    marked = json.loads(with_boot_flags(json.dumps(document).encode(), ["b", "w"]))
    assert [p["boot"] for p in marked["packages"]] == [True, False]
    assert marked["wasmPackages"][0]["boot"] is False


def test_an_on_demand_name_the_dist_lacks_fails_and_lists_what_it_has() -> None:
    document = json.dumps({"packages": [{"name": "a"}]}).encode()
    with pytest.raises(RegistryError, match=r"on-demand names nope, .*packages are: a"):
        with_boot_flags(document, ["nope"])
