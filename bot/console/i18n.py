"""The console's own texts, in French and Arabic (agents read Arabic right-to-left)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

CONSOLE_LANGUAGES = ("fr", "ar")
RTL = frozenset({"ar"})
_TEXTS = Path(__file__).resolve().parent / "texts.yml"


@lru_cache(maxsize=1)
def texts() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(_TEXTS.read_text(encoding="utf-8")) or {}
    for key, variants in data.items():
        missing = [lang for lang in CONSOLE_LANGUAGES if not (variants or {}).get(lang)]
        if missing:
            raise ValueError(f"console text {key!r} lacks {', '.join(missing)}")
    return data


def translator(language: str):  # type: ignore[no-untyped-def]
    """`_("key")` for templates, in the agent's language."""
    lang = language if language in CONSOLE_LANGUAGES else "fr"

    def _(key: str, **params: object) -> str:
        text = texts().get(key, {}).get(lang) or key
        return text.format(**params) if params else text

    return _
