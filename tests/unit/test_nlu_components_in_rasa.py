"""The two custom components inside a real Rasa training and inference.

A tiny model (3 intents × 10 examples in fr / ary / ary_latn, references annotated) is trained
with `rasa.model_training.train_nlu` into a temporary directory, loaded with `Agent.load`, and
asked `agent.parse_message`: the parse data carries `language`, and entity offsets refer to the
text as typed even where the normaliser shortened the tokens before them.
"""
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.slow

CONFIG = """\
recipe: default.v1
language: fr
assistant_id: sawt-components-test
pipeline:
  - name: bot.nlu_components.normaliser.DarijaNormalisingTokenizer
  - name: bot.nlu_components.language.LanguageDetector
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: DIETClassifier
    epochs: 30
    random_seed: 7
    number_of_transformer_layers: 0
    hidden_layers_sizes: {text: [64]}
    embedding_dimension: 16
    constrain_similarities: true
    checkpoint_model: false
    run_eagerly: true
policies: []
"""

NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - salam
    - bonjour
    - slt
    - salam 3alaykoum
    - bonsoir
    - السلام عليكم
    - salut
    - سلام
    - bjr
    - salaaam
- intent: procedure_documents
  examples: |
    - chno khasni l [3a9d lazdiyad]{"entity": "procedure", "value": "birth_certificate"}
    - quels papiers pour un [extrait d'acte de naissance]{"entity": "procedure", "value": "birth_certificate"}
    - شنو خاصني باش نخرج [عقد الازدياد]{"entity": "procedure", "value": "birth_certificate"}
    - bghit [3aqd lazdiad]{"entity": "procedure", "value": "birth_certificate"} chno khasni
    - documents pour [acte de décès]{"entity": "procedure", "value": "death_certificate"}
    - chnou lwra9 dyal [rokhsat lbni]{"entity": "procedure", "value": "building_permit"}
    - quels documents pour le [permis de construire]{"entity": "procedure", "value": "building_permit"}
    - achno khass l [chahadat soukna]{"entity": "procedure", "value": "residence_certificate"}
    - papiers [certificat de residence]{"entity": "procedure", "value": "residence_certificate"}
    - شنو الوراق ديال [رخصة البناء]{"entity": "procedure", "value": "building_permit"}
- intent: request_status
  examples: |
    - fin wsal dossier dyali [DEM-2026-000417](reference)
    - ou en est ma demande [DEM-2026-000123](reference)
    - فين وصل الطلب ديالي [DEM-2026-000999](reference)
    - suivi [dem-2026-000018](reference)
    - wach wjed [DEM-2026-000555](reference)
    - statut de [DEM-2026-000321](reference) svp
    - [DEM-2026-000777](reference) fin wslat
    - bghiiit n3ref fin wsel [DEM-2026-000101](reference)
    - mon dossier [DEM-2026-000202](reference) avance ?
    - الطلب [DEM-2026-000303](reference) فين وصل
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Train once for the module; yield the loaded agent and the training warnings."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    directory: Path = tmp_path_factory.mktemp("rasa_components")
    (directory / "config.yml").write_text(CONFIG, encoding="utf-8")
    (directory / "nlu.yml").write_text(NLU, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patch.setenv("RASA_CACHE_DIRECTORY", str(directory / "cache"))
        model = train_nlu(
            str(directory / "config.yml"),
            str(directory / "nlu.yml"),
            str(directory / "models"),
            fixed_model_name="components",
        )
    assert model and Path(model).exists()
    agent = Agent.load(model)
    assert agent.is_ready()
    yield {"agent": agent, "warnings": [str(w.message) for w in caught]}


def test_the_model_uses_both_components_by_their_package_path(trained: dict[str, Any]) -> None:
    schema = trained["agent"].processor.model_metadata.predict_schema
    uses = {f"{node.uses.__module__}.{node.uses.__name__}" for node in schema.nodes.values()}
    assert "bot.nlu_components.normaliser.DarijaNormalisingTokenizer" in uses
    assert "bot.nlu_components.language.LanguageDetector" in uses


def test_training_reports_no_misaligned_entity(trained: dict[str, Any]) -> None:
    assert not [w for w in trained["warnings"] if "isaligned" in w]


@pytest.mark.parametrize(
    "text, language",
    [
        ("Bonjour, je veux un extrait d'acte de naissance", "fr"),
        ("salam bghit extrait d'acte de naissance", "ary_latn"),
        ("bghiiit 3a9d lazdiyad 3afak", "ary_latn"),
        ("سلام بغيت extrait de naissance", "ary"),
        ("شنو خاصني باش نخرج عقد الإزدياد", "ary"),
    ],
)
async def test_parse_data_carries_the_language(
    trained: dict[str, Any], text: str, language: str
) -> None:
    parse = await trained["agent"].parse_message(text)
    assert parse["text"] == text
    assert parse["language"] == language


async def test_emoji_only_message_has_no_language_in_parse_data(trained: dict[str, Any]) -> None:
    parse = await trained["agent"].parse_message("👍")
    assert parse.get("language") is None


async def test_entity_offsets_refer_to_the_text_as_typed(trained: dict[str, Any]) -> None:
    # "bghiiiiit" becomes the shorter token "bghit": the reference after it keeps its offsets.
    text = "salaaam bghiiiiit n3ref fin wsal DEM-2026-000417 3afak"
    parse = await trained["agent"].parse_message(text)
    references = [e for e in parse["entities"] if e["entity"] == "reference"]
    assert references, parse["entities"]
    start = text.index("DEM-2026-000417")
    assert (references[0]["start"], references[0]["end"]) == (start, start + 15)
    assert references[0]["value"] == "DEM-2026-000417"
    for entity in parse["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["value"]


async def test_text_of_the_parse_is_never_the_normalised_text(trained: dict[str, Any]) -> None:
    text = "Salaaam  BGHIIT 3a9d"
    parse = await trained["agent"].parse_message(text)
    assert parse["text"] == text
