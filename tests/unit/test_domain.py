"""The domain, rules and actions agree with each other and with the contract."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from bot.i18n import LANGUAGES
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain"


def _domain() -> dict:
    merged: dict = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            elif isinstance(value, list):
                merged.setdefault(key, []).extend(value)
    return merged


def test_every_response_exists_in_the_three_languages():
    for name, variants in _domain()["responses"].items():
        languages = []
        for variant in variants:
            condition = variant.get("condition") or []
            languages.append(next((c["value"] for c in condition if c["name"] == "language"), "fr"))
            assert variant["text"].strip(), name
        assert sorted(languages) == sorted(LANGUAGES), f"{name}: {languages}"


def test_buttons_have_the_same_payloads_in_every_language():
    for name, variants in _domain()["responses"].items():
        payloads = {tuple(b["payload"] for b in v.get("buttons") or []) for v in variants}
        assert len(payloads) == 1, name


def test_every_custom_action_of_the_domain_is_implemented():
    from rasa_sdk import Action

    import actions

    implemented: set[str] = set()
    for path in Path(actions.__file__).parent.glob("*.py"):
        module = __import__(f"actions.{path.stem}", fromlist=["_"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__:
                implemented.add(cls().name())
    assert set(_domain()["actions"]) <= implemented
    assert implemented <= set(_domain()["actions"]), "an action is implemented but not declared"


@pytest.mark.slow
def test_rasa_finds_no_inconsistency_in_the_training_data():
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_ROOT / "config.yml"),
        str(DOMAIN),
        [str(PROJECT_ROOT / "nlu"), str(PROJECT_ROOT / "stories")],
    )
    validator = Validator.from_importer(importer)
    assert validator.verify_domain_validity()
    assert validator.verify_example_repetition_in_intents(ignore_warnings=False)
    assert validator.verify_utterances_in_stories(ignore_warnings=True)
    assert validator.verify_story_structure(ignore_warnings=False)
    assert validator.verify_forms_in_stories_rules()
    assert validator.verify_actions_in_stories_rules()
    assert validator.verify_form_slots()
    assert validator.verify_slot_mappings()


@pytest.mark.slow
def test_no_spelling_maps_to_two_different_values_across_the_training_files():
    """Rasa's synonym mapper ignores the entity type and keeps the last mapping it reads: a
    spelling mapped twice would silently answer about the wrong procedure or tax."""
    from rasa.shared.nlu.training_data.loading import load_data

    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for path in sorted((PROJECT_ROOT / "nlu").rglob("*.yml")):
        for text, value in load_data(str(path)).entity_synonyms.items():
            key = text.casefold()
            if key in seen and seen[key][0] != value:
                conflicts.append(f"{text!r}: {seen[key][0]} ({seen[key][1]}) vs {value} ({path.name})")
            seen.setdefault(key, (value, path.name))
    assert not conflicts, "\n".join(conflicts)
