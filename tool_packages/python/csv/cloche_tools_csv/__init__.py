"""csv.summary: the shape of CSV data: columns, inferred types, missing values, statistics."""

from __future__ import annotations

import csv
import datetime
import io
import math
import statistics
from collections import Counter
from typing import Annotated, Literal, TypedDict

from cloche import Field, ToolError, tool

__all__ = ["summary"]

ColumnType = Literal["empty", "integer", "number", "boolean", "date", "text"]
DELIMITERS = (",", ";", "\t", "|")
_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


class ValueCount(TypedDict):
    value: str
    count: int


class ColumnSummary(TypedDict):
    """One column.

    Attributes:
        name: The header, or column_N without a header (or for an empty header cell).
        type: The type every non-empty value has: integer, number, boolean (true/false/yes/no),
            date (YYYY-MM-DD), text; empty when the column has no values.
        values: Non-empty cells.
        missing: Empty cells, and cells missing from short rows.
        unique: Different non-empty values.
        min: Smallest value (numbers and dates); null for other types.
        max: Largest value (numbers and dates); null for other types.
        mean: Mean (numbers only).
        median: Median (numbers only).
        stdev: Sample standard deviation (numbers, two values or more).
        top: The most frequent values, most frequent first.
    """

    name: str
    type: ColumnType
    values: int
    missing: int
    unique: int
    min: float | str | None
    max: float | str | None
    mean: float | None
    median: float | None
    stdev: float | None
    top: list[ValueCount]


class CsvSummary(TypedDict):
    """A CSV text summarised.

    Attributes:
        rows: Data rows (the header and blank lines not counted).
        delimiter: The delimiter used (given or detected).
        ragged_rows: Rows with more or fewer cells than the header (or the first row).
        columns: One summary per column, in order.
    """

    rows: int
    delimiter: str
    ragged_rows: int
    columns: list[ColumnSummary]


@tool(title="CSV summary", read_only=True, idempotent=True, open_world=False)
def summary(
    text: str | None = None,
    file: Annotated[bytes | None, Field(media_type="text/csv")] = None,
    delimiter: Literal[",", ";", "\t", "|"] | None = None,
    has_header: bool = True,
    top: Annotated[int, Field(minimum=0, maximum=50)] = 5,
) -> CsvSummary:
    """Summarise CSV data: row count, and per column its type, missing values, distinct values,
    min/max, mean, median, standard deviation and most frequent values. Give the CSV as text or
    as a file.

    Args:
        text: The CSV text.
        file: The CSV file, instead of text.
        delimiter: The cell separator; detected from the text when left out.
        has_header: Whether the first row holds the column names.
        top: How many of the most frequent values to list per column.
    """
    text = _one_input(text, file)
    delimiter = delimiter or _sniff(text)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if not rows:
        raise ToolError(f"the {'text' if file is None else 'file'} holds no CSV rows")
    header = rows.pop(0) if has_header else []
    width = len(header) if has_header else len(rows[0]) if rows else 0
    ragged = sum(1 for row in rows if len(row) != width)
    width = max([width, *map(len, rows)])
    names = _names(header, width)
    columns = []
    for index, name in enumerate(names):
        cells = [row[index].strip() if index < len(row) else "" for row in rows]
        columns.append(_column(name, cells, top))
    return {"rows": len(rows), "delimiter": delimiter, "ragged_rows": ragged, "columns": columns}


def _one_input(text: str | None, file: bytes | None) -> str:
    """The CSV text, from `text` or decoded from `file`; exactly one must be given."""
    if text is not None and file is not None:
        raise ToolError("give either text or file, not both")
    if text is not None:
        return text
    if file is None:
        raise ToolError("give the CSV as text, or as a file")
    try:
        return file.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as error:
        raise ToolError(
            f"the file is not UTF-8 text (byte {file[error.start]:#04x} at offset {error.start});"
            " export it as UTF-8 CSV (or pass the CSV as text)"
        ) from None


def _sniff(text: str) -> str:
    """The candidate that splits the first rows into the same number (>1) of cells most often."""
    sample = text[:20_000]
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=candidate) if row]
        widths = widths[:50]
        if not widths:
            continue
        common, _ = Counter(widths).most_common(1)[0]
        if common > 1:
            score = (sum(w == common for w in widths) / len(widths), common)
            if score > best_score:
                best, best_score = candidate, score
    return best


def _names(header: list[str], width: int) -> list[str]:
    names: list[str] = []
    for index in range(width):
        name = header[index].strip() if index < len(header) else ""
        if not name or name in names:
            name = f"column_{index + 1}"
        names.append(name)
    return names


def _column(name: str, cells: list[str], top: int) -> ColumnSummary:
    values = [cell for cell in cells if cell]
    kind = _infer(values)
    counts = Counter(values)
    column: ColumnSummary = {
        "name": name,
        "type": kind,
        "values": len(values),
        "missing": len(cells) - len(values),
        "unique": len(counts),
        "min": None,
        "max": None,
        "mean": None,
        "median": None,
        "stdev": None,
        "top": [
            {"value": value, "count": count}
            for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        ],
    }
    if kind in ("integer", "number"):
        numbers = [float(v) for v in values]
        column["min"], column["max"] = _number(min(numbers)), _number(max(numbers))
        column["mean"] = round(statistics.fmean(numbers), 6)
        column["median"] = _number(statistics.median(numbers))
        if len(numbers) > 1:
            column["stdev"] = round(statistics.stdev(numbers), 6)
    elif kind == "date":
        column["min"], column["max"] = min(values), max(values)
    return column


def _number(value: float) -> float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _infer(values: list[str]) -> ColumnType:
    if not values:
        return "empty"
    for kind, check in (
        ("integer", _is_integer),
        ("number", _is_number),
        ("boolean", lambda v: v.lower() in _TRUE | _FALSE),
        ("date", _is_date),
    ):
        if all(map(check, values)):
            return kind  # type: ignore[return-value]
    return "text"


def _is_integer(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
