"""Spelling normalisation for Darija (Arabic script and Arabizi) and phone-typed French.

Citizens write the same word many ways: `bghit` / `bghiit` / `bghite` / `b8it`, `3a9d` / `3aqd`,
`chno` / `chnou` / `shno`, `عقد الازدياد` with or without hamza, tashkeel or tatweel. The model
should see one spelling per word, so every token goes through `normalise_darija` before the
featurizers. The scheme (applied per whitespace-separated word):

Arabic script
  * tashkeel (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel removed;
  * presentation forms folded (NFKC: `ﻻ` → `لا`);
  * أ إ آ ٱ → ا ; ى → ي ; ة → ه ; ؤ → و ; ئ → ي ; Persian ی → ي ; ک → ك ; گ ݣ → ڭ ;
  * a letter written 3 or more times in a row is written once (`سلاااام` → `سلام`).

Latin script (Arabizi and French alike, so both meet at training and at inference)
  * lowercase, accents stripped (`é` → `e`, `œ` → `oe`), apostrophes removed (`l'menu` → `lmenu`);
  * digits that are letters, only in words mixing letters and digits: `5` → `kh`, `8` → `gh`,
    `9` → `q`, `2` (hamza) dropped; `3` (ع) and `7` (ح) kept as the letters they are;
  * `sh` → `ch`; a word-initial `ou` before a vowel → `w` (`ouach` → `wach`);
    `o` → `u` (so `ou`, `oo`, `o` meet: `chno` / `chnou` → `chnu`, `sokna` / `soukna` → `sukna`);
    `ee` → `i`; `y` after the first letter → `i` (`dyal` / `diyal` → `dial`);
  * doubled letters written once (`bghiiiit` → `bghit`, `salaaam` → `salam`, `bzzaf` → `bzaf`);
  * a final `e` after a consonant dropped (`bghite` → `bghit`; French `de` → `d` meets `d'`).

Left untouched, byte for byte: words without letters (`2026`, `12.5`) and words that are
numbers or references rather than Arabizi — a run of 3+ digits, a digit 0/1/4/6 (never a letter
in Arabizi), or a number with a unit (`2eme`, `5dh`, `9h`): `REC-2026-000123`, `TSC-48213`,
`0612345678`, `10h30`.

`DarijaNormalisingTokenizer` is Rasa's `WhitespaceTokenizer` (same splitting, same emoji
handling, same config) run on the ORIGINAL text, with each token's text and lemma then replaced
by its normalised form: token offsets stay on the original text, so entity annotations and
extracted entity values need no remapping. It is built on first access, so importing this
module does not import Rasa.
"""

import re
import unicodedata
from typing import Any

_APOSTROPHES = re.compile("['’‘`´ʼ′]")
_ARABIC_VARIANTS = str.maketrans(
    {
        "\u0623": "\u0627",  # أ → ا
        "\u0625": "\u0627",  # إ → ا
        "\u0622": "\u0627",  # آ → ا
        "\u0671": "\u0627",  # ٱ → ا
        "\u0649": "\u064a",  # ى → ي
        "\u0629": "\u0647",  # ة → ه
        "\u0624": "\u0648",  # ؤ → و
        "\u0626": "\u064a",  # ئ → ي
        "\u06cc": "\u064a",  # ی (Persian yeh) → ي
        "\u06a9": "\u0643",  # ک (keheh) → ك
        "\u06af": "\u06ad",  # گ → ڭ (the Moroccan g)
        "\u0763": "\u06ad",  # ݣ → ڭ
        "\u0640": None,  # tatweel
        "œ": "oe",
        "æ": "ae",
    }
)
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_ALNUM_CHUNK = re.compile(r"[^\W_]+")
# Digits that are never Arabizi letters, or long digit runs: numbers, references, phones, dates.
_NOT_ARABIZI_DIGITS = re.compile(r"\d{3,}|[0146]")
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:h|er|ere|eme|em|e|dh|dhs|mad|km|kg|m|min|mn|ans?|mois|j|jrs?|jours?|x|s)",
    re.IGNORECASE,
)
_ELONGATION = re.compile(r"([^\W\d_])\1{2,}")
_LATIN_CHUNK = re.compile(r"[a-z0-9]+")
_ARABIZI_DIGITS = str.maketrans({"5": "kh", "8": "gh", "9": "q", "2": None})
_INITIAL_OU_BEFORE_VOWEL = re.compile(r"^ou(?=[aei])")
_DOUBLED_LETTER = re.compile(r"([a-z])\1+")
_FINAL_E_AFTER_CONSONANT = re.compile(r"(?<=[bcdfghjklmnpqrstvwxz])e$")
_WORD = re.compile(r"\S+")


def is_number_or_reference(word: str) -> bool:
    """Is this word a number or a reference (kept as typed) rather than a word?

    True for words without letters (`2026`) and for words whose digits cannot be Arabizi
    letters: `REC-2026-000123`, `tsc-48213`, `0612345678`, `10h30`, `2eme`, `5dh`.
    """
    if not _DIGIT.search(word):
        return False
    if not _LETTER.search(word) or _NOT_ARABIZI_DIGITS.search(word):
        return True
    return any(_NUMBER_WITH_UNIT.fullmatch(chunk) for chunk in _ALNUM_CHUNK.findall(word))


def _latin_chunk(match: "re.Match[str]") -> str:
    chunk = match.group()
    if not any("a" <= c <= "z" for c in chunk):
        return chunk  # a number inside a word (`n5-3`): kept
    if _DIGIT.search(chunk):
        chunk = chunk.translate(_ARABIZI_DIGITS)
    chunk = chunk.replace("sh", "ch")
    chunk = _INITIAL_OU_BEFORE_VOWEL.sub("w", chunk)
    chunk = chunk.replace("ee", "i").replace("o", "u")
    if len(chunk) > 1:
        chunk = chunk[0] + chunk[1:].replace("y", "i")
    chunk = _DOUBLED_LETTER.sub(r"\1", chunk)
    return _FINAL_E_AFTER_CONSONANT.sub("", chunk)


def _normalise_word(word: str) -> str:
    if is_number_or_reference(word):
        return word
    text = _APOSTROPHES.sub("", word)
    text = unicodedata.normalize("NFKC", text).translate(_ARABIC_VARIANTS)
    text = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    text = unicodedata.normalize("NFC", text).casefold().translate(_ARABIC_VARIANTS)
    text = _ELONGATION.sub(r"\1", text)
    return _LATIN_CHUNK.sub(_latin_chunk, text)


def normalise_darija(text: str) -> str:
    """The normalised spelling of a token or a whole text (whitespace is kept as is)."""
    return _WORD.sub(lambda m: _normalise_word(m.group()), text)


# ---- the Rasa component, built on first access ----------------------------------------------
def _build_tokenizer() -> type:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.nlu.tokenizers.tokenizer import Token
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    @DefaultV1Recipe.register(
        DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
    )
    class DarijaNormalisingTokenizer(WhitespaceTokenizer):
        """WhitespaceTokenizer on the original text, with every token's spelling normalised.

        Offsets (`start`, `end`) stay those of the original text; only `text` and `lemma`
        change, so entity annotations and extracted values refer to what the citizen typed.
        """

        def tokenize(self, message: Message, attribute: str) -> list[Token]:
            tokens = super().tokenize(message, attribute)
            for token in tokens:
                normalised = normalise_darija(token.text)
                if normalised.strip():
                    token.text = normalised
                    token.lemma = normalised
            return tokens

    return DarijaNormalisingTokenizer


def __getattr__(name: str) -> Any:
    if name == "DarijaNormalisingTokenizer":
        component = _build_tokenizer()
        globals()[name] = component
        return component
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
