"""Decoding ahead: a whole-utterance recognizer's decode starts in the background when the speaker
falls silent, is kept if no more speech comes, and is redone if speech resumes.

The recognizer here is a stand-in that decodes by the length of the audio it is given (so the test
knows which stretch each decode covered and on which thread it ran); the speech, the
voice-activity detector, the matcher and the dialogue are real.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from speech import pcm_of, silence, speech_end, synthesize
from voice_assistant.audio.virtual import VirtualDevices
from voice_assistant.events import EventBus, EventRecorder
from voice_assistant.loop import ConversationLoop, LoopSettings
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript
from voice_assistant.stt.speculative import BackgroundDecoder
from voice_assistant.tts.speaker import Speaker
from voice_assistant.tts.base import VoiceSettings

pytestmark = pytest.mark.slow  # real-time playback of synthesized speech


class LengthRecognizer(Recognizer):
    """Decodes audio shorter than ``cut`` seconds as ``short``, longer as ``whole``; notes every
    decode as (seconds of audio, thread name)."""

    name = "length"
    decodes_whole_utterance = True

    def __init__(self, cut: float, short: str, whole: str, seconds: float = 0.05, failures: int = 0) -> None:
        self.cut, self.short, self.whole, self.seconds = cut, short, whole, seconds
        self.failures = failures  # the first this many decodes raise, as a broken model would
        self.decodes: list[tuple[float, str]] = []

    def session(self) -> RecognizerSession:
        return LengthSession(self)


class LengthSession(RecognizerSession):
    def __init__(self, recognizer: LengthRecognizer) -> None:
        self.recognizer = recognizer
        self.pcm = b""

    def accept(self, pcm: bytes) -> str:
        self.pcm += pcm
        return ""

    def finish(self) -> Transcript:
        r = self.recognizer
        seconds = len(self.pcm) / 2 / r.sample_rate
        r.decodes.append((seconds, threading.current_thread().name))
        time.sleep(r.seconds)  # a decode takes time: the loop must not count on it being instant
        if len(r.decodes) <= r.failures:
            raise RuntimeError("decoder fault")
        return Transcript(r.short if seconds < r.cut else r.whole, 0.9)

    def abandon(self) -> None:
        self.pcm = b""


@pytest.fixture(scope="module")
def core(pack, matcher, dialogue):
    from voice_assistant.app import Core

    return Core(pack, matcher, dialogue)


def run(core, recognizer, samples: np.ndarray, settings: LoopSettings | None = None) -> EventRecorder:
    devices = VirtualDevices(samples.tobytes(), speed=1.0, tail_seconds=1.0)
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    speaker = Speaker(None, None, VoiceSettings(), bus)  # captions only: nothing competes for the CPU
    loop = ConversationLoop(core, recognizer, devices.microphone, speaker, bus,
                            settings or LoopSettings(greet=False))
    loop.run()
    speaker.close()
    return recorder


def spoken(text: str, voices) -> np.ndarray:
    """``text`` in a slow espeak-ng voice, cut at its last sound."""
    samples = pcm_of(synthesize(text, "espeak-us-130", voices))
    return samples[:int(speech_end(samples) * 16000)]


def test_a_decode_started_in_the_silence_is_used_and_no_other_runs(core, voices, caplog):
    question = spoken("what causes back spasms", voices)
    recognizer = LengthRecognizer(cut=0.0, short="", whole="What causes back spasms?")
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        events = run(core, recognizer, np.concatenate([silence(0.5), question, silence(4.0)]))
    [matched] = events.of("matched")
    assert matched.data["intent"] == "causes_overview"
    assert matched.data["speculated"] and matched.data["answered_early"]
    # One decode, on the background worker, started as the silence began and ready (0.05 s) well
    # before the early finalize 0.25 s into it, which took it instead of decoding again.
    [(_, thread)] = recognizer.decodes
    assert thread.startswith("speculative-decode")
    assert any("speculative decode of" in r.getMessage() for r in caplog.records)


def test_speech_resuming_after_the_decode_began_gets_the_whole_utterance_decoded(core, voices, caplog):
    first, rest = spoken("what causes", voices), spoken("back spasms", voices)
    # A pause long enough for the voice-activity detector to call a few frames silent (a decode
    # starts), shorter than the early finalize's 0.25 s of detected silence.
    pause = 0.25
    audio = np.concatenate([silence(0.5), first, silence(pause), rest, silence(4.0)])
    # The utterance's audio starts some 0.3 s before its first word (the segmenter's pre-roll), so a
    # decode of the start alone is about len(first) + 0.45 s long, one of the whole question over a
    # second longer: half a second after the pause tells them apart.
    recognizer = LengthRecognizer(cut=len(first) / 16000 + pause + 0.5,
                                  short="What causes?", whole="What causes back spasms?")
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        events = run(core, recognizer, audio)
    assert any("speech came back during a speculative decode" in r.getMessage() for r in caplog.records)
    assert not any("speech resumed after an early finalize" in r.getMessage() for r in caplog.records)
    [heard] = events.of("heard")
    assert heard.text == "What causes back spasms?"
    assert [e.data["intent"] for e in events.of("matched")] == ["causes_overview"]
    # The first decode was of the start alone; the one used covers the whole question.
    assert len(recognizer.decodes) == 2
    assert recognizer.decodes[0][0] < recognizer.cut <= recognizer.decodes[1][0]


def test_a_fault_in_the_background_decode_drops_that_utterance_and_the_next_is_answered(core, voices):
    question = spoken("what causes back spasms", voices)
    recognizer = LengthRecognizer(cut=0.0, short="", whole="What causes back spasms?", failures=1)
    events = run(core, recognizer, np.concatenate([silence(0.5), question, silence(2.0), question, silence(4.0)]))
    assert [e.data.get("where") for e in events.of("error")] == ["recognizer"]
    assert [e.data["intent"] for e in events.of("matched")] == ["causes_overview"]


def test_a_streaming_recognizer_gets_no_background_decoder(core, recognizer):
    devices = VirtualDevices(b"", tail_seconds=0.0)
    bus = EventBus()
    loop = ConversationLoop(core, recognizer, devices.microphone, Speaker(None, None, VoiceSettings(), bus), bus,
                            LoopSettings(greet=False))
    assert not recognizer.decodes_whole_utterance and loop._decoder is None
    loop.close()


def test_background_decoder_finishes_on_its_thread_and_closes_cleanly():
    recognizer = LengthRecognizer(cut=1.0, short="short", whole="whole", seconds=0.2)
    decoder = BackgroundDecoder()
    before = set(threading.enumerate())
    first = recognizer.session()
    first.accept(bytes(2 * 16000 * 2))
    running = decoder.start(first, 100)
    queued = decoder.start(recognizer.session(), 0)
    queued.drop()  # dropped before the worker reached it: never decoded
    assert running.result().text == "whole" and running.ended >= running.began
    assert queued.future.cancelled()
    decoder.close()
    assert decoder.start(recognizer.session(), 0) is None
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []
    assert [thread for _, thread in recognizer.decodes] == ["speculative-decode_0"]
