"""A virtual microphone and speaker on one timeline, to run the real loop on recordings.

The microphone plays a recording into the loop at ``speed`` times real time;
the speaker writes what the assistant says onto the same timeline (counted in
microphone samples), so "speech was cut 0.3 s after the word 'stop' ended" is
measured exactly. ``echo`` mixes the assistant's own voice back into the
microphone, as a room would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soxr

from voice_assistant.audio.base import CHUNK_SECONDS, SAMPLE_RATE, AudioSink, AudioSource
from voice_assistant.audio.wav import write_wav


class Timeline:
    """Shared clock and output track, in samples at 16 kHz."""

    def __init__(self) -> None:
        self.position = 0
        self.ended = False  # the recording is over: the speaker now drives the clock
        self.output = np.zeros(0, dtype=np.float32)
        self.cuts: list[tuple[int, int]] = []  # (sample where speech was cut, samples it still had)
        self.segments: list[tuple[int, int]] = []  # (start, end) of each played sentence
        self.lock = threading.Lock()
        self.moved = threading.Condition(self.lock)

    def write(self, start: int, samples: np.ndarray) -> None:
        with self.lock:
            end = start + len(samples)
            if len(self.output) < end:
                self.output = np.pad(self.output, (0, end - len(self.output)))
            self.output[start:end] += samples

    def truncate(self, at: int, until: int) -> None:
        with self.lock:
            self.output[at:until] = 0.0

    def echo(self, start: int, count: int) -> np.ndarray:
        with self.lock:
            piece = self.output[start:start + count]
            return np.pad(piece, (0, count - len(piece)))


class VirtualMicrophone(AudioSource):
    """Feeds a recording (then ``tail_seconds`` of silence) into the loop, paced by ``speed``."""

    def __init__(self, pcm: bytes, timeline: Timeline, speed: float = 1.0, echo: float = 0.0,
                 tail_seconds: float = 3.0) -> None:
        self.samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        self.samples = np.pad(self.samples, (0, int(tail_seconds * SAMPLE_RATE)))
        self.timeline = timeline
        self.speed = speed
        self.echo_gain = echo
        self._closed = threading.Event()

    def chunks(self) -> Iterator[bytes]:
        step = int(SAMPLE_RATE * CHUNK_SECONDS)
        started = time.monotonic()
        for start in range(0, len(self.samples), step):
            if self._closed.is_set():
                return
            if self.speed > 0:
                due = started + start / SAMPLE_RATE / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    self._closed.wait(delay)
            frame = self.samples[start:start + step]
            if self.echo_gain:
                frame = frame + self.echo_gain * self.timeline.echo(start, len(frame))
            with self.timeline.moved:
                self.timeline.position = start + len(frame)
                self.timeline.moved.notify_all()
            yield np.clip(frame, -32768, 32767).astype("<i2").tobytes()
        with self.timeline.moved:
            self.timeline.ended = True
            self.timeline.moved.notify_all()

    def close(self) -> None:
        self._closed.set()


class VirtualSpeaker(AudioSink):
    """Plays onto the timeline; play() returns when the microphone clock has passed the audio's end."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._stop = threading.Event()

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        self._stop.clear()
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if sample_rate != SAMPLE_RATE:
            samples = soxr.resample(samples, sample_rate, SAMPLE_RATE)
        with self.timeline.lock:
            start = self.timeline.position
        end = start + len(samples)
        self.timeline.write(start, samples)
        self.timeline.segments.append((start, end))
        with self.timeline.moved:
            while self.timeline.position < end and not self._stop.is_set():
                if self.timeline.ended:
                    self.timeline.position = end
                    break
                self.timeline.moved.wait(0.01)
            at = min(self.timeline.position, end)
        if self._stop.is_set() and at < end:
            self.timeline.truncate(at, end)
            self.timeline.segments[-1] = (start, at)
            self.timeline.cuts.append((at, end - at))
            return False
        return True

    def stop(self) -> None:
        self._stop.set()
        with self.timeline.moved:
            self.timeline.moved.notify_all()


class VirtualDevices:
    """A microphone and speaker sharing a timeline; ``save`` writes what the assistant said."""

    def __init__(self, pcm: bytes, speed: float = 1.0, echo: float = 0.0, tail_seconds: float = 3.0) -> None:
        self.timeline = Timeline()
        self.microphone = VirtualMicrophone(pcm, self.timeline, speed, echo, tail_seconds)
        self.speaker = VirtualSpeaker(self.timeline)

    def save(self, path: str | Path) -> None:
        with self.timeline.lock:
            output = self.timeline.output.copy()
        write_wav(path, np.clip(output, -32768, 32767).astype("<i2").tobytes(), SAMPLE_RATE)
