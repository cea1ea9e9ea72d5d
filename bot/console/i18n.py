"""The console's own texts, in French and Arabic (agents read Arabic right-to-left).

Each page module keeps its texts in its own catalog, `texts/<page>.yml`; they are merged at
load, and a key defined twice or missing a language is an error at load time.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml

CONSOLE_LANGUAGES = ("fr", "ar")
RTL = frozenset({"ar"})
_TEXTS = Path(__file__).resolve().parent / "texts"

Translate = Callable[..., str]


@lru_cache(maxsize=1)
def texts() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_TEXTS.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, variants in data.items():
            if key in merged:
                raise ValueError(f"{path.name}: console text {key!r} is defined twice")
            missing = [lang for lang in CONSOLE_LANGUAGES if not (variants or {}).get(lang)]
            if missing:
                raise ValueError(f"{path.name}: console text {key!r} lacks {', '.join(missing)}")
            merged[key] = {lang: str(variants[lang]) for lang in CONSOLE_LANGUAGES}
    return merged


def translator(language: str) -> Translate:
    """`_("key")` for templates, in the agent's language; an unknown key shows itself."""
    lang = language if language in CONSOLE_LANGUAGES else "fr"

    def _(key: str, **params: object) -> str:
        text = texts().get(key, {}).get(lang) or key
        return text.format(**params) if params else text

    return _
