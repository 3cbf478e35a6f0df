"""The synthesizer interface and voice settings."""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass

from voice_assistant.errors import UsageError


@dataclass(frozen=True)
class VoiceSettings:
    """How the assistant sounds. ``rate`` multiplies ``words_per_minute``; ``volume`` is 0-1."""

    voice: str = "en-us"
    words_per_minute: int = 160
    rate: float = 1.0
    volume: float = 1.0

    def __post_init__(self) -> None:
        if not 0.25 <= self.rate <= 4.0:
            raise UsageError(f"speaking rate {self.rate} is out of range", "use 0.25 to 4 (1 is normal)")
        if not 0.0 <= self.volume <= 1.0:
            raise UsageError(f"volume {self.volume} is out of range", "use 0 to 1")
        if not 60 <= self.words_per_minute <= 400:
            raise UsageError(f"{self.words_per_minute} words per minute is out of range", "use 60 to 400")


class Synthesizer(abc.ABC):
    """Turns text into 16-bit mono PCM."""

    @abc.abstractmethod
    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[bytes, int]:
        """Return ``(pcm, sample_rate)`` for ``text``."""


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, so the first one can play while the rest is prepared."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def split_long_sentence(sentence: str, most_words: int = 12) -> list[str]:
    """A long sentence as runs of whole clauses of at most ``most_words`` words (a clause longer than
    that stays whole): a neural voice's memory grows with the length it makes at once (Piper's peak
    went from 340 to 540 MB on the pack's longest sentences said slowly, whole)."""
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        if pieces and len(pieces[-1].split()) + len(clause.split()) <= most_words:
            pieces[-1] = f"{pieces[-1]} {clause}"
        else:
            pieces.append(clause)
    return pieces


def split_first_clause(sentence: str, longer_than: int = 8, shortest: int = 3) -> list[str]:
    """A long opening sentence as its first clause and the rest, so the first sound comes sooner
    (a neural voice takes about a tenth of a sentence's length to make it); short ones stay whole."""
    words = sentence.split()
    if len(words) <= longer_than:
        return [sentence]
    parts = _CLAUSE_END.split(sentence, maxsplit=1)
    if len(parts) < 2 or len(parts[0].split()) < shortest or len(parts[1].split()) < shortest:
        return [sentence]
    return parts
