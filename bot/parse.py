"""`sawt parse`: the trained model's reading of texts, one JSON line each, model loaded once."""
from __future__ import annotations

import json
from typing import IO, Any, Iterable

from bot.brain import Brain
from bot.i18n import normalise_language
from bot.nlu_components.language import detect_language
from bot.settings import Settings
from bot.training import train

ENTITY_FIELDS = ("entity", "value", "start", "end", "confidence_entity", "extractor")


def distinct_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per span: DIET and the regex extractor may both find the same reference."""
    seen: set[tuple[Any, Any, Any]] = set()
    out = []
    for entity in entities:
        key = (entity.get("entity"), entity.get("start"), entity.get("end"))
        if key not in seen:
            seen.add(key)
            out.append({k: entity[k] for k in ENTITY_FIELDS if k in entity})
    return out


def reading(parse: dict[str, Any], text: str) -> dict[str, Any]:
    """CONTRACT §6: `{"text", "intent": {"name", "confidence"}, "entities", "language"}`."""
    intent = parse.get("intent") or {}
    language = parse.get("language") or detect_language(text)
    return {
        "text": text,
        "intent": {
            "name": intent.get("name") or "nlu_fallback",
            "confidence": float(intent.get("confidence") or 0.0),
        },
        "entities": distinct_entities(parse.get("entities") or []),
        "language": normalise_language(language),
    }


def parse_lines(settings: Settings, texts: Iterable[str], out: IO[str]) -> None:
    model = train(settings.rasa_config, settings.models_dir)
    brain = Brain(settings, model_path=model)
    try:
        brain.load_nlu_only()
        for text in texts:
            result = reading(brain.parse_blocking(text), text)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        brain.close()
