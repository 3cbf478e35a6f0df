"""Decoding ahead: a whole-utterance recognizer (Whisper) decodes the audio heard so far in the
background, while the listener waits to learn whether the person has finished.

Whisper does not stream: all its work is in :meth:`RecognizerSession.finish`, which takes about
0.25-0.3 s for a question on two cores. Waiting for the early finalize (0.25 s into the
end-of-speech silence) before starting it puts both delays end to end. So the loop starts a
*speculation* as soon as the trailing silence begins: a session holding the audio so far, finished
on one worker thread. If no more speech comes, its transcript is the utterance's (the frames after
its cut are silence); if speech resumes, it is dropped, and a new one starts at the next silence.

Only the decode runs on the worker: understanding the transcript, the dialogue and the command
spotter stay on the loop's thread. One worker, so decodes never compete with each other for the
two cores; a dropped speculation that has not started is cancelled, one that has is left to end
(CTranslate2's Whisper cannot be interrupted mid-decode) and its result ignored.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from voice_assistant.stt.base import RecognizerSession, Transcript

log = logging.getLogger(__name__)


@dataclass
class Speculation:
    """A decode of an utterance's first ``frames`` frames, running (or done) in the background."""

    frames: int
    future: Future | None = field(default=None, repr=False)  # set by BackgroundDecoder.start
    #: When the decode itself began and ended on the worker (monotonic), set by the worker.
    began: float | None = None
    ended: float | None = None

    def result(self) -> Transcript:
        """The transcript, waiting for the decode if it is still running; raises what the
        recognizer raised (the loop treats it as a failed finalize)."""
        return self.future.result()

    def drop(self) -> None:
        """Not wanted any more (speech resumed, or the utterance was discarded)."""
        self.future.cancel()  # only stops one still waiting for the worker


class BackgroundDecoder:
    """Finishes recognizer sessions on one worker thread; :meth:`close` ends it cleanly.

    The thread is created on the first :meth:`start`, so a loop with a streaming recognizer never
    has one. Sessions are created and fed by the caller's thread (``Recognizer`` asks for one
    thread to create them); only ``finish`` runs here.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def start(self, session: RecognizerSession, frames: int) -> Speculation | None:
        """Finish ``session`` (already fed with an utterance's first ``frames`` frames) in the
        background; None once closed."""
        if self._closed:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speculative-decode")
        speculation = Speculation(frames)
        speculation.future = self._pool.submit(self._decode, session, speculation)
        return speculation

    @staticmethod
    def _decode(session: RecognizerSession, speculation: Speculation) -> Transcript:
        speculation.began = time.monotonic()
        try:
            return session.finish()
        finally:
            speculation.ended = time.monotonic()

    def close(self) -> None:
        """Cancel what has not started, wait for the decode under way (a fraction of a second) and
        end the worker thread. Safe to call twice."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

