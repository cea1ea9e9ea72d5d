"""Which language a citizen is answered in, and the catalog's completeness."""
from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES, catalog, pick, reply_language, t


def test_every_catalog_text_exists_in_the_three_languages():
    texts = catalog()
    assert texts, "the catalog is empty"
    for key, variants in texts.items():
        assert set(variants) == set(LANGUAGES), key
        assert all(v.strip() for v in variants.values()), key


def test_placeholders_are_filled_in_every_language():
    for language in LANGUAGES:
        text = t("too_long", language, length=20000, limit=2000)
        assert "20000" in text and "2000" in text


@pytest.mark.parametrize(
    ("detected", "choice", "previous", "expected"),
    [
        ("fr", None, None, "fr"),
        ("ary", None, "fr", "ary"),
        ("ary_latn", None, "fr", "ary_latn"),
        # Arabizi in, Arabic script out when the citizen chose it
        ("ary_latn", "ary", "ary", "ary"),
        ("ary", "ary_latn", "ary_latn", "ary_latn"),
        # writing French after choosing Darija switches to French
        ("fr", "ary", "ary", "fr"),
        ("ary", "fr", "fr", "ary"),
        # nothing detected (a button, an emoji): the choice, else the previous language
        (None, None, "ary", "ary"),
        (None, "ary_latn", "fr", "ary_latn"),
        (None, None, None, "fr"),
    ],
)
def test_reply_language_follows_the_citizen(detected, choice, previous, expected):
    assert reply_language(detected, choice, previous) == expected


def test_pick_falls_back_within_darija_then_french():
    assert pick({"fr": "Bonjour", "ary": "سلام", "ary_latn": "salam"}, "ary_latn") == "salam"
    assert pick({"fr": "Bonjour", "ary": "سلام"}, "ary_latn") == "سلام"
    assert pick({"fr": "Bonjour"}, "ary") == "Bonjour"
    assert pick(None, "fr") == ""
