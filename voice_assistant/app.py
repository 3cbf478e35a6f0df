"""The one place that wires the pipeline: pack -> matcher -> dialogue; recognizer; voice; devices.

Every choice is made from explicit arguments (no global configuration), so
the CLI, the tests and the benchmarks build the same objects the same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from voice_assistant.dialogue import Dialogue
from voice_assistant.errors import AssistantError, ModelError
from voice_assistant.installed import package_folder
from voice_assistant.knowledge import KnowledgePack, load_pack
from voice_assistant.nlu.encoder import MODEL_NAME, SentenceEncoder, find_encoder_model, installed_package_model
from voice_assistant.nlu.matcher import Matcher
from voice_assistant.stt.base import Recognizer
from voice_assistant.stt.selection import (DEFAULT_VOSK_MODEL, choose_engine, find_vosk_model, find_whisper_model,
                                           looks_like_whisper_model, packaged_whisper_model, project_models_dir,
                                           user_models_dir, vosk_model_candidates, whisper_model_candidates)
from voice_assistant.tts.base import Synthesizer
from voice_assistant.tts.selection import (choose_tts, find_piper_voice, is_voice_path, packaged_piper_voice,
                                           piper_voice_candidates)


log = logging.getLogger(__name__)


@dataclass
class Core:
    """The text side of the assistant: pack, matcher and dialogue policy."""

    pack: KnowledgePack
    matcher: Matcher
    dialogue: Dialogue


def build_core(knowledge: str | None = None, encoder: str | None = None, semantic: bool = True,
               env: Mapping[str, str] | None = None, notify=print) -> Core:
    """Pack, matcher and dialogue. ``semantic`` adds matching by meaning with the sentence encoder
    (``encoder`` names its folder; else it is searched for, see :func:`find_encoder_model`)."""
    pack = load_pack(knowledge)
    model = load_encoder(encoder, env, notify) if semantic else None
    if model is None:
        matcher = Matcher(pack)
    else:
        weights = model.folder / "model.safetensors"
        stat = weights.stat()
        matcher = Matcher(pack, encoder=model, cache_dir=embedding_cache_dir(),
                          model_key=f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return Core(pack, matcher, Dialogue(matcher))


def embedding_cache_dir() -> Path:
    """Where the pack's phrase embeddings are kept between runs (no user speech is ever stored)."""
    return Path(platformdirs.user_cache_dir("voice-assistant")) / "embeddings"


def load_encoder(explicit: str | None = None, env: Mapping[str, str] | None = None,
                 notify=print) -> SentenceEncoder | None:
    """The sentence encoder, or None with a one-line notice when none is installed."""
    env = os.environ if env is None else env
    folder = find_encoder_model(explicit, env.get("VOICE_ASSISTANT_ENCODER"), project_models_dir(),
                                user_models_dir(), installed_package_model())
    if folder is None:
        notify(f"No sentence encoder ({MODEL_NAME}) found: understanding questions by their words only. "
               "Run ./scripts/setup, or pass --encoder PATH.")
        return None
    return SentenceEncoder(folder)


def vosk_phrases(pack: KnowledgePack) -> list[str]:
    """Phrases for Vosk's grammar mode: what people say to this pack."""
    from voice_assistant.nlu.commands import COMMAND_PHRASES

    phrases = [example.lower() for entry in (*pack.entries, *pack.declines) for example in entry.examples]
    phrases += [example.lower() for flag in pack.red_flags for example in flag.examples]
    phrases += [phrase for group in COMMAND_PHRASES.values() for phrase in group]
    return phrases


def build_recognizer(engine: str, pack: KnowledgePack, model: str | None = None,
                     env: Mapping[str, str] | None = None, notify=print,
                     extra_phrases: tuple[str, ...] = (), whisper_settings=None) -> Recognizer:
    """Load the recognizer ``engine`` (auto, whisper, vosk or pocketsphinx) for ``pack``.

    ``model`` is the model folder of the chosen engine; with ``auto``, its contents say which
    engine it is for. ``extra_phrases`` (e.g. a wake phrase) are added to the recognizer's vocabulary.
    """
    env = os.environ if env is None else env
    if model and engine == "auto":
        engine = "whisper" if looks_like_whisper_model(Path(model).expanduser()) else "vosk"
    vosk_model = find_vosk_model(model if engine == "vosk" else None, env)
    whisper_model = find_whisper_model(model if engine == "whisper" else None, env, packaged_whisper_model())
    choice = choose_engine(engine, vosk_model, whisper_model=whisper_model)
    if choice.notice:
        notify(choice.notice)
    if choice.engine == "whisper":
        from voice_assistant.stt.whisper_engine import WhisperRecognizer

        if whisper_model is None:
            where = ", ".join(str(p) for p in whisper_model_candidates(model, env, packaged_whisper_model()))
            raise ModelError(f"no Whisper model found (looked in {where})",
                             "run ./scripts/setup (it installs tiny.en), or pass --model PATH")
        return WhisperRecognizer(whisper_model, pack, whisper_settings)
    if choice.engine == "vosk":
        from voice_assistant.stt.vosk_engine import VoskRecognizer

        if vosk_model is None and model:
            return VoskRecognizer(Path(model).expanduser(), vosk_phrases(pack) + list(extra_phrases))
        if vosk_model is None:
            where = ", ".join(str(p) for p in vosk_model_candidates(model, env))
            raise ModelError(f"no Vosk model found (looked in {where})",
                             f"run 'voice-assistant download-model' to fetch {DEFAULT_VOSK_MODEL}, "
                             "or pass --model PATH")
        return VoskRecognizer(Path(vosk_model), vosk_phrases(pack) + list(extra_phrases))
    from voice_assistant.stt.pocketsphinx_engine import PocketSphinxRecognizer

    return PocketSphinxRecognizer(pack, extra_phrases=extra_phrases)


def build_spotter(notify=print):
    """The command spotter for barge-in, or None with a notice when PocketSphinx cannot start
    (barge-in is a comfort, not a need)."""
    try:
        from voice_assistant.stt.spotter import CommandSpotter

        return CommandSpotter()
    except (AssistantError, RuntimeError, OSError) as exc:  # PocketSphinx's own errors are RuntimeErrors
        notify(f"{getattr(exc, 'message', exc)}: commands are heard once the assistant stops speaking.")
        return None


def build_synthesizer(tts: str = "auto", voice: str | None = None, env: Mapping[str, str] | None = None,
                      notify=print) -> tuple[Synthesizer, str]:
    """The voice: ``tts`` is auto, piper or espeak; ``voice`` a Piper voice file or folder, or an
    espeak-ng voice name (which makes ``auto`` mean espeak-ng). Returns the synthesizer and the
    espeak-ng voice name for :class:`VoiceSettings`."""
    env = os.environ if env is None else env
    piper_path = voice if voice and is_voice_path(voice) else None
    espeak_name = voice if voice and not piper_path else "en-us"
    if tts == "auto" and voice and not piper_path:
        tts = "espeak"
    piper_voice = find_piper_voice(piper_path, env, packaged_piper_voice())
    choice = choose_tts(tts, piper_voice, piper_available=package_folder("piper") is not None)
    if choice.notice:
        notify(choice.notice)
    if choice.engine == "piper":
        from voice_assistant.tts.piper import PiperSynthesizer

        if piper_voice is None:
            where = ", ".join(str(p) for p in piper_voice_candidates(piper_path, env, packaged_piper_voice()))
            raise ModelError(f"no Piper voice found (looked in {where})",
                             "run ./scripts/setup (it installs en_US-joe-medium), pass --voice PATH, "
                             "or --tts espeak")
        try:
            return PiperSynthesizer(piper_voice), espeak_name
        except AssistantError as exc:
            if tts != "auto":
                raise
            notify(f"{exc.message}: speaking with espeak-ng.")
    from voice_assistant.tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer(), espeak_name
