"""The questions the assistant could not answer, as Rasa NLU training data to label.

The file is what an NLU author pastes into `nlu/<language>/*.yml`: one block per detected
language, each under a placeholder intent (`to_label_<language>`) they rename, or split among
the right intents, after reading the lines. Its structure is written by PyYAML (so quotes,
colons, `#` and Arabic text are escaped correctly); only the comments, which YAML cannot carry
as data, are added as text. The examples use Rasa's `examples: |` literal block, as the
training files do.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any, Iterable, Sequence

import yaml

from bot.db.dashboard import UNKNOWN_LANGUAGE, Unanswered
from bot.i18n import LANGUAGES

PLACEHOLDER = "to_label"
LANGUAGE_NAMES = {
    "fr": "French", "ary": "Darija in Arabic script", "ary_latn": "Darija in Latin script",
    UNKNOWN_LANGUAGE: "language not detected",
}


class _Literal(str):
    """A string PyYAML writes as a `|` block."""


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Literal, _literal)

# Rasa reads `[text](entity)` and `[text]{...}` in an example as an entity annotation.
_ANNOTATION = re.compile(r"\](?=[({])")


def example_line(text: str) -> str:
    """One question as one example line: on one line, without control characters (which a
    literal block cannot hold) and without an accidental entity annotation."""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text if ch != "\ufeff"
    )
    return _ANNOTATION.sub("] ", " ".join(kept.split()))


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)


def _languages(questions: Iterable[Unanswered]) -> list[str]:
    present = {q.language for q in questions}
    known = [lang for lang in (*LANGUAGES, UNKNOWN_LANGUAGE) if lang in present]
    return known + sorted(present - set(known))


def unanswered_yaml(questions: Sequence[Unanswered], since: dt.date, generated: dt.datetime) -> str:
    """Rasa NLU YAML (version 3.1) of the unanswered questions, newest first per language."""
    parts = [
        "# Sawt: questions the assistant could not answer (nlu_fallback), received since "
        f"{since.isoformat()} (UTC),\n"
        f"# exported {generated.strftime('%Y-%m-%d %H:%M')} UTC, newest first, one line per "
        "question.\n"
        f"# For each block: rename `{PLACEHOLDER}_<language>` to the right intent (or move lines "
        "to several intents),\n"
        "# delete lines that are not questions for the assistant, then paste the block into "
        "nlu/<language>/*.yml.\n",
        _dump({"version": "3.1"}),
    ]
    blocks = []
    for language in _languages(questions):
        lines = [example_line(q.text) for q in questions if q.language == language]
        lines = [line for line in lines if line]
        if not lines:
            continue
        name = LANGUAGE_NAMES.get(language, language)
        target = f"nlu/{language}/" if language in LANGUAGES else "the right nlu/<language>/"
        block = _Literal("".join(f"- {line}\n" for line in lines))
        blocks.append(
            f"# ---- {language} ({name}): {len(lines)} question{'s' if len(lines) > 1 else ''}, "
            f"for {target}\n"
            + _dump([{"intent": f"{PLACEHOLDER}_{language}", "examples": block}])
        )
    parts.append("nlu:\n" + "".join(blocks) if blocks else _dump({"nlu": []}))
    return "".join(parts)
