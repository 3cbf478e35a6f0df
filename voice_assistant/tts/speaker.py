"""The speaker: speaks reply chunks sentence by sentence and can be stopped at once.

The next sentence is synthesized on a worker thread while the current one
plays; a long first sentence is split at its first clause so the first sound
comes sooner, and recent pieces are kept so 'repeat' and the fixed prompts
start at once. With no synthesizer or no output device it becomes
captions-only: the same events, no sound.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from voice_assistant.audio.base import AudioSink
from voice_assistant.errors import AssistantError
from voice_assistant.events import EventBus
from voice_assistant.tts.base import Synthesizer, VoiceSettings, split_first_clause, split_sentences

log = logging.getLogger(__name__)

#: Synthesized pieces kept for reuse: about 3 s of 22 kHz audio each, so some 8 MB.
CACHED_PIECES = 64


class Speaker:
    """Speaks text through a synthesizer and a sink; emits ``speaking``/``spoken``/``interrupted``."""

    def __init__(self, synthesizer: Synthesizer | None, sink: AudioSink | None, voice: VoiceSettings,
                 events: EventBus) -> None:
        self.synthesizer = synthesizer
        self.sink = sink
        self.voice = voice
        self.events = events
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts") if synthesizer else None
        self.current_sentence = ""
        self._cache: OrderedDict[tuple[str, VoiceSettings], tuple[bytes, int]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def captions_only(self) -> bool:
        return self.synthesizer is None or self.sink is None

    @property
    def speaking(self) -> bool:
        return self._busy.is_set()

    def set_rate(self, rate: float) -> None:
        self.voice = replace(self.voice, rate=rate)

    def speak(self, chunks: Sequence[str]) -> bool:
        """Speak every chunk; return False if :meth:`stop` cut it short. Blocks until done."""
        self._stop.clear()
        self._busy.set()
        sentences = [(n, s) for n, chunk in enumerate(chunks) for s in split_sentences(chunk)]
        if sentences:
            sentences[:1] = [(0, piece) for piece in split_first_clause(sentences[0][1])]
        try:
            for n, chunk in enumerate(chunks):
                self.events.emit("speaking", chunk, chunk=n + 1, of=len(chunks))
            if self.captions_only:
                return True
            return self._play(sentences)
        finally:
            self.current_sentence = ""
            self._busy.clear()

    def _play(self, sentences: list[tuple[int, str]]) -> bool:
        voice = self.voice
        pending: Future | None = self._synthesize(sentences[0][1], voice) if sentences else None
        for index, (_, sentence) in enumerate(sentences):
            if self._stop.is_set():
                break
            try:
                pcm, rate = pending.result()
            except AssistantError as exc:
                # Captions already show the words: say so once and carry on listening.
                self.events.emit("error", str(exc), where="tts")
                return True
            pending = self._synthesize(sentences[index + 1][1], voice) if index + 1 < len(sentences) else None
            self.current_sentence = sentence
            self.events.emit("audio", sentence, seconds=len(pcm) / 2 / rate, rate=voice.rate)
            try:
                finished = self.sink.play(pcm, rate)
            except AssistantError as exc:
                self.events.emit("error", str(exc), where="speaker")
                return True
            if not finished:
                break
        if self._stop.is_set():
            self.events.emit("interrupted", self.current_sentence)
            return False
        self.events.emit("spoken")
        return True

    def _synthesize(self, text: str, voice: VoiceSettings) -> Future:
        return self._worker.submit(self._synthesize_cached, text, voice)

    def _synthesize_cached(self, text: str, voice: VoiceSettings) -> tuple[bytes, int]:
        key = (text, voice)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        audio = self.synthesizer.synthesize(text, voice)
        with self._cache_lock:
            self._cache[key] = audio
            while len(self._cache) > CACHED_PIECES:
                self._cache.popitem(last=False)
        return audio

    def stop(self) -> None:
        """Cut speech now; safe from any thread."""
        self._stop.set()
        if self.sink is not None:
            self.sink.stop()

    def close(self) -> None:
        self.stop()
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
        if self.sink is not None:
            self.sink.close()
