"""text.stats: counts a reader would agree with, edge cases included."""

from _tool_support import import_tool_package

text = import_tool_package("text")


def test_counts_of_a_small_text() -> None:
    result = text.stats("Hello world. Hello again!\n\nIt's a well-known fact?  Yes")
    assert {k: v for k, v in result.items() if k != "top_words"} == {
        "characters": 55,
        "characters_without_spaces": 45,
        "words": 9,
        "unique_words": 8,
        "lines": 3,
        "sentences": 4,
        "paragraphs": 2,
        "average_word_length": 4.67,
        "average_sentence_length": 2.25,
        "reading_time_seconds": 2,
    }
    assert result["top_words"][:2] == [
        {"word": "hello", "count": 2},
        {"word": "a", "count": 1},
    ]


def test_empty_and_blank_texts_are_all_zero() -> None:
    for blank in ("", "   \n\n  "):
        result = text.stats(blank)
        assert result["words"] == result["sentences"] == result["paragraphs"] == 0
        assert result["average_word_length"] == 0.0
        assert result["top_words"] == []


def test_stop_words_can_be_left_out_of_the_top_words() -> None:
    sample = "The cat and the dog and the bird. The cat sleeps."
    assert text.stats(sample, top=2)["top_words"] == [
        {"word": "the", "count": 4},
        {"word": "and", "count": 2},
    ]
    assert text.stats(sample, top=2, skip_stop_words=True)["top_words"] == [
        {"word": "cat", "count": 2},
        {"word": "bird", "count": 1},
    ]


def test_unicode_words_and_case_folding() -> None:
    result = text.stats("Straße STRASSE café Café 東京")
    assert result["words"] == 5
    assert result["unique_words"] == 3  # straße/strasse fold together, café/Café too


def test_reading_time_at_238_words_per_minute() -> None:
    assert text.stats("word " * 238)["reading_time_seconds"] == 60
