"""NLU quality per language on the held-out sets tests/nlu/test_<lang>.yml.

The data checks (the sets are complete and really held out) need no model and run always;
the scores need the model trained with config.yml (`slow`).
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from bot.nlu_eval import INTENTS, LANGUAGES, LanguageScores, evaluate, load_thresholds
from bot.settings import PROJECT_ROOT

TEST_DIR = Path(__file__).resolve().parent
TRAINING_DIR = PROJECT_ROOT / "nlu"
THRESHOLDS = TEST_DIR / "thresholds.yml"
MIN_EXAMPLES_PER_INTENT = 10


def examples(path: Path) -> Iterator[tuple[str, str]]:
    """(intent, text without entity markup) of each intent example of a Rasa YAML file."""
    from rasa.shared.nlu.training_data.entities_parser import replace_entities

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue  # synonym, regex, lookup
        raw = block.get("examples") or ""
        if isinstance(raw, str):
            texts = [line.strip()[2:] for line in raw.splitlines() if line.strip().startswith("- ")]
        else:  # list of {text: ..., metadata: ...}
            texts = [item["text"] for item in raw]
        for text in texts:
            yield block["intent"], replace_entities(text)


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def held_out(language: str) -> Path:
    path = TEST_DIR / f"test_{language}.yml"
    assert path.is_file(), f"{path.relative_to(PROJECT_ROOT)} is missing"
    return path


# ---- the data: no model needed -------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_set_covers_every_intent(language: str) -> None:
    counts = Counter(intent for intent, _ in examples(held_out(language)))
    unknown = sorted(set(counts) - set(INTENTS))
    assert not unknown, f"test_{language}.yml: intents outside the 27: {unknown}"
    short = {i: counts[i] for i in INTENTS if counts[i] < MIN_EXAMPLES_PER_INTENT}
    assert not short, (
        f"test_{language}.yml: fewer than {MIN_EXAMPLES_PER_INTENT} examples for {short}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_set_is_not_in_the_training_data(language: str) -> None:
    trained: dict[str, str] = {}
    for path in sorted(TRAINING_DIR.rglob("*.yml")):
        for _, text in examples(path):
            trained.setdefault(normalise(text), str(path.relative_to(PROJECT_ROOT)))
    assert trained, f"no training example under {TRAINING_DIR}"
    leaked = [
        f"{text!r} (also in {trained[normalise(text)]})"
        for _, text in examples(held_out(language))
        if normalise(text) in trained
    ]
    assert not leaked, f"test_{language}.yml examples found in nlu/: " + "; ".join(leaked)


def test_thresholds_cover_every_language() -> None:
    assert set(load_thresholds(THRESHOLDS)) == set(LANGUAGES)


# ---- the trained model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluation(
    trained_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, LanguageScores], Path]:
    out = tmp_path_factory.mktemp("nlu_eval")
    return evaluate(trained_model_path, TEST_DIR, out), out


@pytest.mark.slow
def test_evaluation_writes_the_reports(evaluation: tuple[dict[str, LanguageScores], Path]) -> None:
    scores, out = evaluation
    assert set(scores) == set(LANGUAGES), f"evaluated {sorted(scores)}, expected {LANGUAGES}"
    for language in LANGUAGES:
        intent_report = json.loads((out / language / "intent_report.json").read_text())
        assert set(INTENTS) <= set(intent_report), language
        entity_report = json.loads((out / language / "entity_report.json").read_text())
        assert entity_report, f"{language}: empty entity report (no entity in the test set?)"
        png = (out / language / "intent_confusion.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, language
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["languages"]) == set(LANGUAGES)
    table = (out / "summary.md").read_text()
    assert all(f"| {language} |" in table for language in LANGUAGES)


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_scores_reach_the_thresholds(
    language: str, evaluation: tuple[dict[str, LanguageScores], Path]
) -> None:
    scores, out = evaluation
    assert language in scores, f"{language} was not evaluated"
    got = scores[language]
    gates = load_thresholds(THRESHOLDS)[language]
    where = f"(reports in {out / language})"
    assert got.intent_macro_f1 >= gates["intent_macro_f1"], (
        f"{language}: intent macro-F1 {got.intent_macro_f1:.3f} < "
        f"{gates['intent_macro_f1']:.2f} {where}"
    )
    assert got.entity_macro_f1 is not None, f"{language}: no entity annotated in the test set"
    assert got.entity_macro_f1 >= gates["entity_macro_f1"], (
        f"{language}: entity macro-F1 {got.entity_macro_f1:.3f} < "
        f"{gates['entity_macro_f1']:.2f} {where}"
    )
