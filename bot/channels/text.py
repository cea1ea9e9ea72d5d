"""Cutting a long reply into the pieces a platform accepts, at the most readable place.

Telegram counts a message's length in UTF-16 code units (4,096), WhatsApp in characters
(4,096 for text, 1,024 for an interactive body): the measure is passed in, so an Arabic
answer with emoji is never cut in the middle of a character or refused as too long.
"""
from __future__ import annotations

from typing import Callable

Measure = Callable[[str], int]

# Break points, best first: a paragraph, a line, a sentence, a word.
_SEPARATORS = ("\n\n", "\n", ". ", "؟ ", "? ", "! ", "، ", ", ", " ")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _longest_prefix(text: str, limit: int, measure: Measure) -> int:
    """The number of characters of `text` whose measure fits in `limit` (at least one)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Pieces of at most `limit` (by `measure`), cut at paragraph, line, sentence or word ends."""
    pieces: list[str] = []
    rest = text.strip()
    while rest and measure(rest) > limit:
        fits = _longest_prefix(rest, limit, measure)
        window = rest[:fits]
        cut = fits
        for separator in _SEPARATORS:
            at = window.rfind(separator)
            # A break in the first third would leave a tiny piece: look for a weaker one.
            if at > fits // 3:
                cut = at + len(separator)
                break
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def shorten(text: str, limit: int) -> str:
    """A title cut to `limit` characters with an ellipsis, for buttons and list rows."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
