"""Noise suppression: the signal-to-noise estimate (arithmetic), RNNoise on real speech, and the gate."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from speech import pcm_of, require, require_denoiser, synthesize, with_white_noise
from voice_assistant.audio.denoise import ESTIMATE_FRAME, estimate_snr_db, load_denoiser
from voice_assistant.errors import ConfigError


def _frames(*levels: float) -> bytes:
    """Frames of a constant level each (power = level squared)."""
    return np.concatenate([np.full(ESTIMATE_FRAME, level) for level in levels]).astype("<i2").tobytes()


def test_snr_is_loud_frames_over_quiet_frames():
    # Half the frames at 1000 (power 1e6), half at 10 (power 100): 10 log10(1e4) = 40 dB.
    assert estimate_snr_db(_frames(*[1000] * 10, *[10] * 10)) == pytest.approx(40.0, abs=0.01)


def test_snr_of_steady_noise_alone_is_zero():
    assert estimate_snr_db(_frames(*[300] * 20)) == pytest.approx(0.0, abs=0.01)


def test_digital_silence_between_words_reads_as_very_clean():
    assert estimate_snr_db(_frames(*[1000] * 10, *[0] * 10)) > 80


@pytest.mark.parametrize("quiet", [0, 10])
def test_a_short_question_in_a_long_quiet_recording_still_reads_as_clean(quiet):
    # 0.2 s at 1000 in 5 s (4% of the frames): the 90th percentile is the quiet background.
    assert estimate_snr_db(_frames(*[quiet] * 240, *[1000] * 10)) > 35


def test_sparse_loud_frames_in_steady_noise_are_measured_against_it():
    # 10 frames at 3000 (power 9e6) in 240 of noise at 300 (9e4): 20 dB.
    assert estimate_snr_db(_frames(*[300] * 240, *[3000] * 10)) == pytest.approx(20.0, abs=0.01)


def test_too_little_audio_tells_nothing():
    assert estimate_snr_db(_frames(1000, 10)) is None
    assert estimate_snr_db(b"") is None


@pytest.fixture(scope="module")
def denoiser():
    return require_denoiser()


def test_rnnoise_removes_noise_and_keeps_the_speech(denoiser, voices):
    require("festival-kal")
    clean = pcm_of(synthesize("how do I get my back to unlock", "festival-kal", voices))
    noisy = with_white_noise(clean, snr_db=10)
    cleaned = denoiser.process(noisy.tobytes())
    assert len(cleaned) == len(noisy.tobytes())
    before, after = estimate_snr_db(noisy.tobytes()), estimate_snr_db(cleaned)
    assert before < 20 and after > before + 10, (before, after)
    # What is left is still the speech, in line with it (RNNoise's own 20 ms lag taken out).
    restored = np.frombuffer(cleaned, dtype="<i2").astype(np.float64)
    assert np.corrcoef(restored, clean.astype(np.float64))[0, 1] > 0.9


def test_empty_audio_stays_empty(denoiser):
    assert denoiser.process(b"") == b""


def test_without_the_library_the_assistant_warns_once_and_goes_on(monkeypatch, caplog):
    # Imports fail as on a platform with no wheel.
    monkeypatch.setitem(sys.modules, "pyrnnoise", None)
    monkeypatch.setitem(sys.modules, "pyrnnoise.pyrnnoise", None)
    load_denoiser.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="voice_assistant.audio.denoise"):
            assert load_denoiser() is None and load_denoiser() is None
        assert [r.getMessage().startswith("noise suppression is unavailable") for r in caplog.records] == [True]
    finally:
        load_denoiser.cache_clear()


@pytest.mark.parametrize("chunk_bytes", [1, 2, 1233, 3200])
def test_streamed_in_chunks_it_gives_what_the_whole_utterance_gives(denoiser, voices, chunk_bytes):
    require("espeak-us-175")
    noisy = with_white_noise(pcm_of(synthesize("next", "espeak-us-175", voices)), snr_db=10).tobytes()
    stream = denoiser.stream()
    pieces = [stream.process(noisy[i:i + chunk_bytes]) for i in range(0, len(noisy), chunk_bytes)]
    streamed = b"".join(pieces) + stream.flush()
    assert streamed == denoiser.process(noisy)
    with pytest.raises(RuntimeError, match="already flushed"):
        stream.process(noisy)


def test_a_spotter_that_cleans_its_audio_takes_no_steady_noise_for_a_command(denoiser, voices):
    """Without cleaning, 30 s of this noise (about 10 dB under speech) was spotted as 'faster' or 'stop'
    8 times (bench/bench_loop.py --noise-snr 10 showed the same as barge-ins)."""
    require("festival-kal")
    from voice_assistant.stt.spotter import CommandSpotter

    def spotter_in(noisy_room: bool) -> CommandSpotter:
        spotter = CommandSpotter()
        spotter.set_noisy_room(noisy_room)
        return spotter

    rng = np.random.default_rng(0)
    noise = [np.clip(rng.normal(0.0, 1000.0, 1600), -32768, 32767).astype("<i2").tobytes() for _ in range(300)]
    # The reason for the noisy-room mode: without it, this noise is taken for commands.
    assert [command for command in map(spotter_in(False).feed, noise) if command]
    assert [command for command in map(spotter_in(True).feed, noise) if command] == []
    # ... and it still hears a command said plainly.
    spotter = spotter_in(True)
    said = np.concatenate([np.zeros(8000, "<i2"), pcm_of(synthesize("stop", "festival-kal", voices)),
                           np.zeros(8000, "<i2")]).tobytes()
    assert "stop" in [spotter.feed(said[i:i + 960]) for i in range(0, len(said), 960)]


def test_a_stricter_keyphrase_table_changes_only_the_intents_it_names():
    from voice_assistant.stt.spotter import _kws

    keyphrases = {"faster": ("faster", 1e-25), "speed up": ("faster", 1e-13), "stop": ("stop", 1e0)}
    assert _kws(keyphrases) == "faster /1e-25/\nspeed up /1e-13/\nstop /1e+00/\n"
    assert _kws(keyphrases, {"faster": 1e10}) == "faster /1e-15/\nspeed up /1e-03/\nstop /1e+00/\n"


def test_keeping_some_of_the_original_mixes_it_back_sample_for_sample(denoiser, voices):
    require("espeak-us-175")
    noisy = with_white_noise(pcm_of(synthesize("next", "espeak-us-175", voices)), snr_db=10)
    as_heard = noisy.astype(np.float64)
    cleaned = np.frombuffer(denoiser.process(noisy.tobytes()), dtype="<i2").astype(np.float64)
    assert np.array_equal(np.frombuffer(denoiser.process(noisy.tobytes(), keep_original=1.0), dtype="<i2"), noisy)
    stream = denoiser.stream(keep_original=0.25)
    mixed = b"".join(stream.process(noisy.tobytes()[i:i + 960]) for i in range(0, noisy.nbytes, 960)) + stream.flush()
    expected = 0.75 * cleaned + 0.25 * as_heard
    assert np.abs(np.frombuffer(mixed, dtype="<i2") - expected).max() <= 1.0  # rounding only
    with pytest.raises(ConfigError, match="within 0..1"):
        denoiser.stream(keep_original=1.5)
