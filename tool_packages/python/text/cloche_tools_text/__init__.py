"""text.stats: counts, averages, reading time and the most frequent words of a text."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, TypedDict

from cloche import Field, tool

__all__ = ["stats"]

WORDS_PER_MINUTE = 238  # average silent reading speed of adults (Brysbaert, 2019)
_WORD = re.compile("[^\\W_]+(?:['\u2019-][^\\W_]+)*")
_SENTENCE_END = re.compile("[.!?\u2026]+[\"'\u201d\u2019)\\]]*(?=\\s|$)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


class WordCount(TypedDict):
    word: str
    count: int


class TextStats(TypedDict):
    """Statistics of a text.

    Attributes:
        characters: All characters, spaces and line breaks included.
        characters_without_spaces: Characters that are not whitespace.
        words: Words (letters or digits, with inner apostrophes or hyphens).
        unique_words: Different words, ignoring case.
        lines: Lines (a final line break does not start a new one).
        sentences: Sentences (ended by . ! ? or …, or by the end of the text).
        paragraphs: Blocks of text separated by blank lines.
        average_word_length: Mean characters per word.
        average_sentence_length: Mean words per sentence.
        reading_time_seconds: Time to read it at 238 words per minute.
        top_words: The most frequent words, most frequent first (ties alphabetically).
    """

    characters: int
    characters_without_spaces: int
    words: int
    unique_words: int
    lines: int
    sentences: int
    paragraphs: int
    average_word_length: float
    average_sentence_length: float
    reading_time_seconds: int
    top_words: list[WordCount]


@tool(title="Text statistics", read_only=True, idempotent=True, open_world=False)
def stats(
    text: str,
    top: Annotated[int, Field(minimum=0, maximum=100)] = 10,
    skip_stop_words: bool = False,
) -> TextStats:
    """Count characters, words, lines, sentences and paragraphs of a text, with averages, reading
    time and the most frequent words.

    Args:
        text: The text to measure.
        top: How many of the most frequent words to list.
        skip_stop_words: Leave common English words (the, and, of, ...) out of the top words.
    """
    words = _WORD.findall(text)
    folded = [w.casefold() for w in words]
    sentences = _count_sentences(text)
    counts = Counter(w for w in folded if not (skip_stop_words and w in STOP_WORDS))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {
        "characters": len(text),
        "characters_without_spaces": sum(1 for ch in text if not ch.isspace()),
        "words": len(words),
        "unique_words": len(set(folded)),
        "lines": len(text.splitlines()),
        "sentences": sentences,
        "paragraphs": sum(1 for p in _PARAGRAPH_BREAK.split(text) if p.strip()),
        "average_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0.0,
        "average_sentence_length": round(len(words) / sentences, 2) if sentences else 0.0,
        "reading_time_seconds": round(len(words) * 60 / WORDS_PER_MINUTE),
        "top_words": [{"word": word, "count": count} for word, count in ranked],
    }


def _count_sentences(text: str) -> int:
    """Pieces ended by sentence punctuation, plus a last unpunctuated piece, that hold a word."""
    count, start = 0, 0
    for end in _SENTENCE_END.finditer(text):
        if _WORD.search(text, start, end.start()):
            count += 1
        start = end.end()
    if _WORD.search(text, start):
        count += 1
    return count
