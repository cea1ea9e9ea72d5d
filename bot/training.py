"""Training the Rasa model, only when the training data or the config changed."""
from __future__ import annotations

import logging
from pathlib import Path
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

DOMAIN = PROJECT_ROOT / "domain"
TRAINING_DATA = [PROJECT_ROOT / "nlu", PROJECT_ROOT / "stories"]


def train(config: Path, output: Path, force: bool = False) -> Path:
    """Train into `output` and return the model; Rasa's fingerprint skips unchanged data."""
    from rasa.api import train as rasa_train

    output.mkdir(parents=True, exist_ok=True)
    result = rasa_train(
        domain=str(DOMAIN),
        config=str(config),
        training_files=[str(p) for p in TRAINING_DATA],
        output=str(output),
        force_training=force,
    )
    if result.code != 0 or not result.model:
        raise RuntimeError(f"training failed with code {result.code}")
    return Path(result.model)
