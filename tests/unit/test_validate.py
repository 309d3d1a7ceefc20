"""Argument validation: JSON values become Python values; each problem names its field."""

import dataclasses
import datetime
import enum
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest

from cloche import Field, Problem, ValidationError
from cloche._schema import Property, shape_of
from cloche._validate import convert, convert_arguments


def problems(hint: Any, value: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        convert(shape_of(hint), value, "x")
    return [(p.path, p.message) for p in caught.value.problems]


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Options(TypedDict):
    depth: int
    label: NotRequired[str]


@pytest.mark.parametrize(
    ("hint", "value", "expected"),
    [
        (int, 3, 3),
        (int, 3.0, 3),
        (float, 2, 2.0),
        (str, "é", "é"),
        (bool, False, False),
        (None, None, None),
        (Any, {"a": [1]}, {"a": [1]}),
        (list[int], [1, 2], [1, 2]),
        (tuple[int, str], [1, "a"], (1, "a")),
        (tuple[int, ...], [1, 2, 3], (1, 2, 3)),
        (set[str], ["a", "b"], {"a", "b"}),
        (dict[str, int], {"a": 1}, {"a": 1}),
        (int | str, "7", "7"),
        (int | None, None, None),
        (Literal["a", "b"], "b", "b"),
        (Mode, "safe", Mode.SAFE),
        (Point, {"x": 1}, Point(1.0, 0.0)),
        (Options, {"depth": 2}, {"depth": 2}),
        (datetime.date, "2025-02-28", datetime.date(2025, 2, 28)),
        (
            datetime.datetime,
            "2025-02-28T10:30:00Z",
            datetime.datetime(2025, 2, 28, 10, 30, tzinfo=datetime.UTC),
        ),
        (datetime.time, "07:15", datetime.time(7, 15)),
    ],
)
def test_valid_values_become_python_values(hint: Any, value: Any, expected: Any) -> None:
    result = convert(shape_of(hint), value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("hint", "value", "message"),
    [
        (int, "3", "expected integer, got string"),
        (int, 2.5, "expected integer, got number"),
        (int, True, "expected integer, got boolean"),
        (float, None, "expected number, got null"),
        (str, 1, "expected string, got integer"),
        (bool, 0, "expected boolean, got integer"),
        (list[int], {"a": 1}, "expected array, got object"),
        (dict[str, int], [], "expected object, got array"),
        (tuple[int, int], [1], "expected 2 items, got 1"),
        (Literal["a", "b"], "c", 'expected one of "a", "b", got "c"'),
        (Mode, "slow", 'expected one of "fast", "safe", got "slow"'),
        (Literal[1], True, "expected one of 1, got true"),
        (datetime.date, "31/01/2025", "expected a date (YYYY-MM-DD), got '31/01/2025'"),
        (datetime.date, 20250131, "expected a date (YYYY-MM-DD), got integer"),
        (int | str, [1], "expected integer or string, got array"),
        (Point, "p", "expected object, got string"),
    ],
)
def test_type_mismatches_say_what_was_expected(hint: Any, value: Any, message: str) -> None:
    assert problems(hint, value) == [("x", message)]


def test_problems_inside_containers_name_the_item_or_key() -> None:
    assert problems(list[int], [1, "2", 3, None]) == [
        ("x[1]", "expected integer, got string"),
        ("x[3]", "expected integer, got null"),
    ]
    assert problems(dict[str, int], {"a": 1, "b": "no"}) == [
        ("x.b", "expected integer, got string")
    ]
    assert problems(tuple[int, str], [1, 2]) == [("x[1]", "expected string, got integer")]
    assert problems(set[int], [1, 2, 1]) == [("x[2]", "duplicate item 1")]


def test_records_report_missing_unknown_and_invalid_properties_together() -> None:
    assert problems(Point, {"y": "1", "z": 0}) == [
        ("x.z", "unknown property"),
        ("x.x", "is required"),
        ("x.y", "expected number, got string"),
    ]
    assert problems(list[Options], [{"depth": 1}, {"depth": 1, "label": 5}]) == [
        ("x[1].label", "expected string, got integer")
    ]


def test_optional_reports_the_inner_type_problem() -> None:
    assert problems(Point | None, {"x": "a"}) == [("x.x", "expected number, got string")]
    assert problems(list[int] | None, [True]) == [("x[0]", "expected integer, got boolean")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (Field(minimum=1), 0, "must be >= 1 (got 0)"),
        (Field(maximum=10), 11, "must be <= 10 (got 11)"),
        (Field(exclusive_minimum=0), 0, "must be > 0 (got 0)"),
        (Field(exclusive_maximum=5), 5, "must be < 5 (got 5)"),
        (Field(multiple_of=3), 7, "must be a multiple of 3 (got 7)"),
    ],
)
def test_number_constraints(field: Field, value: int, message: str) -> None:
    assert problems(Annotated[int, field], value) == [("x", message)]


def test_length_and_pattern_constraints() -> None:
    short = Annotated[str, Field(min_length=2, max_length=3, pattern="^[a-z]+$")]
    assert problems(short, "a") == [("x", "must have at least 2 characters (got 1)")]
    assert problems(short, "abcd") == [("x", "must have at most 3 characters (got 4)")]
    assert problems(short, "AB") == [("x", "must match the pattern '^[a-z]+$' (got 'AB')")]
    few = Annotated[list[int], Field(min_length=1)]
    assert problems(few, []) == [("x", "must have at least 1 item (got 0)")]
    small = Annotated[dict[str, int], Field(max_length=1)]
    assert problems(small, {"a": 1, "b": 2}) == [("x", "must have at most 1 property (got 2)")]


def test_arguments_report_unknown_missing_and_invalid_ones() -> None:
    props = [
        Property("name", shape_of(str), required=True),
        Property("count", shape_of(int), required=False, default=1),
    ]
    assert convert_arguments(props, {"name": "a"}) == {"name": "a"}
    with pytest.raises(ValidationError) as caught:
        convert_arguments(props, {"count": "2", "extra": 1})
    assert caught.value.problems == [
        Problem("extra", "unknown argument"),
        Problem("name", "is required"),
        Problem("count", "expected integer, got string"),
    ]
    assert str(caught.value) == (
        "extra: unknown argument; name: is required; count: expected integer, got string"
    )


@pytest.mark.parametrize(
    ("hint", "value", "expected"),
    [
        (bytes, "aGVsbG8=", b"hello"),
        (bytes, "", b""),
        (bytes, "/+8A", b"\xff\xef\x00"),
        (bytes | None, None, None),
        (Annotated[bytes | None, Field(media_type="text/csv")], "YSxi", b"a,b"),
        (list[bytes], ["YQ==", "YWI="], [b"a", b"ab"]),
    ],
)
def test_base64_text_becomes_bytes(hint: Any, value: Any, expected: Any) -> None:
    assert convert(shape_of(hint), value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("aGVsbG8", "Incorrect padding"),
        ("aGVs bG8=", "Only base64 data is allowed"),
        ("aGVsbG8=\n", "Excess data after padding"),
        ("-_8A", "Only base64 data is allowed"),  # URL-safe is not standard base64
        ("héllo===", "only ASCII"),
    ],
)
def test_invalid_base64_is_refused_naming_the_argument(value: str, reason: str) -> None:
    [(path, message)] = problems(bytes | None, value)
    assert path == "x"
    assert message.startswith("not valid base64 (")
    assert reason in message
    assert message.endswith("; pass the file's bytes base64-encoded")


def test_bytes_problems_name_their_place() -> None:
    assert problems(bytes, 3) == [("x", "expected base64-encoded bytes (a file), got integer")]
    assert problems(list[bytes], ["YQ==", "*"])[0][0] == "x[1]"
    props = [Property("file", shape_of(bytes), required=True)]
    with pytest.raises(ValidationError, match=r"^file: not valid base64 \("):
        convert_arguments(props, {"file": "not base64"})
