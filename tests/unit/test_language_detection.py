"""Language detection: French, Darija in Arabic script, Arabizi, as citizens actually type."""
from __future__ import annotations

import pytest

from bot.nlu_components.language import DARIJA_WORDS, FRENCH_WORDS, detect_language

# French as typed on a phone: no accents, SMS forms, references, a Darija place name or two.
FRENCH = [
    "bonjour je veux un extrait de naissance",
    "Quels papiers pour un extrait d'acte de naissance ?",
    "slt c koi les horaires de la mairie",
    "combien coute la legalisation de signature svp",
    "jveux savoir ou en est ma demande DEM-2026-000417",
    "il y a un trou enorme dans la rue devant chez moi",
    "merci beaucoup pour votre aide",
    "est ce que je peux payer la taxe d'habitation en ligne",
    "quand est ce que je dois declarer la tsc",
    "ya pas d'eclairage dans notre quartier depuis une semaine",
    "je voudrais parler a un agent",
    "vous etes un robot ?",
    "ca prend combien de temps pour le permis de construire",
    "les dechets ne sont pas ramasses a hay al qods",
    "je souhaite proposer une idee pour le jardin du quartier",
    "quelles sont les consultations ouvertes en ce moment",
    "comment voter pour le budget participatif",
    "c quoi la taxe sur les terrains non batis",
    "j'ai paye ma taxe mais c'est pas encore affiche",
    "ou se trouve le bureau de l'etat civil",
    "bonsoir, le certificat de residence c'est gratuit ?",
    "je veux suivre ma reclamation REC-2026-000123",
    "envoyez moi les annonces de la commune svp",
    "arretez de m'envoyer des messages",
    "quels sont les resultats du vote",
    "il faut quoi comme documents pour le livret de famille",
    "la fuite d'eau devant l'ecole n'est toujours pas reparee",
    "parlez moi en francais svp",
    "c'est quoi le delai pour une copie certifiee conforme",
    "mon pere est decede, que dois je faire",
    "Bonjour, je veux un extrait de naissance",
    "jsp comment payer ma tnb, vous pouvez m'aider ?",
    "trop de bruit la nuit a cote de chez nous",
    "est-ce que la mairie est ouverte le samedi",
    "le montant de ma taxe TSC-48213 svp",
    "je n'ai pas compris, vous pouvez repeter ?",
    "Je voudrais un rendez-vous à l'annexe administrative, c'est possible ?",
    "quelles consultations pour lmdina l9dima",
]

# Darija in Arabic script, often with French words in Latin script.
DARIJA_ARABIC = [
    "شنو خاصني باش نخرج عقد الازدياد؟",
    "سلام بغيت extrait de naissance",
    "فين كاين مكتب الحالة المدنية",
    "بشحال تصحيح الإمضاء؟",
    "شحال كتاخد رخصة البناء",
    "بغيت نعرف فين وصلات الطلب ديالي DEM-2026-000417",
    "كاينة حفرة كبيرة فالطريق قدام الدار",
    "الزبل ما تجمعش هادي سيمانة فحي السلام",
    "الضو طافي فالزنقة ديالنا",
    "شكرا بزاف",
    "واخا",
    "لا ماشي هادشي",
    "بغيت نهضر مع شي واحد من الموظفين",
    "واش نتا روبو؟",
    "كيفاش نخلص ضريبة السكن",
    "امتى آخر أجل باش نخلص la taxe",
    "شحال خاصني نخلص ديال TSC-48213",
    "بغيت نقترح فكرة على الحديقة ديال الحي",
    "شنو هوما الاستشارات المفتوحة دابا",
    "كيفاش نصوت على الميزانية التشاركية",
    "شنو هي النتائج ديال التصويت",
    "صيفط ليا الأخبار ديال الجماعة",
    "وقف",
    "هضر معايا بالفرنسية",
    "الما كيضيع فالشارع من البارح",
    "عافاك بغيت شهادة السكنى",
    "السلام عليكم",
    "كتب ليا بالحروف اللاتينية",
    "فين وصلات الشكاية ديالي REC-2026-000123",
    "الصداع ديال الجيران بالليل",
    "الدفتر العائلي شنو خاصو من وراق",
    "واش نقدر نخلص ف la poste ولا غير فالبلدية",
    "شكون لي خاصو يخلص الضريبة على الأراضي غير المبنية",
    "مرحبا، عندي سؤال على permis de construire",
    "بغيت نتسجل فالإعلانات",
    "بغيت extrait d'acte de naissance عافاك",
]

# Darija in Latin script (Arabizi), many spellings, French words mixed in.
ARABIZI = [
    "chno khasni bach nkhrej 3a9d lazdiyad ?",
    "salam bghit extrait d'acte de naissance",
    "fin kayn bureau d l'etat civil",
    "bch7al tasli7 l imda ?",
    "ch7al katakhod rokhsat lbni",
    "bghiit n3ref fin wslat demande dyali DEM-2026-000417",
    "kayna 7ofra kbira f tri9 9dam dar",
    "zbel ma tjm3ch hadi semana f hay essalam",
    "dou tafi f zen9a dyalna",
    "choukran bzaf",
    "wakha",
    "la machi hadchi",
    "bghit nhder m3a chi wa7ed",
    "wach nta robot ?",
    "kifach nkhalles taxe d'habitation",
    "imta akhir ajal bach nkhalless la taxe",
    "ch7al khasni nkhalles f TSC-48213",
    "bghit n9tare7 fikra 3la jnan dyal l7ay",
    "chnou homa les consultations li m7loulin daba",
    "kifach nsawet 3la budget participatif",
    "chno homa resultats dyal vote",
    "sift liya les annonces dyal la commune 3afak",
    "hder m3aya b darija",
    "lma kaydi3 f zan9a mn lbare7",
    "3afak bghit chahadat soukna",
    "salam 3alaykoum",
    "ktb liya b l7orof latiniya",
    "fin wslat chikaya dyali REC-2026-000123",
    "sda3 dyal jiran f lil",
    "daftar l3a2ili chno khaso mn wra9",
    "wach n9der nkhalles f la poste wla ghir f lbaladiya",
    "chkoun li khaso ykhalles tnb",
    "mar7ba, 3andi so2al 3la permis de construire",
    "bghite ntsejel f les annonces",
    "wesh kayn chi vote had l2ayam f lmdina l9dima",
    "afak chno les papiers dyal livret de famille",
    "salam bghit extrait de naissance",
    "shno khassni l permis de construire",
]


def _accuracy(sentences: list[str], language: str) -> tuple[float, list[tuple[str, object]]]:
    misses = [(s, detect_language(s)) for s in sentences if detect_language(s) != language]
    return 1 - len(misses) / len(sentences), misses


@pytest.mark.parametrize(
    "sentences, language",
    [(FRENCH, "fr"), (DARIJA_ARABIC, "ary"), (ARABIZI, "ary_latn")],
    ids=["fr", "ary", "ary_latn"],
)
def test_at_least_nine_sentences_in_ten_are_recognised_per_language(
    sentences: list[str], language: str
) -> None:
    assert len(sentences) >= 30
    accuracy, misses = _accuracy(sentences, language)
    assert accuracy >= 0.9, misses


def test_code_switched_arabizi_with_french_procedure_names_is_arabizi() -> None:
    assert detect_language("salam bghit extrait d'acte de naissance") == "ary_latn"


def test_french_asking_for_a_birth_certificate_is_french() -> None:
    assert detect_language("Bonjour, je veux un extrait de naissance") == "fr"


def test_arabic_script_darija_with_french_words_is_arabic_script_darija() -> None:
    assert detect_language("سلام بغيت extrait de naissance") == "ary"


@pytest.mark.parametrize("text", ["شنو خاصني", "واخا", "عافاك"])
def test_arabic_script_is_darija(text: str) -> None:
    assert detect_language(text) == "ary"


@pytest.mark.parametrize(
    "text", ["m3a", "3afak", "wa7ed", "n9der", "l2ayam", "sda3", "5dma", "b8it"]
)
def test_letters_written_as_digits_mean_arabizi(text: str) -> None:
    assert detect_language(text) == "ary_latn"


@pytest.mark.parametrize(
    "text", ["chno", "bghit", "wach", "dyal", "kifach", "khasni", "daba", "bzaf", "ila kan"]
)
def test_single_darija_markers_mean_arabizi(text: str) -> None:
    assert detect_language(text) == "ary_latn"


@pytest.mark.parametrize("text", ["merci", "bonjour", "svp", "oui", "je veux", "décès"])
def test_single_french_markers_mean_french(text: str) -> None:
    assert detect_language(text) == "fr"


def test_french_accents_count_for_french() -> None:
    # Administrative nouns weigh nothing; their accents do.
    assert detect_language("extrait acte de naissance") == "fr"
    assert detect_language("déclaration à la préfecture") == "fr"


@pytest.mark.parametrize("text", ["😀", "👍👍", "🙏 🙏"])
def test_emoji_only_has_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["", "   ", "123", "0612345678", "?!", "12/05/2026", "10h30"])
def test_text_without_letters_has_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "text", ["REC-2026-000123", "tsc-48213", "TNB-31877 ?", "DEM-2026-000417 👍"]
)
def test_references_alone_have_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["ok", "/greet", "hello"])
def test_words_that_are_evidence_for_neither_have_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_a_reference_does_not_change_the_language_of_its_sentence() -> None:
    assert detect_language("fin wslat REC-2026-000123") == "ary_latn"
    assert detect_language("ou en est REC-2026-000123") == "fr"
    assert detect_language("فين وصلات REC-2026-000123") == "ary"


def test_no_word_is_evidence_for_both_french_and_darija() -> None:
    assert not set(FRENCH_WORDS) & set(DARIJA_WORDS)
