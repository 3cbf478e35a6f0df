"""Vosk (Kaldi) recognizer: the accurate engine, once the user has downloaded a model.

Grammar mode biases Vosk towards the knowledge pack's phrases but accepts any
sequence of grammar words, with high confidence even when wrong; so the
grammar hypothesis is offered as an *alternative* next to the free one, and the
matcher decides which one makes sense.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

from voice_assistant.errors import ModelError
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript
from voice_assistant.stt.selection import looks_like_vosk_model

log = logging.getLogger(__name__)


def _load_vosk():
    try:
        import vosk
    except (ImportError, OSError) as exc:
        raise ModelError(f"the vosk package cannot be loaded ({exc})", "pip install vosk") from None
    vosk.SetLogLevel(-1)
    return vosk


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level writes to stderr (file descriptor 2) for the duration."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class VoskRecognizer(Recognizer):
    """Wraps ``vosk.Model``; sessions run a free and (if supported) a grammar recognizer side by side."""

    name = "vosk"

    def __init__(self, model_path: Path, phrases: list[str] | None = None, vosk_module=None) -> None:
        model_path = Path(model_path)
        if not model_path.is_dir():
            raise ModelError(f"no Vosk model at {model_path}", "run 'voice-assistant download-model'")
        if not looks_like_vosk_model(model_path):
            raise ModelError(f"{model_path} is not a Vosk model (no am/final.mdl, conf/ and graph/)",
                             "point --model at an unpacked model folder, or run 'voice-assistant download-model'")
        self._vosk = vosk_module or _load_vosk()
        try:
            with _quiet_stderr():  # Kaldi prints its own ERROR line before raising
                self.model = self._vosk.Model(str(model_path))
        except Exception as exc:  # Vosk raises a bare Exception for a corrupt model
            raise ModelError(f"cannot load the Vosk model at {model_path}: {exc}",
                             "the model may be damaged: download it again") from None
        self.grammar = None
        if phrases and (model_path / "graph" / "HCLr.fst").is_file():
            self.grammar = json.dumps(sorted(set(phrases)) + ["[unk]"])
        log.info("Vosk model %s loaded (grammar: %s)", model_path, "yes" if self.grammar else "no")

    def session(self) -> RecognizerSession:
        return VoskSession(self._vosk, self.model, self.sample_rate, self.grammar)


class VoskSession(RecognizerSession):
    """One utterance through Vosk."""

    def __init__(self, vosk, model, sample_rate: int, grammar: str | None) -> None:
        self.free = vosk.KaldiRecognizer(model, sample_rate)
        self.free.SetWords(True)
        self.biased = vosk.KaldiRecognizer(model, sample_rate, grammar) if grammar else None
        self._texts: list[str] = []
        self._words: list[tuple[str, float]] = []
        self._biased_texts: list[str] = []

    def accept(self, pcm: bytes) -> str:
        if self.free.AcceptWaveform(pcm):
            self._take(json.loads(self.free.Result()))
        if self.biased is not None and self.biased.AcceptWaveform(pcm):
            self._biased_texts.append(json.loads(self.biased.Result()).get("text", ""))
        partial = json.loads(self.free.PartialResult()).get("partial", "")
        return " ".join(t for t in [*self._texts, partial] if t)

    def finish(self) -> Transcript:
        self._take(json.loads(self.free.FinalResult()))
        text = " ".join(t for t in self._texts if t)
        confidences = [conf for _, conf in self._words]
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        alternatives: tuple[str, ...] = ()
        if self.biased is not None:
            self._biased_texts.append(json.loads(self.biased.FinalResult()).get("text", ""))
            biased = " ".join(t for t in self._biased_texts if t and t != "[unk]").replace("[unk]", "").strip()
            if biased and biased != text:
                alternatives = (" ".join(biased.split()),)
        words = tuple(self._words) if " ".join(word for word, _ in self._words) == text else ()
        return Transcript(text, round(confidence, 3), alternatives, words)

    def _take(self, result: dict) -> None:
        if result.get("text"):
            self._texts.append(result["text"])
            self._words.extend((str(w.get("word", "")), round(float(w.get("conf", 0.0)), 3))
                               for w in result.get("result") or [])
