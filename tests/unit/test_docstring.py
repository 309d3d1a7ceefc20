"""Docstrings: the description and per-parameter texts, Google and reST styles."""

from cloche._docstring import parse_docstring


def test_google_style_args_with_types_and_continuation_lines() -> None:
    doc = parse_docstring(
        """Summary line.

        More text.

        Args:
            name (str): The name,
                continued here.
            count: How many.

        Returns:
            Something that is not a parameter.
        """
    )
    assert doc.description == "Summary line.\n\nMore text."
    assert doc.params == {"name": "The name, continued here.", "count": "How many."}


def test_rest_style_params() -> None:
    doc = parse_docstring(
        """Do it.

        :param str path: Where.
        :param depth: How deep,
            at most.
        :returns: nothing
        """
    )
    assert doc.description == "Do it."
    assert doc.params == {"path": "Where.", "depth": "How deep, at most."}


def test_attributes_section_and_no_docstring() -> None:
    assert parse_docstring("A.\n\nAttributes:\n    x: The x.").params == {"x": "The x."}
    assert parse_docstring(None).description == ""
    assert parse_docstring("Just a line.").params == {}
