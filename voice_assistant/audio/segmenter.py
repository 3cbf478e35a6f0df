"""Cut a stream of audio frames into utterances: a pure voice-activity state machine.

Each frame comes with a speech/non-speech decision (from any classifier; the
loop uses PocketSphinx's WebRTC-style :class:`pocketsphinx.Vad`). Speech
starts after ``start_seconds`` of speech frames and ends after
``end_silence_seconds`` of silence or at ``max_utterance_seconds``. Everything
is counted in frames, so tests check it with arithmetic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SegmenterSettings:
    """Timing of the segmenter, in seconds."""

    frame_seconds: float = 0.03
    start_seconds: float = 0.12
    end_silence_seconds: float = 0.7
    max_utterance_seconds: float = 15.0
    pre_roll_seconds: float = 0.3

    #: A relaxed setting for people who speak slowly or pause mid-sentence.
    @classmethod
    def relaxed(cls) -> "SegmenterSettings":
        return cls(end_silence_seconds=1.4, max_utterance_seconds=25.0)

    def frames(self, seconds: float) -> int:
        return max(1, round(seconds / self.frame_seconds))


@dataclass(frozen=True)
class Utterance:
    """One segment of speech: its audio and where it lies in the stream (in frames)."""

    pcm: bytes
    start_frame: int
    end_frame: int
    reason: str  # "silence", "max_length", "end_of_stream" or "complete" (ended by end_now)


@dataclass
class Segmenter:
    """Feeds frames in, gives utterances out. Not thread-safe; one per stream."""

    settings: SegmenterSettings = field(default_factory=SegmenterSettings)
    frame_index: int = 0
    in_speech: bool = False
    _speech_run: int = 0
    _silence_run: int = 0
    _start: int = 0
    _audio: list[bytes] = field(default_factory=list)
    _pre_roll: deque = field(default_factory=deque)

    def feed(self, frame: bytes, is_speech: bool) -> Utterance | None:
        """Add one frame; return an utterance when one has just ended."""
        s = self.settings
        index = self.frame_index
        self.frame_index += 1
        if not self.in_speech:
            self._pre_roll.append(frame)
            keep = s.frames(s.pre_roll_seconds) + s.frames(s.start_seconds)
            while len(self._pre_roll) > keep:
                self._pre_roll.popleft()
            self._speech_run = self._speech_run + 1 if is_speech else 0
            if self._speech_run >= s.frames(s.start_seconds):
                self.in_speech = True
                self._silence_run = 0
                self._audio = list(self._pre_roll)
                self._start = index + 1 - len(self._audio)
                self._pre_roll.clear()
            return None
        self._audio.append(frame)
        self._silence_run = 0 if is_speech else self._silence_run + 1
        if self._silence_run >= s.frames(s.end_silence_seconds):
            return self._close(index + 1, "silence")
        if len(self._audio) >= s.frames(s.max_utterance_seconds):
            return self._close(index + 1, "max_length")
        return None

    @property
    def trailing_silence_frames(self) -> int:
        """Silent frames since the last speech frame of the utterance in progress (0 outside speech)."""
        return self._silence_run if self.in_speech else 0

    def audio_so_far(self) -> bytes:
        """The audio of the utterance in progress (pre-roll included)."""
        return b"".join(self._audio)

    def end_now(self, reason: str = "complete") -> Utterance | None:
        """End the utterance in progress here, before its endpoint (the listener knows it is whole)."""
        return self._close(self.frame_index, reason) if self.in_speech else None

    def flush(self) -> Utterance | None:
        """End of stream: return the utterance in progress, if any."""
        return self._close(self.frame_index, "end_of_stream") if self.in_speech else None

    def reset(self) -> None:
        """Forget any speech in progress (e.g. while the assistant itself is speaking)."""
        self.in_speech = False
        self._speech_run = self._silence_run = 0
        self._audio = []
        self._pre_roll.clear()

    def _close(self, end: int, reason: str) -> Utterance:
        utterance = Utterance(b"".join(self._audio), self._start, end, reason)
        self.reset()
        return utterance


class Framer:
    """Re-cuts arbitrary PCM chunks into frames of exactly ``frame_bytes``."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._buffer = b""

    def frames(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        count = len(self._buffer) // self.frame_bytes
        frames = [self._buffer[i * self.frame_bytes:(i + 1) * self.frame_bytes] for i in range(count)]
        self._buffer = self._buffer[count * self.frame_bytes:]
        return frames
