"""Which language a citizen wrote in: `fr`, `ary` (Darija, Arabic script) or `ary_latn` (Arabizi).

`detect_language` is a scored lexicon, no model:

* Arabic-script words are Darija: the text is `ary` when Arabic letters are at least half of
  the letters, or when Arabic-script words outweigh the French evidence of the Latin words
  (`سلام بغيت extrait de naissance` is `ary`).
* Latin words score for French (pronouns, verbs, question words, greetings, SMS forms like
  `jveux`, `svp`, `koi`; accents é è à ç …; verb endings -ez -ons -ait) or for Darija
  (`chno`, `bghit`, `wach`, `dyal`, `3afak`, `kifach`, `fin`, `khasni`, `daba`, `ila`, `bzaf` …;
  letters written as digits 2 3 5 7 8 9 inside a word; word-initial consonant pairs French never
  starts a word with, like `lm`dina, `nk`hrej, `mz`yan; negations `ma…ch`). Words are compared
  after `normalise_darija`, so every spelling the normaliser unifies is recognised.
  Administrative nouns (`extrait`, `acte`, `naissance`, `taxe`) score for neither: Darija
  speakers use them as much as French speakers, and the little French words inside them
  (`de`, `d'`, `le`) weigh little and `la` (also Darija for "no") nothing. So code-switched `salam bghit extrait d'acte de naissance`
  is `ary_latn`, and `Bonjour, je veux un extrait de naissance` is `fr`.
* `None` when there is nothing to go on: no letters (emoji, digits, punctuation, references
  such as `REC-2026-000123`), or only words that are evidence for neither (`ok`, `hello`,
  a `/payload`). Callers keep the conversation's previous language then.

`LanguageDetector` is the Rasa graph component (registered as a message featurizer, not
trainable) that writes `language` into each parsed message as an output property, so it
appears in the parse data of `Agent.parse_message` and of the tracker's latest message. It is
built on first access, so importing this module does not import Rasa.
"""

import re
import unicodedata
from typing import Any, Optional

from bot.nlu_components.normaliser import is_number_or_reference, normalise_darija

LANGUAGE_KEY = "language"

# ---- lexicons (raw spellings; compared after normalisation) -----------------------------------
_FRENCH: dict[float, str] = {
    2.0: """
        je j jveux jveu jvoudrais jvx jsuis jsui chui jai jpeux jpe jdois jvais jcrois jsais
        tu il ils elle elles nous vous moi toi lui eux
        suis es est sommes etes sont ai avez avons ont etait serait sera cest
        veux voudrais voulais veut voulez voudrait voudrions peux peut pouvez pourrais pourriez
        pourrait puis puisse faut fallait dois doit devez devrais dit faire fait faites fais
        sais savoir connaitre voir avoir etre aller vais vas allez envoyer recevoir prendre
        comment combien pourquoi quand quel quelle quels quelles quoi koi kel kelle kels
        qui que quelqu quelque keske ske kesk cmt pk pq pcq jsp
        mon mes ton tes votre vos notre nos leur leurs son ses cette ces cet
        pas plus tres bien aussi alors donc deja encore toujours jamais rien tout tous toute
        toutes comme parce car puisque mais ensuite
        avec pour pr dans sans chez vers depuis pendant entre apres avant sous
        oui ouais non merci mrc bonjour bjr bonsoir bsr coucou svp stp sil plait
        aujourdhui demain hier maintenant besoin obtenir demander voudrions madame monsieur
        daccord dacc dac aurevoir revoir rvoir
    """,
    1.5: "et une un on par aux moi bonne bon",
    1.0: "c ce y les des du au en sur se me te m t s ici salut slt",
    0.5: "le de d l ne n",
}
_DARIJA: dict[float, str] = {
    3.0: """
        bghit bghiti bgha bghat bghina bghitu bghito kanbghi nbghi tbghi brit briti
        khasni khassni khasek khassek khasna khassna khas khass khassa khasso khassou khassni
        chno chnou chnu achno ashno chnahowa chnahuwa chnahiya chnia shnu chkoun chkun shkon
        wach wash ouach wech kifach kifash kifech kifch
        daba imta foqach waqtach mnin lach alach chhal chal bchhal bchal qaddach qdach
        dyal dial diyal dyali dyalek dyalk dyalo dyalna dyalkom dialkom dyalha dyalhom
        afak afek afakom bzaf bzzaf bezaf bzf
        hadi hada hadchi hadak hadik hadok hadouk
        howa huwa hiya ntoma ntouma ntuma homa houma
        kayn kayna kain kaina kayen kaynin kaynch makaynch makainch mkaynch
        wakha wakhha bslama beslama bsalama mzyan mezyan mzyana mezyana
        walakin walakine walo walou ghadi ghan ghanmchi mazal mazel bach bash machi mashi
        nkhrej nkhrj khrej nkhalles nkhales nkhalas nkhless ndir ndiro nchouf nsewel nsowel
        nqder nqdr nmchi mchit 3tini atini awni smahli smehli goli golia qolli andi andek
        hder nhder nheder hdar tkelem fhmt fhemt mafhemtch mafhmtch kolchi kulchi
        rah raha rani rak raki tsift sift seft chwiya chwia dima fiha liya lia
        yak yakma wlah wallah wallahi inchallah nchallah inshallah hamdullah lhamdullah
        hamdolah choukran chokran chukran shukran labas lbas bikhir mochkil mouchkil khdma
        khedma lkhdma zbel zbal lazbal wraq lwraq fach melli kidayr kidayra kidayrin khoya
        khouya khti khtii
    """,
    2.0: """
        kif fen fain fina ila ida had chi shi wahed wahd ana nta nti hia ewa iyeh iyyeh
        waxa safi baraka salam slm slam salamo salamu mrhba marhba zwin ghir gha wla wela
        olla mn men ala dak dik dok yallah triq ltriq lma hna lik lih lina fih ta3 dba dir
        ahla amani
    """,
    1.5: "fin f fl fi hta jnan lah",
    1.0: "b w bla ha",
}


def _lexicon(groups: dict[float, str]) -> dict[str, float]:
    lexicon: dict[str, float] = {}
    for weight, words in groups.items():
        for word in words.split():
            key = normalise_darija(word)
            lexicon[key] = max(weight, lexicon.get(key, 0.0))
    return lexicon


FRENCH_WORDS = _lexicon(_FRENCH)
DARIJA_WORDS = _lexicon(_DARIJA)

_VOWELS = set("aeiouy")
_CONSONANTS = set("bcdfghjklmnpqrstvwxz")
# Word-initial consonant pairs French uses; any other pair (lm, nk, mz, bz, kh, gh…) is Darija.
_FRENCH_ONSETS = frozenset(
    "bl br ch cl cr dr fl fr gl gn gr kl kr ph pl pr ps pt rh sc sk sl sm sn sp st sv th tr "
    "vr wh".split()
)
_FRENCH_ABBREVIATIONS = frozenset("mlle mmes cnss bjrs svpp stpp".split())
_ACCENTED = set("éèêëàâäùûüçîïôœ")
_FRENCH_ENDINGS = ("ez", "ons", "ais", "ait", "aient", "eux", "euse")
_NOUN_ENDINGS = ("tions", "sions")  # borrowed nouns: consultations, reclamations
_ARABIZI_DIGITS = set("235789")
_URL_OR_EMAIL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")

# Weights of the non-lexical evidence.
DIGIT_LETTER_WEIGHT = 2.5
NEGATION_WEIGHT = 3.0
ONSET_WEIGHT = 1.5
ARABIC_WORD_WEIGHT = 3.0
ACCENT_WEIGHT = 1.5
ENDING_WEIGHT = 1.0


def _is_arabic_letter(char: str) -> bool:
    code = ord(char)
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF
        or 0xFE70 <= code <= 0xFEFF
    ) and unicodedata.category(char).startswith("L")


def _is_latin_letter(char: str) -> bool:
    return (char.isascii() and char.isalpha()) or (
        unicodedata.category(char).startswith("L") and "LATIN" in unicodedata.name(char, "")
    )


def _darija_evidence(raw: str, word: str) -> float:
    """Arabizi evidence of one Latin word (`raw` lowercased as typed, `word` normalised)."""
    score = DARIJA_WORDS.get(word, 0.0)
    if any(c in _ARABIZI_DIGITS for c in raw) and any(c.isalpha() for c in raw):
        score += DIGIT_LETTER_WEIGHT
    if len(raw) >= 6 and raw.startswith("ma") and raw.endswith(("ch", "sh")):
        score += NEGATION_WEIGHT
    if (
        len(raw) >= 4
        and raw not in _FRENCH_ABBREVIATIONS
        and raw[0] in _CONSONANTS
        and raw[1] in _CONSONANTS
        and raw[:2] not in _FRENCH_ONSETS
        and any(c in _VOWELS for c in raw)
    ) or (len(raw) >= 4 and raw.startswith("ch") and raw[2] in _CONSONANTS - {"r", "l"}):
        score += ONSET_WEIGHT
    return score


def _french_evidence(raw: str, word: str) -> float:
    """French evidence of one Latin word (`raw` lowercased as typed, `word` normalised)."""
    score = FRENCH_WORDS.get(word, 0.0)
    if any(c in _ACCENTED for c in raw):
        score += ACCENT_WEIGHT
    if (
        len(raw) >= 4
        and raw.endswith(_FRENCH_ENDINGS)
        and not raw.endswith(_NOUN_ENDINGS)
        and word not in DARIJA_WORDS
    ):
        score += ENDING_WEIGHT
    return score


def language_scores(text: str) -> dict[str, float]:
    """The evidence behind `detect_language`: letters per script and the two Latin scores."""
    text = _URL_OR_EMAIL.sub(" ", text)
    words = [w for w in text.split() if not is_number_or_reference(w)]
    scores = dict.fromkeys(("arabic_letters", "latin_letters", "arabic_words", "fr", "ary_latn"), 0.0)
    for chunk in words:
        for raw in _WORD.findall(chunk):
            arabic = sum(1 for c in raw if _is_arabic_letter(c))
            latin = sum(1 for c in raw if _is_latin_letter(c))
            scores["arabic_letters"] += arabic
            scores["latin_letters"] += latin
            if arabic:
                scores["arabic_words"] += 1
                continue
            if not latin:
                continue
            lowered = raw.casefold()
            word = normalise_darija(lowered)
            scores["fr"] += _french_evidence(lowered, word)
            scores["ary_latn"] += _darija_evidence(lowered, word)
    return scores


def detect_language(text: str) -> Optional[str]:
    """`fr`, `ary`, `ary_latn`, or None when the text gives nothing to go on."""
    if not text:
        return None
    scores = language_scores(text)
    arabic, latin = scores["arabic_letters"], scores["latin_letters"]
    if not arabic and not latin:
        return None
    if arabic >= latin:
        return "ary"
    arabic_script = ARABIC_WORD_WEIGHT * scores["arabic_words"]
    darija = arabic_script + scores["ary_latn"]
    french = scores["fr"]
    if darija == 0 and french == 0:
        return None
    if french > darija:
        return "fr"
    return "ary" if arabic_script >= scores["ary_latn"] else "ary_latn"


# ---- the Rasa component, built on first access ----------------------------------------------
def _build_detector() -> type:
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    @DefaultV1Recipe.register(
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
    )
    class LanguageDetector(GraphComponent):
        """Sets `language` (fr / ary / ary_latn) on each message, as an output property."""

        @staticmethod
        def get_default_config() -> dict[str, Any]:
            return {}

        def __init__(self, config: dict[str, Any]) -> None:
            self._config = config

        @classmethod
        def create(
            cls,
            config: dict[str, Any],
            model_storage: ModelStorage,
            resource: Resource,
            execution_context: ExecutionContext,
        ) -> GraphComponent:
            return cls(config)

        def process_training_data(self, training_data: TrainingData) -> TrainingData:
            return training_data

        def process(self, messages: list[Message]) -> list[Message]:
            for message in messages:
                text = message.get(TEXT)
                if isinstance(text, str) and text:
                    message.set(LANGUAGE_KEY, detect_language(text), add_to_output=True)
            return messages

    return LanguageDetector


def __getattr__(name: str) -> Any:
    if name == "LanguageDetector":
        component = _build_detector()
        globals()[name] = component
        return component
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
