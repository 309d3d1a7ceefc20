"""JSON Schemas generated from type hints, compared against the schemas a client receives."""

import dataclasses
import datetime
import enum
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NewType, NotRequired, Optional, TypedDict, Union

import pytest

from cloche import Field
from cloche._schema import json_schema, shape_of


def schema(hint: Any) -> dict[str, Any]:
    return json_schema(shape_of(hint))


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (list, {"type": "array"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (frozenset[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
        (dict, {"type": "object"}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (dict[str, Any], {"type": "object", "additionalProperties": {}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
            },
        ),
        (tuple[float, ...], {"type": "array", "items": {"type": "number"}}),
        (datetime.date, {"type": "string", "format": "date"}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.time, {"type": "string", "format": "time"}),
        (NewType("UserId", int), {"type": "integer"}),
    ],
)
def test_plain_types(hint: Any, expected: dict[str, Any]) -> None:
    assert schema(hint) == expected


def test_unions_of_plain_types_merge_into_one_type_list() -> None:
    assert schema(int | str) == {"type": ["integer", "string"]}
    assert schema(Optional[str]) == {"type": ["string", "null"]}  # noqa: UP045
    assert schema(Union[int, None]) == {"type": ["integer", "null"]}  # noqa: UP007


def test_unions_of_structured_types_use_any_of() -> None:
    assert schema(list[int] | None) == {
        "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]
    }


def test_literals_are_enums_typed_when_all_values_share_a_type() -> None:
    assert schema(Literal["a", "b"]) == {"type": "string", "enum": ["a", "b"]}
    assert schema(Literal[1, 2]) == {"type": "integer", "enum": [1, 2]}
    assert schema(Literal["x", 1]) == {"enum": ["x", 1]}


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_enums_list_their_values_and_name_their_class() -> None:
    assert schema(Color) == {"type": "string", "enum": ["red", "green"], "title": "Color"}
    assert schema(Level) == {"type": "integer", "enum": [1, 2], "title": "Level"}


class Movie(TypedDict):
    """A film.

    Attributes:
        title: Its title.
    """

    title: str
    year: NotRequired[int]
    rating: Annotated[float, Field(minimum=0, maximum=10)]


def test_typed_dict_is_a_closed_object_with_its_required_keys() -> None:
    assert schema(Movie) == {
        "type": "object",
        "description": "A film.",
        "properties": {
            "title": {"type": "string", "description": "Its title."},
            "year": {"type": "integer"},
            "rating": {"type": "number", "minimum": 0, "maximum": 10},
        },
        "required": ["title", "rating"],
        "additionalProperties": False,
    }


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Segment:
    """Two points.

    Args:
        start: Where it begins.
    """

    start: Point
    end: Annotated[Point | None, "Where it ends, if anywhere."] = None


def test_dataclass_fields_with_defaults_are_optional_and_advertise_the_default() -> None:
    assert schema(Point) == {
        "type": "object",
        "properties": {
            "x": {"type": "number"},
            "y": {"type": "number", "default": 0.0},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        },
        "required": ["x"],
        "additionalProperties": False,
    }


def test_nested_dataclasses_are_inlined_with_field_descriptions() -> None:
    point = schema(Point)
    assert schema(Segment) == {
        "type": "object",
        "description": "Two points.",
        "properties": {
            "start": {**point, "description": "Where it begins."},
            "end": {
                "anyOf": [point, {"type": "null"}],
                "description": "Where it ends, if anywhere.",
                "default": None,
            },
        },
        "required": ["start"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (Annotated[str, "A name."], {"type": "string", "description": "A name."}),
        (
            Annotated[int, Field(minimum=1, maximum=9, description="Digit.")],
            {"type": "integer", "description": "Digit.", "minimum": 1, "maximum": 9},
        ),
        (
            Annotated[float, Field(exclusive_minimum=0, exclusive_maximum=1, multiple_of=0.5)],
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.5},
        ),
        (
            Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$")],
            {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        ),
        (
            Annotated[list[int], Field(min_length=1, max_length=3)],
            {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        ),
        (
            Annotated[dict[str, int], Field(max_length=2)],
            {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 2},
        ),
        (
            Annotated[str, Field(title="Name", examples=("ada",))],
            {"type": "string", "title": "Name", "examples": ["ada"]},
        ),
    ],
)
def test_annotated_descriptions_and_constraints(hint: Any, expected: dict[str, Any]) -> None:
    assert schema(hint) == expected


@dataclasses.dataclass
class Node:
    children: list["Node"]


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (Node, "recursive type"),
        (dict[int, str], "object keys must be str"),
        (complex, "no JSON Schema"),
        (Literal[b"x"], "not a JSON scalar"),
    ],
)
def test_hints_without_a_json_form_are_refused(hint: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        shape_of(hint)


BASE64 = {"type": "string", "contentEncoding": "base64"}
CSV_FILE = {**BASE64, "contentMediaType": "text/csv"}


@dataclasses.dataclass
class Attachment:
    name: str
    data: Annotated[bytes, Field(media_type="image/png")]


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (bytes, BASE64),
        (Annotated[bytes, Field(media_type="text/csv")], CSV_FILE),
        (
            Annotated[bytes, Field(media_type="text/csv", description="The file.")],
            {**CSV_FILE, "description": "The file."},
        ),
        (bytes | None, {"anyOf": [BASE64, {"type": "null"}]}),
        (
            Annotated[bytes | None, Field(media_type="text/csv")],
            {"anyOf": [CSV_FILE, {"type": "null"}]},
        ),
        (
            Annotated[bytes, Field(media_type="text/csv")] | None,
            {"anyOf": [CSV_FILE, {"type": "null"}]},
        ),
        (list[bytes], {"type": "array", "items": BASE64}),
        (dict[str, bytes], {"type": "object", "additionalProperties": BASE64}),
    ],
)
def test_bytes_are_base64_strings_with_an_optional_media_type(
    hint: Any, expected: dict[str, Any]
) -> None:
    assert schema(hint) == expected


def test_bytes_inside_a_record_keep_their_media_type() -> None:
    data = schema(Attachment)["properties"]["data"]
    assert data == {**BASE64, "contentMediaType": "image/png"}


@pytest.mark.parametrize("hint", [str, int | None, bytes | str, list[bytes]])
def test_a_media_type_on_anything_but_bytes_is_refused(hint: Any) -> None:
    with pytest.raises(TypeError, match="media_type='text/csv' is only for bytes"):
        shape_of(Annotated[hint, Field(media_type="text/csv")])
