"""In-memory audio: a PCM source and a recording sink, for tests and the virtual devices."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from voice_assistant.audio.base import CHUNK_SECONDS, SAMPLE_RATE, AudioSink, AudioSource


class PcmSource(AudioSource):
    """Yields the given PCM in chunks, optionally at real-time pace."""

    def __init__(self, pcm: bytes, sample_rate: int = SAMPLE_RATE, chunk_seconds: float = CHUNK_SECONDS,
                 realtime: bool = False) -> None:
        self.pcm = pcm
        self.sample_rate = sample_rate
        self.chunk_bytes = max(2, int(sample_rate * chunk_seconds) * 2)
        self.realtime = realtime
        self._closed = threading.Event()

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.pcm), self.chunk_bytes):
            if self._closed.is_set():
                return
            chunk = self.pcm[start:start + self.chunk_bytes]
            if self.realtime:
                self._closed.wait(len(chunk) / 2 / self.sample_rate)
            yield chunk

    def close(self) -> None:
        self._closed.set()


class MemorySink(AudioSink):
    """Records what would be played; ``realtime`` makes play take as long as the audio."""

    def __init__(self, realtime: bool = False) -> None:
        self.realtime = realtime
        self.played: list[tuple[bytes, int]] = []
        self._stop = threading.Event()

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        self._stop.clear()
        if not self.realtime:
            self.played.append((pcm, sample_rate))
            return True
        start = time.monotonic()
        total = len(pcm) / 2 / sample_rate
        finished = not self._stop.wait(total)
        played_seconds = total if finished else min(total, time.monotonic() - start)
        self.played.append((pcm[: int(played_seconds * sample_rate) * 2], sample_rate))
        return finished

    def stop(self) -> None:
        self._stop.set()
