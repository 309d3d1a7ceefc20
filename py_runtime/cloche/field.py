"""`Field`: a description and constraints for one parameter or property, used in `Annotated`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """Describes and constrains a value: ``Annotated[int, Field(minimum=1, description="...")]``.

    ``min_length``/``max_length`` apply to strings (characters), lists (items) and objects
    (properties), whichever the annotated type is. ``media_type`` (``"text/csv"``) says what a
    ``bytes`` parameter (a file) holds; it is refused on any other type. A plain string inside
    ``Annotated`` is a description too.
    """

    description: str | None = None
    title: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    examples: tuple[Any, ...] | None = None
    media_type: str | None = None
