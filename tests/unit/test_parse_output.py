"""`sawt parse` prints CONTRACT §6's shape, whatever Rasa's parse data holds."""
from __future__ import annotations

from bot.parse import reading


def test_reading_has_the_contract_shape_and_one_entity_per_span():
    parse = {
        "intent": {"name": "complaint_status", "confidence": 0.91},
        "entities": [
            {"entity": "reference", "value": "REC-2026-000123", "start": 6, "end": 21,
             "extractor": "DIETClassifier", "confidence_entity": 0.99},
            {"entity": "reference", "value": "REC-2026-000123", "start": 6, "end": 21,
             "extractor": "RegexEntityExtractor"},
        ],
        "language": "fr",
        "intent_ranking": [],
    }
    result = reading(parse, "suivi REC-2026-000123")
    assert set(result) == {"text", "intent", "entities", "language"}
    assert result["intent"] == {"name": "complaint_status", "confidence": 0.91}
    assert len(result["entities"]) == 1 and result["entities"][0]["value"] == "REC-2026-000123"


def test_an_unsure_or_empty_reading_is_nlu_fallback_and_the_language_is_still_given():
    result = reading({"intent": None, "entities": []}, "شنو هادشي")
    assert result["intent"] == {"name": "nlu_fallback", "confidence": 0.0}
    assert result["language"] == "ary"
