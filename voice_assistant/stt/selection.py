"""Where a Vosk model is, and which engine to use: pure functions, tested without any model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"
ENGINES = ("auto", "vosk", "pocketsphinx")


def user_models_dir() -> Path:
    """The per-user folder models are downloaded to (e.g. ~/.local/share/voice-assistant/models)."""
    return Path(platformdirs.user_data_dir("voice-assistant")) / "models"


def project_models_dir() -> Path:
    """The ``models/`` folder of a source checkout."""
    return Path(__file__).resolve().parent.parent.parent / "models"


def vosk_model_candidates(explicit: str | None, env: Mapping[str, str], name: str = DEFAULT_VOSK_MODEL,
                          project_dir: Path | None = None, user_dir: Path | None = None) -> list[Path]:
    """Places to look for a Vosk model, in order: --model, $VOSK_MODEL_PATH, models/<name>, user dir."""
    if explicit:
        return [Path(explicit).expanduser()]
    candidates = []
    if env.get("VOSK_MODEL_PATH"):
        candidates.append(Path(env["VOSK_MODEL_PATH"]).expanduser())
    candidates.append((project_dir or project_models_dir()) / name)
    candidates.append((user_dir or user_models_dir()) / name)
    return candidates


def looks_like_vosk_model(path: Path) -> bool:
    """A Vosk model folder has an acoustic model and a decoding graph."""
    return (path / "am" / "final.mdl").is_file() and (path / "graph").is_dir() and (path / "conf").is_dir()


def find_vosk_model(explicit: str | None, env: Mapping[str, str], **kwargs: Path) -> Path | None:
    """The first candidate folder holding a Vosk model, or ``None``."""
    for candidate in vosk_model_candidates(explicit, env, **kwargs):
        if looks_like_vosk_model(candidate):
            return candidate
    return None


@dataclass(frozen=True)
class EngineChoice:
    """The engine to load, and a one-line notice for the user (or '')."""

    engine: str
    notice: str = ""


def choose_engine(requested: str, vosk_model: Path | None, vosk_available: bool = True) -> EngineChoice:
    """``auto`` means Vosk when a model is present, else PocketSphinx with a notice."""
    if requested == "pocketsphinx":
        return EngineChoice("pocketsphinx")
    if requested == "vosk":
        return EngineChoice("vosk")
    if vosk_model is not None and vosk_available:
        return EngineChoice("vosk", f"Using Vosk model {vosk_model}.")
    return EngineChoice("pocketsphinx", "No Vosk model found: using the built-in PocketSphinx recognizer "
                                        "(run 'voice-assistant download-model' for better accuracy).")
