"""The Darija normaliser: spellings meet, references stay, offsets stay on the original text.

The tokenizer tests build Rasa's component (importing Rasa once for this module); the
`normalise_darija` tests need no Rasa.
"""
from pathlib import Path

import pytest

from bot.nlu_components.normaliser import is_number_or_reference, normalise_darija


def _all_meet(spellings: list[str]) -> set[str]:
    return {normalise_darija(s) for s in spellings}


# ---- Arabizi spellings ------------------------------------------------------------------------
def test_arabizi_spellings_of_i_want_meet() -> None:
    assert _all_meet(["bghit", "bghiit", "bghiiiit", "bghite", "b8it", "Bghit", "BGHIT"]) == {
        "bghit"
    }


def test_arabizi_spellings_of_birth_certificate_meet() -> None:
    assert len(_all_meet(["3a9d lazdiyad", "3aqd lazdiyad", "3a9d lazdiad", "3aqd lazdiyaad"])) == 1
    assert normalise_darija("a9d") == normalise_darija("aqd")


def test_arabizi_spellings_of_what_meet() -> None:
    assert _all_meet(["chno", "chnou", "shno", "chnoo", "CHNOU"]) == {"chnu"}


@pytest.mark.parametrize(
    "spellings",
    [
        ["wach", "wash", "ouach", "waaach"],
        ["dyal", "dial", "diyal"],
        ["khasni", "khassni", "5asni", "5assni"],
        ["sokna", "soukna", "sukna"],
        ["nos5a", "noskha", "nouskha"],
        ["bzaf", "bzzaf", "bzzzzaf"],
        ["salam", "salaam", "salaaaam", "SALAM"],
        ["l3a2ili", "l3aili"],
        ["chahadat", "shahadat"],
        ["mota9iba", "moutaqiba"],
    ],
)
def test_arabizi_spelling_variants_meet(spellings: list[str]) -> None:
    assert len(_all_meet(spellings)) == 1, _all_meet(spellings)


def test_elongations_collapse() -> None:
    assert normalise_darija("bghiiiit") == "bghit"
    assert normalise_darija("salaaam") == "salam"
    assert normalise_darija("merciiiii") == normalise_darija("merci")


def test_accents_and_case_are_dropped() -> None:
    assert normalise_darija("Décès") == normalise_darija("deces")
    assert normalise_darija("ÉTAT CIVIL") == normalise_darija("etat civil")
    assert normalise_darija("français") == normalise_darija("francais")


def test_apostrophes_are_removed() -> None:
    assert normalise_darija("l'menu") == normalise_darija("lmenu")
    assert normalise_darija("l’menu") == normalise_darija("lmenu")


def test_digit_letters_stay_distinct_from_each_other() -> None:
    # 3 (ع) and 7 (ح) are letters of their own; 9 (ق) becomes q, 5 (خ) kh, 8 (غ) gh.
    assert normalise_darija("m3a") == "m3a"
    assert normalise_darija("7ofra") != normalise_darija("hofra")
    assert normalise_darija("tri9") == normalise_darija("triq")
    assert normalise_darija("5dma") == normalise_darija("khdma")
    assert normalise_darija("8ir") == normalise_darija("ghir")
    assert normalise_darija("so2al") == normalise_darija("soal")


# ---- Arabic script ------------------------------------------------------------------------------
def test_arabic_diacritics_and_tatweel_are_removed() -> None:
    assert normalise_darija("سَلَامٌ") == "سلام"
    assert normalise_darija("عقـــد") == "عقد"


def test_arabic_letter_variants_meet() -> None:
    assert normalise_darija("عقد الإزدياد") == normalise_darija("عقد الازدياد")
    assert normalise_darija("أجل") == normalise_darija("اجل") == normalise_darija("آجل")
    assert normalise_darija("شهادة السكنى") == "شهاده السكني"
    assert normalise_darija("مسؤول") == "مسوول"
    assert normalise_darija("رئيس") == "رييس"


def test_arabic_elongations_collapse() -> None:
    assert normalise_darija("سلااااام") == "سلام"
    assert normalise_darija("شكراااا بزااااف") == "شكرا بزاف"


def test_arabic_presentation_forms_are_folded() -> None:
    assert normalise_darija("ﻻ") == "لا"


# ---- what must not change -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reference",
    [
        "REC-2026-000123",
        "DEM-2026-000417",
        "IDE-2026-000012",
        "TSC-48213",
        "tsc-48213",
        "TH-20517",
        "TNB-31877",
        "ODP-70913",
    ],
)
def test_references_are_left_untouched(reference: str) -> None:
    assert is_number_or_reference(reference)
    assert normalise_darija(reference) == reference
    assert normalise_darija(f"fin wslat {reference} 3afak").split()[2] == reference


@pytest.mark.parametrize(
    "number", ["2026", "0612345678", "12/05/2026", "10h30", "2eme", "5dh", "9h", "150", "3"]
)
def test_numbers_are_left_untouched(number: str) -> None:
    assert normalise_darija(number) == number


def test_only_words_mixing_letters_and_arabizi_digits_are_arabizi() -> None:
    assert not is_number_or_reference("3a9d")
    assert not is_number_or_reference("l3a2ili")
    assert is_number_or_reference("48213")


def test_whitespace_of_a_text_is_kept() -> None:
    assert normalise_darija("  bghiit\t3a9d\n") == "  bghit\t3aqd\n"


def test_emoji_pass_through() -> None:
    assert normalise_darija("👍") == "👍"


def test_normalising_twice_changes_nothing() -> None:
    text = "Salam bghiiit 3a9d lazdiyad dyal weldi, REC-2026-000123 — شنو خاصني باش نخرج عقد الإزدياد؟"
    once = normalise_darija(text)
    assert normalise_darija(once) == once


# ---- the Rasa tokenizer -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from bot.nlu_components.normaliser import DarijaNormalisingTokenizer

    return DarijaNormalisingTokenizer.create(
        DarijaNormalisingTokenizer.get_default_config(), None, None, None  # type: ignore[arg-type]
    )


def _message(text: str):  # type: ignore[no-untyped-def]
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={"text": text})


def test_the_tokenizer_is_registered_as_a_message_tokenizer() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    registered = DefaultV1Recipe._from_registry(
        "bot.nlu_components.normaliser.DarijaNormalisingTokenizer"
    )
    assert DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER in registered.types
    assert not registered.is_trainable


def test_token_offsets_stay_on_the_original_text(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = "Salaaam bghiiiit 3a9d lazdiyad dyal weldi REC-2026-000123 3afak"
    message = _message(text)
    tokenizer.process([message])
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens] == [
        "salam", "bghit", "3aqd", "lazdiad", "dial", "weldi", "REC-2026-000123", "3afak"
    ]
    assert [text[t.start:t.end] for t in tokens] == text.split()
    assert all(t.lemma == t.text for t in tokens)
    assert message.get("text") == text  # the text itself is never rewritten


def test_arabic_tokens_are_normalised_with_original_offsets(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = "سلاااام بغيت عقد الإزدياد"
    message = _message(text)
    tokenizer.process([message])
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens] == ["سلام", "بغيت", "عقد", "الازدياد"]
    assert [text[t.start:t.end] for t in tokens] == text.split()


def test_emoji_are_dropped_like_the_whitespace_tokenizer_does(tokenizer) -> None:  # type: ignore[no-untyped-def]
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    plain = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    for text in ["salam 👋👋 bghit", "bghit 3a9d lazdiyad 🙏", "👍", "merci :)"]:
        ours, theirs = _message(text), _message(text)
        tokenizer.process([ours])
        plain.process([theirs])
        spans = [(t.start, t.end) for t in ours.get("text_tokens")]
        assert spans == [(t.start, t.end) for t in theirs.get("text_tokens")], text


def test_training_examples_are_tokenised_and_intents_are_not_normalised(tokenizer) -> None:  # type: ignore[no-untyped-def]
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().reads(
        'version: "3.1"\n'
        "nlu:\n"
        "- intent: procedure_documents\n"
        "  examples: |\n"
        '    - chno khasni bach nkhrej [3a9d lazdiyad]{"entity": "procedure", '
        '"value": "birth_certificate"}\n'
    )
    tokenizer.process_training_data(data)
    example = data.training_examples[0]
    assert [t.text for t in example.get("text_tokens")] == [
        "chnu", "khasni", "bach", "nkhrej", "3aqd", "lazdiad"
    ]
    assert [t.text for t in example.get("intent_tokens")] == ["procedure_documents"]


def test_default_config_options_keep_working() -> None:
    from bot.nlu_components.normaliser import DarijaNormalisingTokenizer

    config = {
        **DarijaNormalisingTokenizer.get_default_config(),
        "intent_tokenization_flag": True,
        "intent_split_symbol": "_",
    }
    tokenizer = DarijaNormalisingTokenizer(config)
    message = _message("bghiit 3a9d")
    message.set("intent", "procedure_documents")
    tokenizer.process_training_data(_training_data([message]))
    assert [t.text for t in message.get("intent_tokens")] == ["procedure", "documents"]
    assert [t.text for t in message.get("text_tokens")] == ["bghit", "3aqd"]


def _training_data(messages):  # type: ignore[no-untyped-def]
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData(training_examples=messages)


def _annotated_examples(nlu_dir: Path) -> list:  # type: ignore[type-arg]
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    examples = []
    for path in sorted(nlu_dir.glob("*/*.yml")):
        data = RasaYAMLReader().read(path)
        examples += [e for e in data.training_examples if e.get("entities")]
    return examples


def test_entity_annotations_of_the_training_data_fall_on_token_boundaries(tokenizer) -> None:  # type: ignore[no-untyped-def]
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    examples = _annotated_examples(Path(__file__).resolve().parents[2] / "nlu")
    assert len(examples) > 1000, "the annotated training data of nlu/ was not found"
    plain = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    misaligned, moved = [], []
    for example in examples:
        text = example.get("text")
        reference = _message(text)
        plain.process([reference])
        tokenizer.process([example])
        tokens = example.get("text_tokens")
        if [(t.start, t.end) for t in tokens] != [
            (t.start, t.end) for t in reference.get("text_tokens")
        ]:
            moved.append(text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        for entity in example.get("entities"):
            if entity["start"] not in starts or entity["end"] not in ends:
                misaligned.append((text, entity["start"], entity["end"]))
    assert not moved  # the same spans as Rasa's WhitespaceTokenizer, on the original text
    assert not misaligned


def test_no_token_text_is_ever_empty(tokenizer) -> None:  # type: ignore[no-untyped-def]
    for text in ["' ' '", "2 2", "l' 3", "— … «»", "ـــ"]:
        message = _message(text)
        tokenizer.process([message])
        assert all(t.text.strip() for t in message.get("text_tokens")), text
