"""`sawt eval`: how well the trained model reads each language on the held-out sets.

For every `tests/nlu/test_<lang>.yml` (fr, ary, ary_latn) the model is run on each example
(loaded once for all languages), then:

- intent accuracy and intent macro-F1 (unweighted mean over the intents of the test set);
- entity macro-F1: Rasa's token-level entity-type evaluation, unweighted mean over the entity
  types annotated in the test set. The model's entities are scored as the assistant sees
  them: all entity extractors of the pipeline merged into one prediction. `None` when the test
  set has no entity annotation.

As in `rasa test nlu`, an example the FallbackClassifier turned into `nlu_fallback` is scored
on the intent ranked first underneath, so the figures measure the classifier, not the
threshold.

Written to `out/`: per language `<lang>/intent_report.json`, `<lang>/entity_report.json`
(scikit-learn classification reports, like Rasa's), `<lang>/intent_errors.json`,
`<lang>/entity_errors.json`, `<lang>/intent_confusion.png`; and `summary.json`, `summary.md`.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import yaml

logger = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("fr", "ary", "ary_latn")

# The 27 intents (nlu/README.md), grouped by domain: the confusion matrix follows this order.
INTENTS: tuple[str, ...] = (
    "greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge",
    "human_handoff", "change_language", "out_of_scope",
    "procedure_documents", "procedure_cost", "procedure_delay", "procedure_where",
    "request_status",
    "tax_info", "tax_deadline", "tax_pay", "tax_balance",
    "consultation_list", "consultation_participate", "consultation_results", "idea_submit",
    "complaint_submit", "complaint_status", "subscribe", "unsubscribe",
)  # fmt: skip

METRICS: tuple[str, ...] = ("intent_macro_f1", "entity_macro_f1")


@dataclass(frozen=True)
class LanguageScores:
    language: str
    examples: int
    intent_accuracy: float
    intent_macro_f1: float
    entity_macro_f1: Optional[float]  # None: no entity annotated in the test set

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def held_out_path(test_dir: Path, language: str) -> Path:
    return test_dir / f"test_{language}.yml"


def evaluate(model: Path, test_dir: Path, out: Path) -> dict[str, LanguageScores]:
    """Evaluate `model` on each `test_dir/test_<lang>.yml` present; write the reports to `out`.

    A missing language is skipped with a warning; no test file at all is an error.
    """
    present = [lang for lang in LANGUAGES if held_out_path(test_dir, lang).is_file()]
    missing = [lang for lang in LANGUAGES if lang not in present]
    for lang in missing:
        logger.warning("no %s: skipping %s", held_out_path(test_dir, lang), lang)
    if not present:
        raise FileNotFoundError(f"no test_<lang>.yml in {test_dir} (languages {LANGUAGES})")

    from rasa.core.agent import Agent

    _quiet_rasa_structlog()
    agent = Agent.load(str(model))
    if agent.processor is None:
        raise RuntimeError(f"the model {model} did not load")
    out.mkdir(parents=True, exist_ok=True)
    scores = asyncio.run(_evaluate_all(agent.processor, test_dir, present, out))

    summary = {
        "model": str(model),
        "languages": {lang: s.as_dict() for lang, s in scores.items()},
        "skipped": missing,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    table = summary_table(scores.values())
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return scores


def _quiet_rasa_structlog() -> None:
    """Rasa logs every parse through structlog, at DEBUG unless configured: follow `logging`."""
    import structlog

    if not structlog.is_configured():
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.getLogger().getEffectiveLevel())


async def _evaluate_all(
    processor: Any, test_dir: Path, languages: Sequence[str], out: Path
) -> dict[str, LanguageScores]:
    return {
        lang: await _evaluate_language(processor, lang, held_out_path(test_dir, lang), out / lang)
        for lang in languages
    }


async def _evaluate_language(
    processor: Any, language: str, path: Path, out: Path
) -> LanguageScores:
    from rasa.nlu.test import evaluate_entities, evaluate_intents, get_eval_data
    from rasa.shared.nlu.training_data.loading import load_data

    test_data = load_data(str(path))
    examples = len(test_data.intent_examples)
    if len({m.get("intent") for m in test_data.intent_examples}) < 2:
        raise ValueError(f"{path}: fewer than two intents, nothing to evaluate")
    # One pass of the model over the examples; what `rasa.nlu.test.run_evaluation` does,
    # without its output files and its per-extractor-only entity scoring.
    intent_results, _, entity_results = await get_eval_data(processor, test_data)
    out.mkdir(parents=True, exist_ok=True)

    intents = evaluate_intents(
        intent_results, None, successes=False, errors=False, disable_plotting=True,
        report_as_dict=True,
    )  # fmt: skip
    _write_json(out / "intent_report.json", intents["report"])
    _write_json(out / "intent_errors.json", intents["errors"])
    targets = [r.intent_target for r in intent_results]
    predicted = [r.intent_prediction or "" for r in intent_results]
    intent_f1 = _macro_f1(intents["report"], set(targets))

    entity_f1: Optional[float] = None
    entity_report: dict[str, Any] = {}
    entity_errors: list[Any] = []
    if entity_results:  # the test set annotates at least one entity
        merged, extractor = _merge_extractors(entity_results)
        entities = evaluate_entities(
            merged, {extractor}, None, successes=False, errors=False, disable_plotting=True,
            report_as_dict=True,
        )[extractor]  # fmt: skip
        entity_report, entity_errors = entities["report"], entities["errors"]
        labels = {k for k, v in entity_report.items() if _is_label(k, v)}
        entity_f1 = _macro_f1(entity_report, labels)
    _write_json(out / "entity_report.json", entity_report)
    _write_json(out / "entity_errors.json", entity_errors)

    scores = LanguageScores(
        language=language,
        examples=examples,
        intent_accuracy=round(float(intents["accuracy"]), 4),
        intent_macro_f1=round(intent_f1, 4),
        entity_macro_f1=None if entity_f1 is None else round(entity_f1, 4),
    )
    plot_confusion(targets, predicted, out / "intent_confusion.png", scores)
    return scores


def _merge_extractors(entity_results: list[Any]) -> tuple[list[Any], str]:
    """The entities of all extractors as one prediction, named after the extractors."""
    active = sorted({e.get("extractor", "") for r in entity_results for e in r.entity_predictions})
    name = "+".join(active) or "no_extractor"
    merged = [
        r._replace(entity_predictions=[{**e, "extractor": name} for e in r.entity_predictions])
        for r in entity_results
    ]
    return merged, name


def _is_label(key: str, value: Any) -> bool:
    return isinstance(value, dict) and "f1-score" in value and not key.endswith(" avg")


def _macro_f1(report: dict[str, Any], labels: Iterable[str]) -> float:
    """Unweighted mean F1 over `labels` (the classes of the test set)."""
    f1 = [float(report[label]["f1-score"]) for label in labels if label in report]
    return sum(f1) / len(f1) if f1 else 0.0


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot_confusion(
    targets: Sequence[str], predicted: Sequence[str], path: Path, scores: LanguageScores
) -> None:
    """Rows: true intent; colour: share of the row (recall); numbers: counts (zeros hidden)."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state
    from sklearn.metrics import confusion_matrix

    present = set(targets) | set(predicted)
    labels = [i for i in INTENTS if i in present] + sorted(present - set(INTENTS))
    matrix = confusion_matrix(targets, predicted, labels=labels)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    names = [label or "(no intent)" for label in labels]

    size = max(8.0, 0.42 * len(labels) + 3.5)
    figure = Figure(figsize=(size + 1.2, size), dpi=110)
    ax = figure.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    colorbar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label("share of the true intent's examples")
    for i, j in zip(*np.nonzero(matrix)):
        colour = "white" if share[i, j] > 0.6 else ("black" if i == j else "firebrick")
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8, color=colour)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, rotation=90, fontsize=8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xticks(ticks - 0.5, minor=True)
    ax.set_yticks(ticks - 0.5, minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(
        f"{scores.language}: {scores.examples} examples, accuracy {scores.intent_accuracy:.3f}, "
        f"macro-F1 {scores.intent_macro_f1:.3f}"
    )
    figure.tight_layout()
    figure.savefig(path)


def summary_table(scores: Iterable[LanguageScores]) -> str:
    def fmt(value: Optional[float]) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        "| language | examples | intent accuracy | intent macro-F1 | entity macro-F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.language} | {s.examples} | {fmt(s.intent_accuracy)} | "
            f"{fmt(s.intent_macro_f1)} | {fmt(s.entity_macro_f1)} |"
        )
    return "\n".join(lines)


def load_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """`{language: {"intent_macro_f1": min, "entity_macro_f1": min}}` from thresholds.yml."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of languages")
    unknown = set(data) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"{path}: unknown languages {sorted(unknown)}")
    thresholds: dict[str, dict[str, float]] = {}
    for lang, gates in data.items():
        if not isinstance(gates, dict) or set(gates) != set(METRICS):
            raise ValueError(f"{path}: {lang} needs exactly {list(METRICS)}")
        values = {metric: float(gates[metric]) for metric in METRICS}
        if not all(0.0 <= v <= 1.0 for v in values.values()):
            raise ValueError(f"{path}: {lang}: thresholds must be between 0 and 1")
        thresholds[lang] = values
    return thresholds
