"""Faults while the assistant runs: speech synthesis, the recognizer, the microphone, the settings file, Ctrl-C.

The conversation tests run the real :class:`ConversationLoop` on virtual
devices (a recording in, a timeline out), as tests/test_loop.py does, with one
part made to fail. Device faults use a fake ``sounddevice`` module with the
same calls PortAudio's binding offers.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from speech import available, pcm_of, silence, synthesize
from voice_assistant import config
from voice_assistant.app import Core
from voice_assistant.audio import devices
from voice_assistant.audio.devices import MicrophoneSource, SpeakerSink, resolve_device
from voice_assistant.audio.virtual import VirtualDevices
from voice_assistant.audio.wav import write_wav
from voice_assistant.config import UserSettings, load_settings, save_settings
from voice_assistant.errors import ConfigError, DeviceError, SynthesisError
from voice_assistant.events import EventBus, EventRecorder
from voice_assistant.loop import ConversationLoop, LoopSettings
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript
from voice_assistant.tts.base import Synthesizer, VoiceSettings
from voice_assistant.tts.espeak import EspeakSynthesizer
from voice_assistant.tts.speaker import Speaker, pieces_of

ROOT = Path(__file__).resolve().parent.parent
SPEED = 4.0
VOICE = "festival-kal" if available("festival-kal") else "espeak-us-130"
CAUSES, UNLOCK = "what causes back spasms", "how do I get my back to unlock"


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def core(pack, matcher, dialogue):
    return Core(pack, matcher, dialogue)


def _recording(voices, *turns: tuple[str, float]) -> bytes:
    parts = [silence(0.5)]
    for text, pause in turns:
        parts += [pcm_of(synthesize(text, VOICE, voices)), silence(pause)]
    return np.concatenate(parts).tobytes()


def _noise(seconds: float, level: float = 8000) -> np.ndarray:
    """Loud noise: the frame classifier calls it speech, so it makes an utterance."""
    return (np.random.default_rng(3).uniform(-level, level, int(16000 * seconds))).astype("<i2")


def _run(core, recognizer, pcm: bytes, synthesizer: Synthesizer | None = None, greet: bool = False,
         spotter=None, on_rate_change=None, stop_after: float | None = None):
    """Run the loop over ``pcm``; return (events, devices, loop, seconds taken)."""
    virtual = VirtualDevices(pcm, speed=SPEED, tail_seconds=1.0)
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    speaker = Speaker(synthesizer, virtual.speaker if synthesizer else None, VoiceSettings(), bus)
    loop = ConversationLoop(core, recognizer, virtual.microphone, speaker, bus, LoopSettings(greet=greet),
                            spotter=spotter, on_rate_change=on_rate_change)
    timer = threading.Timer(stop_after, loop.request_stop) if stop_after is not None else None
    started = time.monotonic()
    try:
        if timer:
            timer.start()
        loop.run()
    finally:
        took = time.monotonic() - started
        if timer:
            timer.cancel()
        speaker.close()
    return recorder, virtual, loop, took


def _intents(events: EventRecorder) -> list[str]:
    return [e.data["intent"] for e in events.of("matched")]


def _threads_left(before: set[threading.Thread]) -> list[threading.Thread]:
    deadline = time.monotonic() + 2
    while True:
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


class FailingSynthesizer(Synthesizer):
    """espeak-ng, except that one sentence always raises SynthesisError.

    The fault follows the text, not the call count: the speaker prepares
    sentences ahead of time, so the order of calls is not the order of speech.
    """

    def __init__(self, fail_on_text: str) -> None:
        self.inner = EspeakSynthesizer()
        self.fail_on_text = fail_on_text
        self.failures = 0

    def synthesize(self, text, settings):
        if self.fail_on_text in text:
            self.failures += 1
            raise SynthesisError("espeak-ng could not synthesize the text")
        return self.inner.synthesize(text, settings)


class FlakyRecognizer(Recognizer):
    """The real recognizer, except that the first session's ``accept`` raises on chunk ``fail_on``."""

    def __init__(self, inner: Recognizer, fail_on: int) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.fail_on = fail_on
        self.sessions = 0

    def session(self) -> RecognizerSession:
        self.sessions += 1
        return _FlakySession(self.inner.session(), self.fail_on if self.sessions == 1 else 0)


class _FlakySession(RecognizerSession):
    def __init__(self, inner: RecognizerSession, fail_on: int) -> None:
        self.inner, self.fail_on, self.chunks = inner, fail_on, 0

    def accept(self, pcm):
        self.chunks += 1
        if self.chunks == self.fail_on:
            raise RuntimeError("decoder fault")
        return self.inner.accept(pcm)

    def finish(self):
        return self.inner.finish()


class ScriptedRecognizer(Recognizer):
    """Hears the given texts, one per utterance, whatever the audio (for faults outside recognition)."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)

    def session(self) -> RecognizerSession:
        texts = self.texts

        class _Session(RecognizerSession):
            def accept(self, pcm):
                return ""

            def finish(self):
                return Transcript(texts.pop(0) if texts else "", 1.0)

        return _Session()


# -- speech synthesis fails mid-answer ---------------------------------------------------------


def test_tts_failure_mid_answer_keeps_the_conversation_going(core, recognizer, voices):
    [_, (_, second_sentence), *_] = pieces_of(core.pack.entry("causes_overview").chunks[:1])
    synthesizer = FailingSynthesizer(fail_on_text=second_sentence)
    pcm = _recording(voices, (CAUSES, 8.0), (UNLOCK, 2.0))
    events, _, _, _ = _run(core, recognizer, pcm, synthesizer)

    assert _intents(events) == ["causes_overview", "relief_overview"]
    [error] = events.of("error")
    assert error.data["where"] == "tts" and "could not synthesize" in error.text
    # Captions carry both answers in full, though the first could not be spoken to the end.
    spoken = [e.text for e in events.of("speaking")]
    assert spoken[0].startswith(core.pack.entry("causes_overview").chunks[0][:40])
    assert spoken[-1].startswith(core.pack.entry("relief_overview").chunks[0][:40])
    # Sound resumed for the second answer: its sentences were synthesized and played.
    audio = [e.text for e in events.of("audio")]
    assert audio[0] in spoken[0] and any(sentence in spoken[-1] for sentence in audio[1:])
    assert events.of("state")[-1].text == "idle"


# -- the recognizer fails on a chunk -----------------------------------------------------------


def test_recognizer_fault_drops_the_utterance_and_the_next_is_answered(core, recognizer, voices):
    flaky = FlakyRecognizer(recognizer, fail_on=10)
    events, _, _, _ = _run(core, flaky, _recording(voices, (CAUSES, 4.0), (UNLOCK, 2.0)))
    [error] = events.of("error")
    assert error.data["where"] == "recognizer" and error.text == "I did not catch that."
    assert _intents(events)[-1] == "relief_overview"
    assert events.of("state")[-1].text == "idle"


def test_recognizer_fault_does_not_answer_the_rest_of_the_utterance(core, recognizer, voices):
    flaky = FlakyRecognizer(recognizer, fail_on=10)
    events, _, _, _ = _run(core, flaky, _recording(voices, (CAUSES, 4.0), (UNLOCK, 2.0)))
    assert _intents(events) == ["relief_overview"]


# -- microphones and speakers: a fake sounddevice ----------------------------------------------


class FakeStream:
    """A PortAudio input stream fed by a thread; after ``blocks`` blocks the device is unplugged."""

    def __init__(self, sd: "FakeSoundDevice", samplerate, blocksize, callback, **_: object) -> None:
        self.sd, self.rate, self.blocksize, self.callback = sd, samplerate, blocksize, callback
        self.active = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.sd.fail_open:
            raise RuntimeError("Error opening RawInputStream: Device unavailable [PaErrorCode -9985]")
        self.active = True
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.thread.start()

    def _feed(self) -> None:
        block = np.zeros(self.blocksize, np.float32).tobytes()
        for _ in range(self.sd.blocks):
            if not self.active:
                return
            self.callback(block, self.blocksize, None, SimpleNamespace(input_overflow=False))
            time.sleep(0.005)
        self.active = False  # unplugged: PortAudio stops calling back and the stream goes inactive
        self.sd.unplugged = True

    def stop(self) -> None:
        if self.sd.unplugged:
            raise RuntimeError("Error stopping stream: Unanticipated host error [PaErrorCode -9999]")
        self.active = False

    def close(self) -> None:
        if self.sd.unplugged:
            raise RuntimeError("Error closing stream: Unanticipated host error [PaErrorCode -9999]")


class FakeOutputStream:
    def __init__(self, sd: "FakeSoundDevice", **_: object) -> None:
        self.sd = sd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data) -> None:
        self.sd.writes += 1
        if self.sd.writes > self.sd.blocks:
            raise RuntimeError("Error writing to stream: Unanticipated host error [PaErrorCode -9999]")

    def abort(self) -> None:
        pass


class FakeSoundDevice:
    """The parts of the sounddevice module the assistant uses."""

    def __init__(self, device_list=None, default=(0, 1), rates=(48000,), blocks=5, fail_open=False,
                 query_error: Exception | None = None) -> None:
        if device_list is None:
            device_list = [{"name": "USB Mic", "max_input_channels": 1, "max_output_channels": 0,
                            "default_samplerate": 48000.0},
                           {"name": "Speakers", "max_input_channels": 0, "max_output_channels": 2,
                            "default_samplerate": 44100.0}]
        self.device_list, self.rates, self.blocks, self.fail_open = device_list, rates, blocks, fail_open
        self.query_error = query_error
        self.default = SimpleNamespace(device=default)
        self.unplugged = False
        self.writes = 0
        self.streams: list[FakeStream] = []

    def query_devices(self):
        if self.query_error is not None:
            raise self.query_error
        return self.device_list

    def check_input_settings(self, device, samplerate, channels, dtype):
        if samplerate not in self.rates:
            raise ValueError(f"Invalid sample rate {samplerate}")

    def RawInputStream(self, **kwargs):
        self.streams.append(FakeStream(self, **kwargs))
        return self.streams[-1]

    def RawOutputStream(self, **kwargs):
        return FakeOutputStream(self, **kwargs)


def test_microphone_unplugged_mid_stream_raises_a_clear_device_error():
    sd = FakeSoundDevice(blocks=5)
    mic = MicrophoneSource(None, sd=sd)
    assert mic.device.name == "USB Mic" and mic.device_rate == 48000  # 16 kHz refused: resampled
    received = []
    with pytest.raises(DeviceError) as info:
        for chunk in mic.chunks():
            received.append(chunk)
    # Five 30 ms blocks at 48 kHz, resampled to 16 kHz (less the resampler's delay), no empty chunks.
    assert 3 * 960 < sum(map(len, received)) <= 5 * 960 and all(received)
    assert "the microphone 'USB Mic' stopped delivering audio" in str(info.value)
    assert info.value.exit_code == 5 and "\n" not in str(info.value)
    mic.close()  # stopping a stream whose device is gone fails in PortAudio: close() must not raise
    mic.close()


def test_microphone_that_cannot_open_is_a_device_error():
    with pytest.raises(DeviceError, match="cannot open microphone 'USB Mic'.*Device unavailable"):
        MicrophoneSource(None, sd=FakeSoundDevice(fail_open=True))


def test_conversation_ends_with_one_error_line_when_the_microphone_is_unplugged(monkeypatch, tmp_path, capsys):
    from voice_assistant import cli

    sd = FakeSoundDevice(blocks=40)
    monkeypatch.setattr(devices, "load_sounddevice", lambda: sd)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    before = set(threading.enumerate())
    code = cli.main(["listen", "--engine", "pocketsphinx", "--captions-only", "--no-greeting"])
    err = capsys.readouterr().err
    assert code == 5, err
    assert err.splitlines() == ["voice-assistant: error: the microphone 'USB Mic' stopped delivering audio "
                                "(check the connection)"]
    assert "Traceback" not in err
    assert [t.name for t in _threads_left(before)] == []


@pytest.mark.parametrize("device_list,spec,message", [
    ([], None, "no microphone found"),
    ([{"name": "Speakers", "max_input_channels": 0, "max_output_channels": 2, "default_samplerate": 44100.0}],
     None, "no microphone found"),
    (None, "7", "no microphone with index 7"),
    (None, "1", "no microphone with index 1"),  # index 1 exists, but it is a speaker
    (None, "webcam", "no microphone named like 'webcam'"),
    (None, "\u00b2", "no microphone named like '\u00b2'"),  # a digit to str.isdigit, not to int()
])
def test_resolve_device_errors(device_list, spec, message):
    sd = FakeSoundDevice(device_list=device_list)
    with pytest.raises(DeviceError) as info:
        resolve_device(spec, "input", sd)
    assert message in str(info.value) and info.value.exit_code == 5
    if device_list != []:
        assert "voice-assistant devices" in str(info.value) or "connect one" in str(info.value)


def test_resolve_device_by_index_name_and_default():
    sd = FakeSoundDevice(default=(-1, -1))  # PortAudio's "no default device"
    assert resolve_device(None, "input", sd).name == "USB Mic"
    assert resolve_device("0", "input", sd).name == "USB Mic"
    assert resolve_device("usb", "input", sd).name == "USB Mic"
    assert resolve_device("speak", "output", sd).index == 1


def test_device_listing_failure_is_a_device_error():
    sd = FakeSoundDevice(query_error=OSError("PortAudio not initialized"))
    with pytest.raises(DeviceError, match="cannot list audio devices: PortAudio not initialized"):
        resolve_device(None, "input", sd)


def test_speaker_unplugged_mid_answer_is_an_error_event_not_a_crash():
    sd = FakeSoundDevice(blocks=3)
    bus, events = EventBus(), EventRecorder()
    bus.subscribe(events)
    speaker = Speaker(EspeakSynthesizer(), SpeakerSink(None, sd=sd), VoiceSettings(), bus)
    try:
        assert speaker.speak(["The first sentence is long enough to need many blocks. A second one."])
    finally:
        speaker.close()
    [error] = events.of("error")
    assert error.data["where"] == "speaker" and "cannot play on 'Speakers'" in error.text
    assert [e.text for e in events.of("speaking")] == [
        "The first sentence is long enough to need many blocks. A second one."]


# -- the settings file -------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"garbage{", b"[1, 2]", b"", b"\xff\xfe\x00", b'{"rate": 100}',
                                     b'{"rate": NaN}', b'{"rate": true}', b'{"rate": "fast"}', b'{"rate": -1}'])
def test_corrupt_settings_file_gives_the_defaults(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    assert load_settings(path) == UserSettings()


def test_good_settings_file_is_read(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"rate": 1.25, "from_a_newer_version": "x"}')
    assert load_settings(path) == UserSettings(rate=1.25)
    assert load_settings(tmp_path / "absent.json") == UserSettings()
    assert load_settings(tmp_path) == UserSettings()  # a folder where the file should be


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["os.fdopen", "os.fsync", "os.replace"])
def test_disk_full_when_saving_keeps_the_old_settings(tmp_path, monkeypatch, where):
    path = tmp_path / "voice-assistant" / "settings.json"
    save_settings(path, UserSettings(rate=0.8))
    old = path.read_bytes()
    fds = _open_fds()
    monkeypatch.setattr(config.os, where.split(".")[1], _disk_full)
    with pytest.raises(ConfigError) as info:
        save_settings(path, UserSettings(rate=1.25))
    monkeypatch.undo()
    message = str(info.value)
    assert "cannot save settings" in message and "No space left on device" in message
    assert "previous settings are kept" in message and info.value.exit_code == 8
    assert path.read_bytes() == old and json.loads(old) == {"rate": 0.8}
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temporary file left
    assert _open_fds() == fds  # no file descriptor leaked


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_unwritable_settings_folder(tmp_path):
    path = tmp_path / "settings.json"
    save_settings(path, UserSettings(rate=0.8))
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="Permission denied"):
            save_settings(path, UserSettings(rate=1.25))
    finally:
        tmp_path.chmod(0o700)
    assert json.loads(path.read_text()) == {"rate": 0.8}


def _save_fails(rate: float) -> None:
    raise ConfigError("cannot save settings to /x/settings.json: No space left on device",
                      "the previous settings are kept")


def test_settings_save_failure_in_the_loop_is_an_error_event(core):
    """'Say that slower' when the settings cannot be saved: slower anyway, and say why it is not kept."""
    pcm = np.concatenate([silence(0.5), _noise(1.2), silence(3.0)]).tobytes()
    events, _, loop, _ = _run(core, ScriptedRecognizer("say that slower"), pcm, on_rate_change=_save_fails)
    assert _intents(events) == ["slower"]
    [error] = events.of("error")
    assert error.data["where"] == "config" and "No space left on device" in error.text
    assert loop.state.rate < 1.0 and events.of("state")[-1].text == "idle"


class _SaysSlowerOnce:
    """A command spotter that hears 'slower' once, half a second into what it is fed."""

    def __init__(self) -> None:
        self.frames = 0
        self.fired = False
        self.noisy_room: bool | None = None  # never told
        self.noisy_room_when_fired: bool | None = None

    def set_noisy_room(self, noisy: bool) -> None:
        self.noisy_room = noisy

    def feed(self, frame: bytes) -> str | None:
        self.frames += 1
        if self.fired or self.frames < 16:
            return None
        self.fired = True
        self.noisy_room_when_fired = self.noisy_room
        return "slower"

    def reset(self) -> None:
        pass

    def phrases_for(self, intent: str) -> list[str]:
        return ["slower", "slow down"] if intent == "slower" else []


def test_a_command_spotted_in_silence_is_ignored(core):
    """The spotter's adapting front end can score a keyphrase in digital silence: with no voice heard,
    the loop does not act on it (it once cut the greeting with 'stop' and 'faster' in a silent room)."""
    events, _, _, _ = _run(core, ScriptedRecognizer(), silence(3.0).tobytes(), EspeakSynthesizer(), greet=True,
                           spotter=_SaysSlowerOnce())
    assert events.of("barge_in") == [] and events.of("interrupted") == []


@pytest.mark.parametrize("noisy_room", [False, True])
def test_the_spotter_cleans_its_audio_when_the_recognizer_heard_a_noisy_room(core, noisy_room):
    recognizer = ScriptedRecognizer("slow down")  # what it hears when asked to confirm the spotted command
    recognizer.noisy_room = noisy_room
    spotter = _SaysSlowerOnce()
    # A voice (loud noise, to the voice-activity detector) while it speaks: a command can be heard.
    events, _, _, _ = _run(core, recognizer, _noise(3.0).tobytes(), EspeakSynthesizer(), greet=True,
                           spotter=spotter)
    assert [e.text for e in events.of("barge_in")] == ["slower"]
    assert spotter.noisy_room_when_fired is noisy_room


@pytest.mark.parametrize("heard", ["", "the muscles of your stomach", "please note i share general"])
def test_a_spotted_command_the_recognizer_does_not_hear_is_ignored(core, heard):
    """The spotter takes the assistant's own words for commands (a neural voice's 'stomach' for
    'stop'); the recognizer, given the same seconds, hears the words, so nothing is cut."""
    events, _, _, _ = _run(core, ScriptedRecognizer(heard), _noise(3.0).tobytes(), EspeakSynthesizer(), greet=True,
                           spotter=_SaysSlowerOnce())
    assert events.of("barge_in") == [] and events.of("interrupted") == []


def test_settings_save_failure_during_barge_in_is_an_error_event(core):
    events, _, _, _ = _run(core, ScriptedRecognizer("slower"), _noise(3.0).tobytes(), EspeakSynthesizer(), greet=True,
                           spotter=_SaysSlowerOnce(), on_rate_change=_save_fails)
    assert [e.text for e in events.of("barge_in")] == ["slower"]
    assert [e.data["where"] for e in events.of("error")] == ["config"]


# -- Ctrl-C while speaking ---------------------------------------------------------------------


def test_stop_requested_while_speaking_ends_promptly_and_cleanly(core):
    before = set(threading.enumerate())
    pcm = silence(60.0).tobytes()  # the greeting plays for ~20 s of audio, 5 s at SPEED 4
    events, virtual, _, took = _run(core, ScriptedRecognizer(), pcm, EspeakSynthesizer(), greet=True,
                                    stop_after=1.5)
    assert took < 4.0, took
    assert events.of("audio") and events.of("interrupted")  # it was speaking, and was cut
    assert virtual.timeline.cuts
    assert events.of("state")[-1].text == "idle"
    assert [t.name for t in _threads_left(before)] == []


def test_ctrl_c_while_speaking_says_goodbye_without_a_traceback(tmp_path):
    recording = tmp_path / "silence.wav"
    write_wav(recording, silence(60.0).tobytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "voice_assistant", "listen", "--engine", "pocketsphinx",
                                "--input-wav", str(recording), "--speed", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in process.stdout:  # wait until the greeting is being spoken
            if line.startswith("assistant:"):
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Goodbye." in err and "Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_conversation_log_on_a_full_disk_is_reported_once_and_the_chat_goes_on(capsys, caplog, monkeypatch):
    from voice_assistant import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO("what causes back spasms\nnext\n"))
    mode = os.stat("/dev/full").st_mode
    assert cli.main(["chat", "--log", "/dev/full"]) == 0
    captured = capsys.readouterr()
    assert "The article names eight common causes" in captured.out and "Five" in captured.out
    warnings = [r for r in caplog.records if "could not write the conversation log /dev/full" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "Traceback" not in captured.err
    assert os.stat("/dev/full").st_mode == mode  # a device's permissions are left alone
