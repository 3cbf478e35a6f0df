"""The recognizer interface: a loaded engine opens streaming sessions, one per utterance."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass

from voice_assistant.audio.base import SAMPLE_RATE


@dataclass(frozen=True)
class Transcript:
    """What was heard: best text, a 0-1 confidence, and other hypotheses when the engine gives them.

    ``words`` are the best text's words with the engine's own 0-1 posterior for each (empty when
    the engine gives none), so a reading that rests on words the engine doubted can be refused.
    """

    text: str
    confidence: float = 0.0
    alternatives: tuple[str, ...] = ()
    words: tuple[tuple[str, float], ...] = ()


class RecognizerSession(abc.ABC):
    """One utterance being decoded: feed chunks, read partial text, then finish (or abandon)."""

    @abc.abstractmethod
    def accept(self, pcm: bytes) -> str:
        """Decode a chunk of 16-bit mono PCM; return the partial text so far."""

    @abc.abstractmethod
    def finish(self) -> Transcript:
        """End the utterance and return the final transcript."""

    def abandon(self) -> None:
        """End an utterance whose result is not wanted (the assistant began to speak over it).
        Engines that learn from a finished utterance override this to learn nothing from it."""
        self.finish()


class Recognizer(abc.ABC):
    """A loaded speech engine. Create sessions from one thread at a time."""

    name: str = "recognizer"
    sample_rate: int = SAMPLE_RATE
    #: The last utterance was heard in noise (engines that measure it set it; the loop tells the
    #: command spotter, which then cleans its audio too).
    noisy_room: bool = False
    #: The engine does all its work in ``finish`` (it does not stream), and a session may be finished
    #: on another thread while this one opens the next: the loop then decodes the audio so far in
    #: the background as soon as the speaker falls silent (voice_assistant.stt.speculative).
    decodes_whole_utterance: bool = False

    @abc.abstractmethod
    def session(self) -> RecognizerSession:
        """Start decoding a new utterance."""

    def reset(self) -> None:
        """Forget what was adapted to earlier audio (a new conversation, a new speaker)."""

    def recording_session(self) -> RecognizerSession:
        """The session :meth:`transcribe` uses: no listener waits, so an engine may take longer."""
        return self.session()

    def hear_once(self, pcm: bytes) -> Transcript:
        """Decode a few seconds as one utterance without learning from them (a check on what the
        microphone held while the assistant spoke). Engines that adapt override this to forget it."""
        session = self.session()
        session.accept(pcm)
        return session.finish()

    def transcribe(self, chunks: Iterable[bytes]) -> Transcript:
        """Decode a whole recording as one utterance."""
        session = self.recording_session()
        for chunk in chunks:
            session.accept(chunk)
        return session.finish()

    def close(self) -> None:
        """Free the engine. Safe to call twice."""
