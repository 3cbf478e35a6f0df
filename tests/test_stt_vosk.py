"""Vosk engine against a fake ``vosk`` module (vosk 0.3.45 API), model discovery and engine choice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest

from voice_assistant.errors import ModelError
from voice_assistant.stt.selection import choose_engine, find_vosk_model, vosk_model_candidates
from voice_assistant.stt.vosk_engine import VoskRecognizer

SPEECH = (np.full(1600, 1200, dtype=np.int16)).tobytes()  # 0.1 s of "sound"
SILENCE = bytes(3200)  # 0.1 s of all-zero samples: an endpoint after sound


def make_fake_vosk(free: list[tuple[str, float]], biased: list[str] | None = None) -> types.ModuleType:
    """A stand-in for the vosk module; ``free`` holds (text, word conf) per endpoint, ``biased`` grammar texts."""
    fake = types.ModuleType("vosk")
    fake.recognizers = []
    fake.log_level = None

    class FakeModel:
        def __init__(self, model_path: str) -> None:
            assert isinstance(model_path, str)
            if (Path(model_path) / "corrupt").exists():
                raise Exception("Failed to create a model")
            self.path = model_path

    class FakeKaldiRecognizer:
        def __init__(self, model, rate, grammar=None) -> None:
            assert isinstance(model, FakeModel), "KaldiRecognizer needs a Model"
            assert rate == 16000
            self.grammar = grammar
            self.script = [(t, 0.99) for t in biased or []] if grammar is not None else list(free)
            if grammar is not None:
                assert all(isinstance(p, str) for p in json.loads(grammar))
            self.words = False
            self.heard = False
            self.result = {"text": ""}
            fake.recognizers.append(self)

        def SetWords(self, enable: bool) -> None:  # noqa: N802 - vosk API
            self.words = bool(enable)

        def _emit(self) -> dict:
            text, conf = self.script.pop(0) if self.script else ("", 0.0)
            self.heard = False
            result = {"text": text}
            if self.words and text:
                result = {"result": [{"conf": conf, "end": i + 0.5, "start": float(i), "word": w}
                                     for i, w in enumerate(text.split())], "text": text}
            return result

        def AcceptWaveform(self, data: bytes) -> bool:  # noqa: N802
            samples = np.frombuffer(data, dtype=np.int16)
            if samples.any():
                self.heard = True
                return False
            if self.heard:
                self.result = self._emit()
                return True
            return False

        def Result(self) -> str:  # noqa: N802
            out, self.result = self.result, {"text": ""}
            return json.dumps(out)

        def PartialResult(self) -> str:  # noqa: N802
            upcoming = self.script[0][0] if self.heard and self.script else ""
            return json.dumps({"partial": upcoming})

        def FinalResult(self) -> str:  # noqa: N802
            return json.dumps(self._emit() if self.heard else {"text": ""})

    def SetLogLevel(level: int) -> None:  # noqa: N802
        fake.log_level = level

    fake.Model, fake.KaldiRecognizer, fake.SetLogLevel = FakeModel, FakeKaldiRecognizer, SetLogLevel
    return fake


def make_model(folder: Path, grammar: bool = False) -> Path:
    (folder / "am").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_bytes(b"mdl")
    (folder / "conf").mkdir()
    (folder / "graph").mkdir()
    if grammar:
        (folder / "graph" / "HCLr.fst").write_bytes(b"fst")
    return folder


PHRASES = ["back spasm", "what causes back spasms", "stretching"]


def test_transcript_joins_endpoints_and_averages_word_confidence(tmp_path):
    fake = make_fake_vosk([("what causes", 1.0), ("back spasms now", 0.4)])
    recognizer = VoskRecognizer(make_model(tmp_path / "m"), vosk_module=fake)
    transcript = recognizer.transcribe([SPEECH, SPEECH, SILENCE, SPEECH, SILENCE, SILENCE])
    assert transcript.text == "what causes back spasms now"
    assert transcript.confidence == pytest.approx((2 * 1.0 + 3 * 0.4) / 5, abs=1e-3)
    assert transcript.alternatives == ()
    assert fake.recognizers[0].words is True
    assert transcript.words == (("what", 1.0), ("causes", 1.0), ("back", 0.4), ("spasms", 0.4), ("now", 0.4))


def test_results_without_word_details_give_no_word_posteriors(tmp_path):
    fake = make_fake_vosk([("what causes", 0.9)])
    session = VoskRecognizer(make_model(tmp_path / "m"), vosk_module=fake).session()
    fake.recognizers[0].words = False  # a result with 'text' only, no 'result' list
    for chunk in (SPEECH, SILENCE):
        session.accept(chunk)
    transcript = session.finish()
    assert (transcript.text, transcript.words, transcript.confidence) == ("what causes", (), 0.0)


def test_final_result_without_trailing_silence_is_kept(tmp_path):
    fake = make_fake_vosk([("back pain", 0.8), ("at night", 0.6)])
    transcript = VoskRecognizer(make_model(tmp_path / "m"), vosk_module=fake).transcribe(
        [SPEECH, SILENCE, SPEECH])
    assert transcript.text == "back pain at night"
    assert transcript.confidence == pytest.approx(0.7)


def test_silence_only_gives_empty_transcript(tmp_path):
    fake = make_fake_vosk([("never said", 0.9)])
    transcript = VoskRecognizer(make_model(tmp_path / "m"), vosk_module=fake).transcribe([SILENCE, SILENCE])
    assert transcript.text == ""
    assert transcript.confidence == 0.0


def test_accept_returns_partial_text_including_finished_segments(tmp_path):
    fake = make_fake_vosk([("what causes", 0.9), ("back spasms", 0.9)])
    session = VoskRecognizer(make_model(tmp_path / "m"), vosk_module=fake).session()
    assert session.accept(SILENCE) == ""
    assert session.accept(SPEECH) == "what causes"
    assert session.accept(SILENCE) == "what causes"
    assert session.accept(SPEECH) == "what causes back spasms"
    assert session.finish().text == "what causes back spasms"


def test_grammar_hypothesis_is_an_alternative_when_model_supports_it(tmp_path):
    fake = make_fake_vosk([("what cause his back bosom", 0.5)], biased=["[unk] what causes back spasms"])
    recognizer = VoskRecognizer(make_model(tmp_path / "m", grammar=True), phrases=PHRASES, vosk_module=fake)
    transcript = recognizer.transcribe([SPEECH, SILENCE])
    assert transcript.text == "what cause his back bosom"
    assert transcript.alternatives == ("what causes back spasms",)
    free, grammar_rec = fake.recognizers
    assert free.grammar is None
    assert json.loads(grammar_rec.grammar) == sorted(set(PHRASES)) + ["[unk]"]


def test_grammar_json_has_each_phrase_once_plus_unk(tmp_path):
    fake = make_fake_vosk([], biased=[])
    VoskRecognizer(make_model(tmp_path / "m", grammar=True), phrases=PHRASES + ["stretching"],
                   vosk_module=fake).session()
    words = json.loads(fake.recognizers[1].grammar)
    assert sorted(words) == sorted(PHRASES + ["[unk]"])
    assert words[-1] == "[unk]"


@pytest.mark.parametrize("biased", [["what causes back spasms"], ["[unk]"], []])
def test_no_alternative_when_grammar_agrees_or_has_nothing(tmp_path, biased):
    fake = make_fake_vosk([("what causes back spasms", 0.9)], biased=biased)
    recognizer = VoskRecognizer(make_model(tmp_path / "m", grammar=True), phrases=PHRASES, vosk_module=fake)
    transcript = recognizer.transcribe([SPEECH, SILENCE])
    assert transcript.text == "what causes back spasms"
    assert transcript.alternatives == ()


def test_no_grammar_recognizer_without_hclr(tmp_path):
    fake = make_fake_vosk([("what cause his back", 0.5)], biased=["what causes back spasms"])
    recognizer = VoskRecognizer(make_model(tmp_path / "m"), phrases=PHRASES, vosk_module=fake)
    transcript = recognizer.transcribe([SPEECH, SILENCE])
    assert recognizer.grammar is None
    assert [r.grammar for r in fake.recognizers] == [None]
    assert transcript.alternatives == ()


def test_model_error_for_missing_folder(tmp_path):
    with pytest.raises(ModelError) as err:
        VoskRecognizer(tmp_path / "nowhere", vosk_module=make_fake_vosk([]))
    assert str(tmp_path / "nowhere") in err.value.message
    assert "download-model" in err.value.hint


@pytest.mark.parametrize("content", [None, "README", "conf", "graph", "am/final.mdl"])
def test_model_error_for_empty_or_wrong_folder(tmp_path, content):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    if content == "README":
        (folder / content).write_text("this is a readme\n")
    elif content:  # a model with one part missing
        part = make_model(folder) / content
        part.unlink() if part.is_file() else shutil.rmtree(part)
    with pytest.raises(ModelError) as err:
        VoskRecognizer(folder, vosk_module=make_fake_vosk([]))
    assert "not a Vosk model" in err.value.message
    assert "--model" in err.value.hint


def test_model_error_for_corrupt_model(tmp_path):
    folder = make_model(tmp_path / "m")
    (folder / "corrupt").write_text("x")
    with pytest.raises(ModelError) as err:
        VoskRecognizer(folder, vosk_module=make_fake_vosk([]))
    assert "Failed to create a model" in err.value.message
    assert "download it again" in err.value.hint
    assert ModelError.exit_code == 6


@pytest.mark.skipif(not os.environ.get("VOSK_MODEL_PATH"),
                    reason="VOSK_MODEL_PATH not set: no English Vosk model can be downloaded here; "
                           "the PocketSphinx tests cover the same path")
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_real_vosk_model_transcribes_espeak_speech(tmp_path):
    from voice_assistant.audio.wav import WavFileSource

    wav = tmp_path / "out.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "what causes back spasms"], check=True)
    recognizer = VoskRecognizer(Path(os.environ["VOSK_MODEL_PATH"]), phrases=PHRASES)
    transcript = recognizer.transcribe(WavFileSource(wav).chunks())
    assert "back" in transcript.text.split()


# --- selection.py ---------------------------------------------------------------------------

def test_candidates_order_env_project_user(tmp_path):
    got = vosk_model_candidates(None, {"VOSK_MODEL_PATH": str(tmp_path / "env")}, name="m1",
                                project_dir=tmp_path / "proj", user_dir=tmp_path / "user")
    assert got == [tmp_path / "env", tmp_path / "proj" / "m1", tmp_path / "user" / "m1"]
    got = vosk_model_candidates(None, {}, name="m1", project_dir=tmp_path / "proj", user_dir=tmp_path / "user")
    assert got == [tmp_path / "proj" / "m1", tmp_path / "user" / "m1"]


def test_explicit_model_comes_first_and_alone(tmp_path):
    got = vosk_model_candidates(str(tmp_path / "mine"), {"VOSK_MODEL_PATH": "/elsewhere"},
                                project_dir=tmp_path / "proj", user_dir=tmp_path / "user")
    assert got == [tmp_path / "mine"]
    assert vosk_model_candidates("~/x", {})[0] == Path.home() / "x"


def test_find_vosk_model_picks_first_real_model(tmp_path):
    kw = {"name": "m1", "project_dir": tmp_path / "proj", "user_dir": tmp_path / "user"}
    (tmp_path / "env").mkdir()  # exists, but not a model
    env = {"VOSK_MODEL_PATH": str(tmp_path / "env")}
    assert find_vosk_model(None, env, **kw) is None
    make_model(tmp_path / "user" / "m1")
    assert find_vosk_model(None, env, **kw) == tmp_path / "user" / "m1"
    make_model(tmp_path / "proj" / "m1")
    assert find_vosk_model(None, env, **kw) == tmp_path / "proj" / "m1"
    make_model(tmp_path / "env")
    assert find_vosk_model(None, env, **kw) == tmp_path / "env"
    assert find_vosk_model(str(tmp_path / "nothing"), env, **kw) is None


def test_choose_engine(tmp_path):
    model = tmp_path / "m"
    assert choose_engine("pocketsphinx", model).engine == "pocketsphinx"
    assert choose_engine("vosk", None).engine == "vosk"
    auto = choose_engine("auto", model)
    assert auto.engine == "vosk" and str(model) in auto.notice
    assert choose_engine("auto", model, vosk_available=False).engine == "pocketsphinx"
    fallback = choose_engine("auto", None)
    assert fallback.engine == "pocketsphinx"
    assert fallback.notice and "PocketSphinx" in fallback.notice
    whisper = tmp_path / "w"
    assert choose_engine("auto", model, whisper_model=whisper).engine == "whisper"
    assert choose_engine("auto", None, whisper_model=whisper).notice == ""
    assert choose_engine("vosk", None, whisper_model=whisper).engine == "vosk"
