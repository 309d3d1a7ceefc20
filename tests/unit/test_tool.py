"""`@tool`: what a decorated function looks like to an MCP client, and how it is called."""

import asyncio
import dataclasses
import datetime
import json
from typing import Annotated, Any, TypedDict

import pytest

from cloche import Context, DeclarationError, Field, McpServer, Permissions, Tool, tool


@tool
def greet(name: str, times: Annotated[int, Field(minimum=1)] = 1) -> str:
    """Greet someone.

    Say hello more than once if asked.

    Args:
        name: Who to greet.
        times: How often.
    """
    return " ".join([f"Hello, {name}!"] * times)


def test_a_decorated_function_is_still_callable_directly() -> None:
    assert isinstance(greet, Tool)
    assert greet("Ada", times=2) == "Hello, Ada! Hello, Ada!"


def test_tools_list_entry_from_name_docstring_and_hints() -> None:
    assert greet.to_mcp() == {
        "name": "greet",
        "title": "Greet",
        "description": "Greet someone.\n\nSay hello more than once if asked.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "Who to greet."},
                "times": {
                    "type": "integer",
                    "description": "How often.",
                    "minimum": 1,
                    "default": 1,
                },
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "annotations": {"title": "Greet"},
    }


def test_name_title_description_and_annotations_can_be_given() -> None:
    @tool(
        name="files.remove",
        title="Remove a file",
        description="Deletes it.",
        read_only=False,
        destructive=True,
        idempotent=True,
        open_world=False,
    )
    def remove(path: str) -> None:
        """Ignored docstring."""

    entry = remove.to_mcp()
    assert (entry["name"], entry["title"], entry["description"]) == (
        "files.remove",
        "Remove a file",
        "Deletes it.",
    )
    assert entry["annotations"] == {
        "title": "Remove a file",
        "readOnlyHint": False,
        "destructiveHint": True,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert "outputSchema" not in entry


def test_default_title_is_the_name_in_words() -> None:
    @tool
    def count_words(text: str) -> int:
        return len(text.split())

    assert count_words.title == "Count words"


class Stats(TypedDict):
    words: int
    longest: str | None


@tool
def stats(text: str) -> Stats:
    words = text.split()
    return {"words": len(words), "longest": max(words, key=len) if words else None}


def test_object_results_are_structured_content_and_json_text() -> None:
    assert stats.output_schema == {
        "type": "object",
        "properties": {"words": {"type": "integer"}, "longest": {"type": ["string", "null"]}},
        "required": ["words", "longest"],
        "additionalProperties": False,
    }
    assert stats.result(stats("a bb")) == {
        "content": [{"type": "text", "text": '{"words": 2, "longest": "bb"}'}],
        "structuredContent": {"words": 2, "longest": "bb"},
    }


@dataclasses.dataclass
class Span:
    start: datetime.date
    days: int


def test_dataclass_results_become_json_with_iso_dates() -> None:
    @tool
    def span() -> Span:
        return Span(datetime.date(2025, 1, 2), 3)

    assert span.result(span())["structuredContent"] == {"start": "2025-01-02", "days": 3}


def test_non_object_results_are_wrapped_in_a_result_property() -> None:
    @tool
    def primes(limit: int) -> list[int]:
        return [n for n in range(2, limit) if all(n % d for d in range(2, n))]

    assert primes.output_schema == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": {"type": "integer"}}},
        "required": ["result"],
        "additionalProperties": False,
    }
    assert primes.result(primes(8)) == {
        "content": [{"type": "text", "text": '{"result": [2, 3, 5, 7]}'}],
        "structuredContent": {"result": [2, 3, 5, 7]},
    }


def test_str_none_and_unannotated_results() -> None:
    @tool
    def nothing() -> None:
        pass

    @tool
    def loose():  # type: ignore[no-untyped-def]
        return {"a": 1}

    assert greet.result("hi") == {"content": [{"type": "text", "text": "hi"}]}
    assert nothing.result(None) == {"content": []}
    assert loose.output_schema is None
    assert loose.result(loose()) == {"content": [{"type": "text", "text": '{"a": 1}'}]}


def test_a_result_that_breaks_the_output_schema_is_refused() -> None:
    with pytest.raises(TypeError, match="words: expected integer, got string"):
        stats.result({"words": "two", "longest": None})
    with pytest.raises(TypeError, match="no JSON form"):
        stats.result({"words": 1, "longest": object()})


def test_context_parameter_is_injected_and_not_in_the_schema() -> None:
    seen: list[Context] = []

    @tool
    async def slow(n: int, ctx: Context) -> int:
        seen.append(ctx)
        return n

    assert slow.is_async
    assert list(slow.input_schema["properties"]) == ["n"]
    context = Context(tool_name="slow")
    assert asyncio.run(slow.invoke({"n": 2}, context)) == 2
    assert seen == [context]


def test_positional_only_parameters_are_passed_positionally() -> None:
    @tool
    def power(base: int, /, exponent: int = 2) -> int:
        return int(base**exponent)

    assert power.invoke(power.parse_arguments({"base": 3}), Context()) == 9


@pytest.mark.parametrize(
    ("define", "message"),
    [
        (lambda: tool(_unhinted), "parameter 'x' needs a type hint"),
        (lambda: tool(name="bad name!")(greet.fn), "must be 1-128 of"),
        (lambda: tool(_varargs), r"\*args parameters are not supported"),
        (lambda: tool(_complex_param), "parameter 'z': no JSON Schema"),
        (lambda: tool(_complex_return), "return type: no JSON Schema"),
        (
            lambda: tool(_media_type_on_text),
            "parameter 't': media_type='text/csv' is only for bytes",
        ),
        (lambda: tool(_bytes_return), "return type: bytes are for file inputs"),
    ],
)
def test_functions_that_cannot_be_tools_fail_at_definition(define: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        define()


def _unhinted(x) -> None:  # type: ignore[no-untyped-def]
    pass


def _varargs(*args: int) -> None:
    pass


def _complex_param(z: complex) -> None:
    pass


def _complex_return() -> complex:
    return 1j


def _media_type_on_text(t: Annotated[str, Field(media_type="text/csv")]) -> None:
    pass


def _bytes_return() -> list[bytes]:
    return []


def test_a_file_parameter_is_base64_in_the_schema_and_bytes_in_the_function() -> None:
    @tool
    def size(file: Annotated[bytes, Field(media_type="image/png")]) -> int:
        return len(file)

    assert size.input_schema["properties"]["file"] == {
        "type": "string",
        "contentEncoding": "base64",
        "contentMediaType": "image/png",
    }
    assert size.invoke(size.parse_arguments({"file": "AAEC"}), Context()) == 3


def test_renamed_keeps_everything_else() -> None:
    renamed = greet.renamed("social.greet")
    assert renamed.name == "social.greet"
    assert renamed.input_schema == greet.input_schema
    assert greet.name == "greet"


def test_a_declared_deadline_is_in_the_tools_list_meta() -> None:
    @tool(deadline_ms=2_000)
    def slow(n: int) -> int:
        return n

    assert slow.to_mcp()["_meta"] == {"cloche/deadlineMs": 2_000}
    assert slow.renamed("pkg.slow").to_mcp()["_meta"] == {"cloche/deadlineMs": 2_000}
    listed = McpServer([slow]).handle(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    )
    assert json.loads(listed)["result"]["tools"][0]["_meta"] == {"cloche/deadlineMs": 2_000}
    assert "_meta" not in greet.to_mcp()


@pytest.mark.parametrize("deadline", [0, -5, 600_001, 1.5, "5s", True])
def test_an_invalid_deadline_fails_at_decoration_naming_the_tool(deadline: Any) -> None:
    def slow() -> None:
        pass

    with pytest.raises(
        (TypeError, ValueError),
        match=r"tool slow: deadline_ms must be a whole number of milliseconds from 1 to 600000",
    ):
        tool(deadline_ms=deadline)(slow)


def test_a_tool_declares_network_and_storage_for_its_package() -> None:
    @tool(network=["https://API.example.org", "https://*.example.net"], storage=True)
    def look(q: str) -> str:
        return q

    assert look.permissions == Permissions(
        ("https://api.example.org", "https://*.example.net"), True
    )
    assert look.renamed("pkg.look").permissions == look.permissions
    assert greet.permissions == Permissions()
    # What the user is asked is the package's, in registry.json: tools/list does not change.
    assert look.to_mcp() == tool(look.fn).to_mcp()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"network": ["https://example.org/api"]}, "not an origin"),
        ({"network": "https://example.org"}, "must be a list of origin patterns"),
        ({"storage": "yes"}, "storage must be True or False"),
    ],
)
def test_an_invalid_declaration_fails_at_decoration_naming_the_tool(
    kwargs: dict[str, Any], problem: str
) -> None:
    def look() -> None:
        pass

    with pytest.raises(DeclarationError, match=rf"^tool look: .*{problem}"):
        tool(**kwargs)(look)
