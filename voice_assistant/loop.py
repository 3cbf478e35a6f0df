"""The hands-free conversation: listen -> transcribe -> dialogue -> speak, with barge-in.

One thread reads the microphone and runs everything but playback; a second
thread speaks, so the first can keep listening. Half-duplex: while the
assistant speaks (and for a short guard after) the question recognizer
ignores the microphone, so it never answers its own voice; meanwhile a small
command spotter stays on, so 'stop' or 'next' cuts in. With a recognizer that
decodes whole utterances (Whisper), a third thread decodes the audio so far as
soon as the speaker falls silent, so the transcript is ready when the loop
decides the question is over. Everything that happens goes to one event stream.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from voice_assistant.app import Core
from voice_assistant.audio.base import AudioSource
from voice_assistant.audio.segmenter import Framer, Segmenter, SegmenterSettings
from voice_assistant.dialogue import DialogueState, Reply
from voice_assistant.errors import AssistantError
from voice_assistant.events import EventBus
from voice_assistant.nlu.normalize import normalize
from voice_assistant.nlu.spoken import Interpretation, interpret
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript
from voice_assistant.stt.speculative import BackgroundDecoder, Speculation
from voice_assistant.stt.spotter import CommandSpotter
from voice_assistant.tts.speaker import Speaker

log = logging.getLogger(__name__)

#: Utterances up to this long that the recognizer could not place are checked for a spoken command.
SHORT_UTTERANCE_SECONDS = 2.0
REPROMPT = "I am still listening. Ask me about back spasms whenever you are ready, or say help."


@dataclass(frozen=True)
class LoopSettings:
    """Timing and behaviour of the loop; times are in seconds of audio."""

    segmenter: SegmenterSettings = field(default_factory=SegmenterSettings)
    guard_seconds: float = 0.3
    reprompt_seconds: float = 8.0
    wake_word: str | None = None
    wake_window_seconds: float = 10.0
    vad_mode: int = 2
    greet: bool = True
    #: The recognizer is finalized this long before the endpoint (after 0.25 s of a 0.7 s
    #: end-of-speech silence; 0.95 s of 1.4 s with --slow-speech, whose pauses would otherwise undo
    #: it often), so the answer is ready when the endpoint comes. None: finalize at the endpoint.
    finalize_ahead_seconds: float | None = 0.45
    #: With a recognizer that decodes whole utterances (Whisper: about 0.25-0.3 s a question), a
    #: decode of the audio so far starts in the background after this much trailing silence, and
    #: the early finalize takes its result instead of starting one (a new one if speech came back
    #: in between). The voice-activity detector already calls the first silent frame some 0.1 s
    #: after the last sound, and a question rarely holds a silent frame before its end, so one
    #: frame is enough. None: decode at the early finalize, as a streaming engine does.
    speculate_after_seconds: float | None = 0.03
    #: A barge-in command counts only if the voice-activity detector heard at least this much speech in
    #: the last ``barge_in_window_seconds``: in digital silence or steady noise the spotter's adapting
    #: cepstral mean drifts until a keyphrase scores high ('stop' and 'faster' were heard in a silent
    #: recording, cutting the greeting and the answer).
    barge_in_voiced_seconds: float = 0.15
    barge_in_window_seconds: float = 1.0
    #: A spotted command is acted on only when the recognizer, given the last this many seconds of
    #: the microphone, hears one of its keyphrases too (None: act on the spotter alone). The spotter
    #: alone takes words of the assistant's own voice for commands, a neural voice's most of all
    #: ('stomach' as 'stop' at every threshold), and more so over room noise; the recognizer hears
    #: whole words. Costs one decode (about 0.05 s with PocketSphinx, 0.3 s with Whisper) per spot.
    barge_in_confirm_seconds: float | None = 2.0
    #: Answer at the early finalize, without waiting out the endpoint, when what was heard is
    #: plainly whole: the recognizer closed it as a sentence ('?', '.', '!'), its last word can end
    #: one (not 'to', 'and', 'my'), a question has three words or more (not 'How long?'), and the
    #: matcher is this sure of it, or it is a red flag. None: always wait for the endpoint.
    #: PocketSphinx gives no punctuation, so it always waits; so does --slow-speech.
    answer_complete_confidence: float | None = 0.6


_SENTENCE_ENDS = (".", "?", "!")
_WHOLE_QUESTION_WORDS = 3  # a question answered before its endpoint has at least this many words
# Words an English sentence does not end on (articles, possessives, conjunctions, prepositions that
# need an object, subject pronouns, fillers): Whisper puts a '?' after 'is it normal to' too, so
# the mark alone does not say the speaker has finished.
_OPEN_ENDS = frozenset("""a an the my your his her our their and or but so because if when while to of for with
about from into by than as i we they he she very really just um uh er""".split())


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


class FrameClassifier:
    """Speech / non-speech per frame, with PocketSphinx's WebRTC-style VAD."""

    def __init__(self, mode: int, sample_rate: int) -> None:
        import pocketsphinx

        self._vad = pocketsphinx.Vad(mode, sample_rate, 0.03)
        self.frame_bytes = self._vad.frame_bytes
        self.frame_seconds = self._vad.frame_length

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame))


@dataclass(frozen=True)
class EarlyResult:
    """What an early finalize found, in the silence before the endpoint: the transcript, how long
    it took, its reading, and the command the spotter heard in it (when it was not understood)."""

    transcript: Transcript
    seconds: float
    chosen: Interpretation
    spotted: str | None
    #: Plainly the whole question: answered now, not at the endpoint (see LoopSettings).
    whole: bool = False
    #: The transcript came from a decode started in the background before the early finalize.
    speculated: bool = False


class ConversationLoop:
    """Runs one conversation until goodbye, the end of the input, or :meth:`request_stop`."""

    def __init__(self, core: Core, recognizer: Recognizer, source: AudioSource, speaker: Speaker,
                 events: EventBus, settings: LoopSettings | None = None, spotter: CommandSpotter | None = None,
                 on_rate_change: Callable[[float], None] | None = None, rate: float = 1.0) -> None:
        self.core = core
        self.recognizer = recognizer
        self.source = source
        self.speaker = speaker
        self.events = events
        self.settings = settings or LoopSettings()
        self.spotter = spotter
        self.on_rate_change = on_rate_change
        self.state = DialogueState(rate=rate)
        self.classifier = FrameClassifier(self.settings.vad_mode, recognizer.sample_rate)
        frame_seconds = self.classifier.frame_seconds
        self.segmenter = Segmenter(replace(self.settings.segmenter, frame_seconds=frame_seconds))
        self._frame_seconds = frame_seconds
        self._frames = 0
        self._quiet_until = 0
        self._last_activity = 0
        self._reprompted = False
        self._wake_until = -1
        self._session: RecognizerSession | None = None
        # Finalized during the trailing silence and not yet used: (transcript, seconds the finalize took).
        self._early: EarlyResult | None = None
        # A decode of the utterance so far, running in the background since its trailing silence
        # began; dropped as soon as speech resumes, so while it is set it covers all the speech.
        self._speculation: Speculation | None = None
        self._decoder = BackgroundDecoder() if self._speculates() else None
        self._speech_thread: threading.Thread | None = None
        self._pending: list[Reply] = []
        # Voice activity of the frames heard while speaking, newest last (see LoopSettings.barge_in_*).
        self._voiced: deque[bool] = deque(maxlen=self._seconds(self.settings.barge_in_window_seconds))
        # The microphone's last frames while speaking, for confirming a spotted command.
        self._heard_while_speaking: deque[bytes] = deque(
            maxlen=self._seconds(self.settings.barge_in_confirm_seconds or 0.0))
        self._ending = False
        self._stop = threading.Event()
        self._discarding = False
        self.endpoint_time = 0.0

    # -- public ---------------------------------------------------------------------------

    def run(self) -> None:
        """Listen and answer until the conversation ends. Always cleans up."""
        try:
            self.recognizer.reset()  # a new conversation: adapt afresh to this speaker and room
            if self.settings.greet:
                self._say(self.core.dialogue.opening())
            self.events.emit("state", "listening")
            framer = Framer(self.classifier.frame_bytes)
            for chunk in self.source.chunks():
                for frame in framer.frames(chunk):
                    self._on_frame(frame)
                if self._stop.is_set() or (self._ending and not self._speaking()):
                    break
            self._on_end_of_input()
        finally:
            self.close()

    def request_stop(self) -> None:
        """Ask the loop to end (e.g. from a signal handler)."""
        self._stop.set()
        self.speaker.stop()

    def close(self) -> None:
        self.speaker.stop()
        self.source.close()
        self._drop_speculation()
        if self._decoder is not None:
            self._decoder.close()
        if self._speech_thread is not None:
            self._speech_thread.join(timeout=5)
        if self.spotter is not None:
            self.spotter.reset()
        self.events.emit("state", "idle")

    # -- audio ----------------------------------------------------------------------------

    def _seconds(self, frames: int) -> int:
        return max(1, round(frames / self._frame_seconds))

    def _on_frame(self, frame: bytes) -> None:
        self._frames += 1
        if self._speaking():
            self._quiet_until = self._frames + self._seconds(self.settings.guard_seconds)
            self._last_activity = self._frames
            if self.segmenter.in_speech or self._session is not None:
                self.segmenter.reset()
                self._drop_session()
            if self.spotter is not None:
                self._voiced.append(self.classifier.is_speech(frame))
                self._heard_while_speaking.append(frame)
                self._spot(frame)
            return
        if self._pending:
            self._say(self._pending.pop(0))
            return
        if self._frames < self._quiet_until:
            return
        was_in_speech = self.segmenter.in_speech
        utterance = self.segmenter.feed(frame, self.classifier.is_speech(frame))
        if self.segmenter.in_speech and not was_in_speech and not self._discarding:
            self._session = self.recognizer.session()
            self.events.emit("state", "hearing")
            self._feed(self.segmenter.audio_so_far())
        elif self._session is not None:
            self._feed(frame)
            self._maybe_speculate()
            self._maybe_finalize_early()
        elif self._early is not None and self.segmenter.in_speech and self.segmenter.trailing_silence_frames == 0:
            self._resume_after_early_finalize()
        if utterance is None and self._early is not None and self._early.whole and self.segmenter.in_speech:
            utterance = self.segmenter.end_now()
        if utterance is not None and self._discarding:
            self._discarding = False
            self.events.emit("state", "listening")
        elif utterance is not None:
            self.endpoint_time = time.monotonic()
            self._on_utterance(utterance.pcm, whole=utterance.reason == "complete")
        elif not self.segmenter.in_speech:
            self._maybe_reprompt()

    def _feed(self, pcm: bytes) -> None:
        try:
            partial = self._session.accept(pcm)
        except Exception as exc:  # a recognizer fault drops this utterance, never the loop
            log.warning("recognizer failed on a chunk: %s", exc)
            self.events.emit("error", "I did not catch that.", where="recognizer")
            self._drop_session()
            # Ignore the rest of this utterance: half a sentence can lose its "not".
            self._discarding = True
            return
        if partial:
            self.events.emit("partial", partial)

    def _maybe_finalize_early(self) -> None:
        """Finalize during the end-of-speech silence: the decoder's last pass (and any second
        decode) then runs while the segmenter waits out the endpoint, not after it."""
        ahead = self.settings.finalize_ahead_seconds
        if ahead is None or self._session is None or not self.segmenter.in_speech:
            return
        endpoint = self.segmenter.settings.frames(self.segmenter.settings.end_silence_seconds)
        if self.segmenter.trailing_silence_frames < max(1, endpoint - self._seconds(ahead)):
            return
        session, self._session = self._session, None
        started = time.monotonic()
        speculated = self._speculation is not None
        transcript = self._final_transcript(session)
        if transcript is None:
            self._discarding = True
            return
        # Understand it now too, and ask the spotter about a short one not understood: both would
        # otherwise run after the endpoint (the spotter's pass took up to 0.7 s with Whisper,
        # which drops a lone 'next' more often than PocketSphinx does).
        chosen = interpret(self.core.matcher, transcript)
        spotted = None
        if chosen.match.kind in ("decline", "clarify"):
            spotted = self._spot_command_in(self.segmenter.audio_so_far())
        self._early = EarlyResult(transcript, time.monotonic() - started, chosen, spotted,
                                  self._is_whole(transcript, chosen), speculated)

    def _is_whole(self, transcript: Transcript, chosen: Interpretation) -> bool:
        """Whether an early result is a whole question, to be answered now (see LoopSettings)."""
        threshold = self.settings.answer_complete_confidence
        text = transcript.text.rstrip()
        words = _words(text).split()
        if (threshold is None or self.settings.wake_word or not text.endswith(_SENTENCE_ENDS) or not words
                or words[-1] in _OPEN_ENDS):
            return False
        match = chosen.match
        if match.kind in ("answer", "decline") and len(words) < _WHOLE_QUESTION_WORDS:
            return False  # 'What causes?', 'How long?': as often the start of a longer question
        return match.kind == "red_flag" or (match.kind in ("answer", "command", "decline")
                                            and match.confidence >= threshold)

    # -- decoding ahead (whole-utterance recognizers) -----------------------------------------

    def _speculates(self) -> bool:
        return self.settings.speculate_after_seconds is not None and self.recognizer.decodes_whole_utterance

    def _maybe_speculate(self) -> None:
        """Start decoding the utterance so far once its trailing silence begins; drop that decode
        the moment speech resumes (its transcript would lack what follows)."""
        if self._decoder is None or self._session is None or not self.segmenter.in_speech:
            return
        silence = self.segmenter.trailing_silence_frames
        if silence == 0:
            if self._speculation is not None:
                log.debug("speech came back during a speculative decode; it is dropped")
                self._drop_speculation()
            return
        if self._speculation is not None or silence < self._seconds(self.settings.speculate_after_seconds):
            return
        # A session of its own, fed here (sessions are made on this thread): the live one goes on
        # gathering in case speech resumes. Whisper's sessions only hold the audio, so this is cheap.
        audio = self.segmenter.audio_so_far()
        session = self.recognizer.session()
        try:
            session.accept(audio)
        except Exception as exc:  # noqa: BLE001 - the early finalize decodes it the ordinary way
            log.debug("could not start a speculative decode: %s", exc)
            return
        self._speculation = self._decoder.start(session, len(audio) // self.classifier.frame_bytes)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.drop()
            self._speculation = None

    def _final_transcript(self, session: RecognizerSession | None) -> Transcript | None:
        """The utterance's transcript: the background decode's when one covers it (no speech since
        it began), waiting for it if it is still running; otherwise ``session`` finished here."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return self._finish(session)
        if session is not None:
            session.abandon()  # it only gathered the same audio, and silence after it
        try:
            transcript = speculation.result()
        except Exception as exc:  # noqa: BLE001 - a recognizer fault drops this utterance, never the loop
            log.warning("recognizer failed to finish: %s", exc)
            self.events.emit("error", "I did not catch that.", where="recognizer")
            return None
        log.debug("speculative decode of %d frames used (decoded in %.3f s, %.3f s before it was needed)",
                  speculation.frames, speculation.ended - speculation.began, time.monotonic() - speculation.ended)
        return transcript

    def _finish(self, session: RecognizerSession) -> Transcript | None:
        """The session's transcript; None (said aloud as not caught) if the recognizer fails."""
        try:
            return session.finish()
        except Exception as exc:  # noqa: BLE001 - a recognizer fault drops this utterance, never the loop
            log.warning("recognizer failed to finish: %s", exc)
            self.events.emit("error", "I did not catch that.", where="recognizer")
            return None

    def _resume_after_early_finalize(self) -> None:
        """Speech came back before the endpoint (a pause mid-sentence): decode the whole utterance again."""
        log.debug("speech resumed after an early finalize; decoding the utterance so far again")
        self._early = None
        self._session = self.recognizer.session()
        self._feed(self.segmenter.audio_so_far())

    def _drop_session(self) -> None:
        self._early = None
        self._drop_speculation()
        if self._session is not None:
            try:
                self._session.abandon()
            except Exception:  # noqa: BLE001 - the utterance is being discarded anyway
                pass
            self._session = None

    def _on_end_of_input(self) -> None:
        if not self._stop.is_set():
            last = self.segmenter.flush()
            if last is not None and (self._session is not None or self._early is not None):
                self._on_utterance(last.pcm)
            while self._pending and not self._stop.is_set():
                self._wait_for_speech()
                self._say(self._pending.pop(0))
        self._wait_for_speech()

    # -- understanding ----------------------------------------------------------------------

    def _on_utterance(self, audio: bytes, whole: bool = False) -> None:
        """Answer an utterance; ``whole``: it was ended before its endpoint, known to be complete."""
        session, self._session = self._session, None
        early, self._early = self._early, None
        if session is None and early is None:
            return
        self.events.emit("state", "thinking")
        started = time.monotonic()
        if early is not None:
            self._drop_speculation()  # none runs after an early finalize; never keep one past its utterance
            transcript, early_finalize_s = early.transcript, early.seconds
        else:
            early_finalize_s = None
            speculated = self._speculation is not None
            transcript = self._final_transcript(session)
            if transcript is None:
                return
        decoded = time.monotonic()
        self._reprompted = False  # one reprompt per silence, not per session
        chosen = early.chosen if early is not None else interpret(self.core.matcher, transcript)
        text = self._through_wake_word(chosen.text)
        self._last_activity = self._frames
        if text is None:
            self.events.emit("ignored", chosen.text)
            self.events.emit("state", "listening")
            return
        if not text.strip():
            self.events.emit("heard", "")
            self.events.emit("state", "listening")
            return
        match = chosen.match if text == chosen.text else self.core.matcher.match(text)
        if match.kind in ("decline", "clarify"):
            command = early.spotted if (early is not None and text == chosen.text) else self._spot_command_in(audio)
            if command is not None:
                text, match = command, self.core.matcher.match(command)
        reply, self.state = self.core.dialogue.respond(self.state, text, match)
        matched = time.monotonic()
        self.events.emit("heard", text, transcript=transcript.text, confidence=transcript.confidence)
        self.events.emit("matched", reply.text, kind=reply.kind, intent=reply.intent,
                         confidence=reply.confidence, finalize_s=decoded - started, match_s=matched - decoded,
                         early_finalize_s=early_finalize_s, answered_early=whole,
                         speculated=early.speculated if early is not None else speculated)
        self._act(reply)

    def _spot_command_in(self, audio: bytes) -> str | None:
        """A one-word command the recognizer missed ('next' heard as 'you'), found by the spotter."""
        if self.spotter is None or len(audio) / 2 / self.recognizer.sample_rate > SHORT_UTTERANCE_SECONDS:
            return None
        self.spotter.set_noisy_room(self.recognizer.noisy_room)
        self.spotter.reset()
        step = self.classifier.frame_bytes
        found = next((c for c in (self.spotter.feed(audio[i:i + step]) for i in range(0, len(audio), step)) if c),
                     None)
        self.spotter.reset()
        return found

    def _through_wake_word(self, text: str) -> str | None:
        """The text after the wake phrase; None if it must be ignored (no phrase, or only the phrase)."""
        wake = self.settings.wake_word
        if not wake:
            return text
        heard, phrase = _words(text), _words(wake)
        after = re.split(rf"\b{re.escape(phrase)}\b", heard, maxsplit=1)
        if self._frames <= self._wake_until:
            self._wake_until = -1
            return after[-1].strip() or text
        if len(after) == 1:
            return None
        if not after[1].strip():
            self._wake_until = self._frames + self._seconds(self.settings.wake_window_seconds)
            self._say(Reply("command", "help", 1.0, ("Yes?",)))
            return None
        return after[1].strip()

    def _act(self, reply: Reply) -> None:
        self._apply_rate(reply)
        for action in reply.actions:
            if action.name == "stop_speaking":
                self.speaker.stop()
            elif action.name == "end_session":
                self._ending = True
        if reply.chunks:
            self._say(reply)
        else:
            self.events.emit("state", "listening")

    def _apply_rate(self, reply: Reply) -> None:
        for action in reply.actions:
            if action.name == "set_rate" and action.value is not None:
                self.speaker.set_rate(action.value)
                if self.on_rate_change is not None:
                    try:
                        self.on_rate_change(action.value)
                    except AssistantError as exc:  # the pace changes anyway; only saving failed
                        self.events.emit("error", str(exc), where="config")

    def _maybe_reprompt(self) -> None:
        silent = self._frames - self._last_activity
        if not self._reprompted and silent >= self._seconds(self.settings.reprompt_seconds):
            self._reprompted = True
            self._say(Reply("command", "help", 1.0, (REPROMPT,)))

    # -- speaking -------------------------------------------------------------------------

    def _speaking(self) -> bool:
        return self._speech_thread is not None and self._speech_thread.is_alive()

    def _say(self, reply: Reply) -> None:
        self._wait_for_speech()
        self._last_activity = self._frames
        if self.spotter is not None:
            self.spotter.set_noisy_room(self.recognizer.noisy_room)
        self.events.emit("state", "speaking")
        self._speech_thread = threading.Thread(target=self._speak, args=(reply.chunks,), name="speaker",
                                               daemon=True)
        self._speech_thread.start()
        # While it speaks, 'next' is the likely next request: its first words are made ahead.
        self.speaker.prefetch(self.core.dialogue.next_lines(self.state))

    def _speak(self, chunks: tuple[str, ...]) -> None:
        try:
            self.speaker.speak(chunks)
        except Exception as exc:  # noqa: BLE001 - captions already carry the words
            log.warning("speaking failed: %s", exc)
            self.events.emit("error", str(exc), where="speaker")
        finally:
            self.events.emit("state", "listening")

    def _wait_for_speech(self) -> None:
        if self._speech_thread is not None:
            self._speech_thread.join()

    def _confirmed(self, command: str, said: str) -> bool:
        """Whether the recognizer hears the spotted command in the microphone's last seconds, in
        words the assistant was not saying itself."""
        audio = b"".join(self._heard_while_speaking)
        try:
            heard = normalize(self.recognizer.hear_once(audio).text)
        except AssistantError as exc:
            log.warning("could not confirm %r: %s", command, exc)
            return False
        padded, spoken = f" {heard} ", f" {said} "
        found = [p for p in self.spotter.phrases_for(command) if f" {p} " in padded and f" {p} " not in spoken]
        if not found:
            log.debug("ignoring %r: the recognizer heard %r", command, heard)
        return bool(found)

    def _spot(self, frame: bytes) -> None:
        command = self.spotter.feed(frame)
        if command is None:
            return
        if sum(self._voiced) < self._seconds(self.settings.barge_in_voiced_seconds):
            log.debug("ignoring %r: no voice was heard (silence or steady noise)", command)
            return
        said = normalize(f"{self.speaker.previous_sentence} {self.speaker.current_sentence}")
        if command in said.split():
            log.debug("ignoring %r: it is in the sentences being spoken (echo)", command)
            return
        if self.settings.barge_in_confirm_seconds and not self._confirmed(command, said):
            return
        self.events.emit("barge_in", command)
        self.speaker.stop()
        match = self.core.matcher.match(command)
        reply, self.state = self.core.dialogue.respond(self.state, command, match)
        self._apply_rate(reply)
        if reply.chunks:
            self._pending.append(reply)
