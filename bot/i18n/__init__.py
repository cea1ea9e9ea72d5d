"""Citizen-visible texts in fr / ary / ary_latn, and the rule for which one a citizen gets.

Texts live in YAML catalogs beside this file (one per owner: gateway, actions, channels),
merged at load; a key defined twice, or missing a language, is an error at load time, so a
text can never reach a citizen in one language only.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

LANGUAGES: tuple[str, ...] = ("fr", "ary", "ary_latn")
DEFAULT_LANGUAGE = "fr"
DARIJA = ("ary", "ary_latn")
_CATALOG_DIR = Path(__file__).resolve().parent


class CatalogError(ValueError):
    pass


@lru_cache(maxsize=None)
def catalog(directory: Path = _CATALOG_DIR) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, texts in data.items():
            if key in merged:
                raise CatalogError(f"{path.name}: key {key!r} is defined twice")
            missing = [lang for lang in LANGUAGES if not (texts or {}).get(lang)]
            if missing:
                raise CatalogError(f"{path.name}: {key!r} lacks {', '.join(missing)}")
            merged[key] = {lang: str(texts[lang]) for lang in LANGUAGES}
    return merged


def normalise_language(language: Optional[str]) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, language: Optional[str], **params: Any) -> str:
    """The catalog text `key` in `language`, with `{name}` placeholders filled."""
    texts = catalog().get(key)
    if texts is None:
        raise KeyError(f"no text {key!r} in the catalog")
    text = texts[normalise_language(language)]
    return text.format(**params) if params else text


def pick(texts: Optional[Mapping[str, str]], language: Optional[str]) -> str:
    """One language of a database `I18n` value; falls back within Darija, then to French."""
    if not texts:
        return ""
    language = normalise_language(language)
    order = [language] + ([d for d in DARIJA if d != language] if language in DARIJA else [])
    for lang in order + [DEFAULT_LANGUAGE] + list(LANGUAGES):
        value = texts.get(lang)
        if value:
            return value
    return ""


def reply_language(detected: Optional[str], choice: Optional[str], previous: Optional[str]) -> str:
    """The language of the reply to a message.

    The citizen is answered in the language they write in. An explicit choice of Darija script
    (Arabizi in, Arabic script out, or the reverse) holds while they keep writing Darija; a
    message in the other language family (French vs Darija) wins over the choice, so writing
    French after choosing Darija switches to French. With no detection (a button press) the
    previous language stays.
    """
    if detected not in LANGUAGES:
        return normalise_language(choice or previous)
    if choice in LANGUAGES:
        same_family = (choice in DARIJA) == (detected in DARIJA)
        if same_family:
            return choice  # type: ignore[return-value]
    return detected  # type: ignore[return-value]
