"""The speaker: speaks reply chunks sentence by sentence and can be stopped at once.

The next sentence is synthesized on a worker thread while the current one
plays; a long first sentence is split at its first clause so the first sound
comes sooner, and recent pieces are kept so 'repeat' and the fixed prompts
start at once. The first piece of every likely answer can be made ahead, in
the background (:meth:`Speaker.prefetch`), so a neural voice starts as fast
as espeak-ng. With no synthesizer or no output device it becomes
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
from voice_assistant.tts.base import (Synthesizer, VoiceSettings, split_first_clause, split_long_sentence,
                                      split_sentences)

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
        #: The sentence played before the current one: the microphone still hears its end.
        self.previous_sentence = ""
        self._cache: OrderedDict[tuple[str, VoiceSettings], tuple[bytes, int]] = OrderedDict()
        self._cache_lock = threading.Lock()
        #: First pieces of likely answers at the current pace (see :meth:`prefetch`), never evicted.
        self._prepared: dict[tuple[str, VoiceSettings], tuple[bytes, int]] = {}
        self._prefetch_texts: tuple[str, ...] = ()
        self._prefetcher: threading.Thread | None = None
        self._closing = threading.Event()
        # Set while someone is speaking to the assistant: preparing waits, leaving the CPU to the
        # recognizer (on two cores, a neural voice's start-up pass slowed the first answer by 0.9 s).
        self._user_speaking = threading.Event()
        events.subscribe(self._on_event)

    @property
    def captions_only(self) -> bool:
        return self.synthesizer is None or self.sink is None

    @property
    def speaking(self) -> bool:
        return self._busy.is_set()

    def set_rate(self, rate: float) -> None:
        self.voice = replace(self.voice, rate=rate)
        if self._prefetch_texts:
            self.prefetch(self._prefetch_texts)

    def prefetch(self, texts: Sequence[str]) -> None:
        """Synthesize the first piece of each of ``texts`` (likely answers; added to those asked for
        before) in the background, so
        that when one is chosen its first sound needs no synthesis; again after a change of pace.
        A neural voice takes 100-250 ms for a first piece, espeak-ng a few milliseconds."""
        if self.captions_only or self._closing.is_set():
            return
        self._prefetch_texts = tuple(dict.fromkeys((*self._prefetch_texts, *texts)))
        if self._prefetcher is not None and self._prefetcher.is_alive():
            return  # the running pass reads the texts and the voice afresh for each piece
        self._prefetcher = threading.Thread(target=self._prefetch_all, name="tts-prefetch", daemon=True)
        self._prefetcher.start()

    def _on_event(self, event) -> None:
        if event.kind == "state":
            if event.text in ("hearing", "thinking"):
                self._user_speaking.set()
            else:
                self._user_speaking.clear()

    def _prefetch_all(self) -> None:
        done: set[tuple[str, VoiceSettings]] = set()
        while not self._closing.is_set():
            if self._user_speaking.is_set():
                self._closing.wait(0.05)
                continue
            voice = self.voice
            todo = [piece for piece in dict.fromkeys(first_piece(text) for text in self._prefetch_texts)
                    if piece and (piece, voice) not in done]
            if not todo:
                return
            piece = todo[0]
            done.add((piece, voice))
            try:
                self._synthesize_cached(piece, voice, prepared=True)
            except AssistantError as exc:  # the answer itself will report it, if it happens again
                log.debug("prefetching %r failed: %s", piece, exc)

    def speak(self, chunks: Sequence[str]) -> bool:
        """Speak every chunk; return False if :meth:`stop` cut it short. Blocks until done."""
        self._stop.clear()
        self._busy.set()
        sentences = pieces_of(chunks)
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
            self.previous_sentence, self.current_sentence = self.current_sentence or self.previous_sentence, sentence
            self.events.emit("audio", sentence, seconds=len(pcm) / 2 / rate, rate=voice.rate)
            try:
                finished = self.sink.play(pcm, rate)
            except AssistantError as exc:
                self.events.emit("error", str(exc), where="speaker")
                return True
            if not finished:
                break
        if pending is not None:
            pending.cancel()  # the rest of a reply cut short is not made (unless it is under way)
        if self._stop.is_set():
            self.events.emit("interrupted", self.current_sentence)
            return False
        self.events.emit("spoken")
        return True

    def _synthesize(self, text: str, voice: VoiceSettings) -> Future:
        # A piece already made is handed over at once, even while the worker still makes a piece of
        # an answer that was cut short.
        audio = self._cached(text, voice)
        if audio is not None:
            done: Future = Future()
            done.set_result(audio)
            return done
        return self._worker.submit(self._synthesize_cached, text, voice)

    def _cached(self, text: str, voice: VoiceSettings) -> tuple[bytes, int] | None:
        key = (text, voice)
        with self._cache_lock:
            if key in self._prepared:
                return self._prepared[key]
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def _synthesize_cached(self, text: str, voice: VoiceSettings, prepared: bool = False) -> tuple[bytes, int]:
        audio = self._cached(text, voice)
        if audio is not None:
            return audio
        key = (text, voice)
        audio = self.synthesizer.synthesize(text, voice)
        with self._cache_lock:
            if prepared:  # kept for as long as the pace lasts, whatever else is said meanwhile
                for old in [k for k in self._prepared if k[1] != voice]:
                    del self._prepared[old]
                self._prepared[key] = audio
                return audio
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
        self._closing.set()
        if self._prefetcher is not None:
            self._prefetcher.join()  # at most one piece still being made
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
        if self.sink is not None:
            self.sink.close()


def pieces_of(chunks: Sequence[str]) -> list[tuple[int, str]]:
    """(chunk number, piece) in the order they are synthesized: sentences, long ones in runs of whole
    clauses, and the first piece cut at its first clause when long."""
    sentences = [(n, piece) for n, chunk in enumerate(chunks) for s in split_sentences(chunk)
                 for piece in split_long_sentence(s)]
    if sentences:
        sentences[:1] = [(0, piece) for piece in split_first_clause(sentences[0][1])]
    return sentences


def first_piece(text: str) -> str:
    """What is synthesized first when ``text`` begins a reply."""
    pieces = pieces_of([text])
    return pieces[0][1] if pieces else ""
