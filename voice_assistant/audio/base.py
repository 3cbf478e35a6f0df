"""The audio interfaces: a source of PCM chunks and a sink that plays PCM."""

from __future__ import annotations

import abc
from collections.abc import Iterator

import numpy as np

#: The rate every recognizer here works at.
SAMPLE_RATE = 16_000
#: Chunk length sources aim for: short enough for barge-in, long enough to be cheap.
CHUNK_SECONDS = 0.03


class AudioSource(abc.ABC):
    """Yields 16-bit little-endian mono PCM chunks at :attr:`sample_rate`. Use as a context manager."""

    sample_rate: int = SAMPLE_RATE

    @abc.abstractmethod
    def chunks(self) -> Iterator[bytes]:
        """PCM chunks until the source ends (a file) or is closed (a microphone)."""

    def close(self) -> None:
        """Release the device or file. Safe to call twice."""

    def __enter__(self) -> "AudioSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AudioSink(abc.ABC):
    """Plays 16-bit mono PCM. :meth:`play` blocks until done or :meth:`stop` is called."""

    @abc.abstractmethod
    def play(self, pcm: bytes, sample_rate: int) -> bool:
        """Play ``pcm``; return False if it was cut short by :meth:`stop`."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Cut the current playback now (from any thread)."""

    def close(self) -> None:
        """Release the device. Safe to call twice."""


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to int16, clipped rather than wrapped."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")


def duration(pcm: bytes, sample_rate: int) -> float:
    """Seconds of audio in 16-bit mono ``pcm``."""
    return len(pcm) / 2 / sample_rate
