import copy
import json
from typing import Any

import pytest
from wasm_helpers import package_dirs

from cloche.wasm_manifest import ManifestError, load_manifest, parse_manifest

VALID: dict[str, Any] = {
    "manifestVersion": 1,
    "name": "demo",
    "version": "1.0.0",
    "module": "demo.wasm",
    "sha256": "0" * 64,
    "limits": {"memoryBytes": 1 << 20, "deadlineMs": 100, "outputBytes": 10},
    "tools": [
        {
            "name": "go",
            "description": "Goes.",
            "inputSchema": {"type": "object", "properties": {"x": {"type": "integer"}}},
        }
    ],
}


def problems_of(change: Any) -> list[str]:
    data = copy.deepcopy(VALID)
    change(data)
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, "demo/manifest.json")
    assert "demo/manifest.json" in str(caught.value)
    return caught.value.problems


def test_every_committed_manifest_validates_and_names_its_module() -> None:
    for folder in package_dirs():
        manifest = load_manifest(folder / "manifest.json")
        assert manifest.name == folder.name
        assert (folder / manifest.module).is_file()


def test_a_valid_manifest_gives_qualified_mcp_tools_with_their_deadline() -> None:
    manifest = parse_manifest(VALID)
    [tool] = manifest.to_mcp_tools()
    assert tool["name"] == "demo.go"
    assert tool["_meta"]["cloche/deadlineMs"] == 100
    assert manifest.tool("demo.go") is manifest.tool("go") is not None


def test_limits_default_when_absent() -> None:
    data = copy.deepcopy(VALID)
    del data["limits"]
    limits = parse_manifest(data).limits
    assert (limits.memory_bytes, limits.deadline_ms, limits.output_bytes) == (
        64 << 20,
        5000,
        1 << 20,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(sha256="abc"), "sha256"),
        (lambda d: d.update(module="../x.wasm"), "module"),
        (lambda d: d.update(name="Has.Dot"), "name"),
        (lambda d: d.update(manifestVersion=2), "manifestVersion"),
        (lambda d: d.update(tools=[]), "tools"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["limits"].update(memoryBytes=1000), "limits.memoryBytes"),
        (lambda d: d["limits"].update(deadlineMs="5s"), "limits.deadlineMs"),
        (lambda d: d["limits"].update(memoryByte=1), "limits.memoryByte"),
        (
            lambda d: d["tools"][0].update(inputSchema={"type": "array"}),
            "tools[0].inputSchema.type",
        ),
        (lambda d: d["tools"][0].pop("description"), "tools[0].description"),
        (lambda d: d["tools"][0].update(name="a.b"), "tools[0].name"),
        (lambda d: d["tools"].append(dict(d["tools"][0])), "tools[1].name"),
        (lambda d: d["tools"][0].update(outputSchema=[]), "tools[0].outputSchema"),
        (
            lambda d: d["tools"][0]["inputSchema"]["properties"]["x"].update(type="integr"),
            "tools[0].inputSchema.properties.x.type: unknown type 'integr'",
        ),
    ],
)
def test_each_invalid_field_is_named(change: Any, field: str) -> None:
    problems = problems_of(change)
    assert any(p.startswith(field) for p in problems), problems


def test_a_manifest_that_is_not_json_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "manifest.json"
    path.write_text("{nope")
    with pytest.raises(ManifestError, match="cannot be read as JSON"):
        load_manifest(path)
    path.write_text(json.dumps([1]))
    with pytest.raises(ManifestError, match="JSON object"):
        load_manifest(path)


def _file_property(**keywords: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["tools"][0]["inputSchema"]["properties"]["file"] = keywords

    return change


def test_a_base64_string_with_a_media_type_is_accepted_even_nested() -> None:
    data = copy.deepcopy(VALID)
    file = {"type": "string", "contentEncoding": "base64", "contentMediaType": "text/csv"}
    properties = data["tools"][0]["inputSchema"]["properties"]
    properties["file"] = file
    properties["files"] = {"type": "array", "items": file}
    properties["maybe"] = {**file, "type": ["string", "null"]}
    assert parse_manifest(data).tools[0].input_schema["properties"]["file"] == file


@pytest.mark.parametrize(
    ("keywords", "problem"),
    [
        (
            {"type": "string", "contentEncoding": "base32"},
            'tools[0].inputSchema.properties.file.contentEncoding must be "base64"',
        ),
        (
            {"type": "string", "contentMediaType": 7},
            "tools[0].inputSchema.properties.file.contentMediaType must be a string",
        ),
        (
            {"type": "integer", "contentEncoding": "base64"},
            'tools[0].inputSchema.properties.file.contentEncoding needs "type": "string"',
        ),
        (
            {"contentMediaType": "text/csv"},
            'tools[0].inputSchema.properties.file.contentMediaType needs "type": "string"',
        ),
        (
            {"type": "array", "items": {"type": "string", "contentEncoding": "hex"}},
            'tools[0].inputSchema.properties.file.items.contentEncoding must be "base64"',
        ),
    ],
)
def test_content_keywords_are_only_base64_on_strings(keywords: Any, problem: str) -> None:
    problems = problems_of(_file_property(**keywords))
    assert any(p.startswith(problem) for p in problems), problems


def test_permissions_may_say_what_a_module_gets_which_is_nothing() -> None:
    data = copy.deepcopy(VALID)
    data["permissions"] = {"network": [], "storage": False}
    manifest = parse_manifest(data)
    # What registry.json shows: no network, no store, and the limits.
    assert manifest.permissions.to_json() == {
        "network": [],
        "storage": False,
        "deadlineMs": 100,
        "memoryBytes": 1 << 20,
    }
    del data["permissions"]
    assert parse_manifest(data).permissions == manifest.permissions


@pytest.mark.parametrize(
    ("permissions", "problem"),
    [
        (
            {"network": ["https://api.example.org"]},
            "permissions.network must be empty: WASI preview 1 modules get no network or "
            "storage; components will get wasi:http grants",
        ),
        (
            {"storage": True},
            "permissions.storage must be false: WASI preview 1 modules get no network or "
            "storage; components will get wasi:http grants",
        ),
        ({"network": "https://x.test"}, "permissions.network must be an array"),
        ({"storage": "no"}, "permissions.storage must be true or false"),
        ({"files": True}, "permissions.files is not a known field (network, storage)"),
        (["network"], "permissions must be an object"),
    ],
)
def test_a_module_cannot_be_granted_network_or_storage(permissions: Any, problem: str) -> None:
    assert problem in problems_of(lambda d: d.update(permissions=permissions))
