"""What the assistant should say, read from the same sources it answers from: the domain's
responses, the action texts catalog and the commune database (never copied into the tests)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT


@lru_cache(maxsize=None)
def _responses() -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load((PROJECT_ROOT / "domain" / "responses.yml").read_text(encoding="utf-8"))
    return data["responses"]


def response(name: str, language: str) -> str:
    """The text of a domain response in one language (French is the unconditioned variant)."""
    for variant in _responses()[name]:
        conditions = variant.get("condition") or []
        value = next((c["value"] for c in conditions if c["name"] == "language"), "fr")
        if value == language:
            return str(variant["text"])
    raise KeyError(f"{name} has no {language} variant")


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def payloads(replies: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons") or []]


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]
