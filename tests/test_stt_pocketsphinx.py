"""PocketSphinx engine: its front-end noise floor (arithmetic, chunking, real speech), its posteriors,
its vocabulary and the passes it makes while the cepstral mean settles."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from speech import require_denoiser
from voice_assistant.stt.noise_floor import FRAME_SAMPLES, FrameNoiseFloor
from voice_assistant.stt.pocketsphinx_engine import (LIVE_REDECODES, MAX_REDECODES, SETTLED_MEAN_SECONDS,
                                                      SETTLING_UTTERANCES, PocketSphinxSession)


def _pcm(samples) -> bytes:
    return np.asarray(samples, dtype="<i2").tobytes()


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _floored(pcm: bytes, floor_db: float = -30.0, chunk: int | None = None) -> bytes:
    floor = FrameNoiseFloor(floor_db)
    if chunk is None:
        return floor.process(pcm) + floor.flush()
    return b"".join(floor.process(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk)) + floor.flush()


def test_noise_sits_the_given_level_under_each_frame():
    # Two loud frames then two quiet ones: 10000 and 100 RMS square waves.
    loud = np.tile([10000, -10000], FRAME_SAMPLES)
    quiet = np.tile([100, -100], FRAME_SAMPLES)
    clean = np.concatenate([loud, quiet]).astype(np.float64)
    added = _samples(_floored(_pcm(clean), floor_db=-20.0)) - clean
    frames = added.reshape(-1, FRAME_SAMPLES)
    noise_rms = np.sqrt((frames ** 2).mean(axis=1))
    # -20 dB is a tenth of the amplitude: ~1000 under the loud frames, ~10 under the quiet ones.
    assert np.allclose(noise_rms[:2], 1000, rtol=0.15), noise_rms
    assert np.allclose(noise_rms[2:], 10, rtol=0.15), noise_rms


def test_digital_silence_stays_silent_and_length_is_kept():
    silence = _pcm(np.zeros(5 * FRAME_SAMPLES + 37))
    out = _floored(silence)
    assert out == silence


def test_same_output_however_the_audio_is_chunked():
    rng = np.random.default_rng(7)
    speechlike = _pcm(rng.normal(0, 3000, 16000 + 123).clip(-32768, 32767))
    whole = _floored(speechlike)
    assert len(whole) == len(speechlike)
    for chunk in (1, 2, 3, 320, 333, 1000, 1001, 4097 * 2):  # odd sizes split samples across chunks
        assert _floored(speechlike, chunk=chunk) == whole, chunk
    # A stray odd byte at the very end (not a whole sample) is dropped, never mangles the rest.
    assert _floored(speechlike + b"\x01", chunk=333) == whole


def test_a_partial_last_frame_gets_noise_for_its_own_level():
    tail = np.tile([5000, -5000], 20)  # 40 samples, a quarter of a frame
    added = _samples(_floored(_pcm(tail), floor_db=-20.0)) - tail
    assert np.sqrt((added ** 2).mean()) == pytest.approx(500, rel=0.3)


def test_loud_samples_are_clipped_not_wrapped():
    peak = _pcm(np.full(FRAME_SAMPLES, 32767))
    out = _samples(_floored(peak, floor_db=0.0))
    assert out.max() <= 32767 and out.min() >= -32768 and (out > 0).mean() > 0.5


@pytest.mark.slow
def test_floor_lets_the_recognizer_hear_espeak_commands(pack, voices):
    """espeak-ng's bare spectrum garbled even one-word commands ('next' -> 'then'); with the floor they come through."""
    from speech import require, synthesize
    from voice_assistant.audio.wav import WavFileSource
    from voice_assistant.stt.pocketsphinx_engine import LanguageModelSettings, PocketSphinxRecognizer

    require("espeak-us-175")
    with_floor = PocketSphinxRecognizer(pack)
    without = PocketSphinxRecognizer(pack, LanguageModelSettings(noise_floor_db=None))
    phrases = ["next", "slow down", "my arms feel weak and heavy"]
    heard = {p: with_floor.transcribe(WavFileSource(synthesize(p, "espeak-us-175", voices)).chunks()).text
             for p in phrases}
    bare = {p: without.transcribe(WavFileSource(synthesize(p, "espeak-us-175", voices)).chunks()).text
            for p in phrases}
    assert sum(heard[p] == p for p in phrases) > sum(bare[p] == p for p in phrases), (heard, bare)
    assert heard["next"] == "next" and heard["slow down"] == "slow down", heard


@pytest.mark.slow
def test_pocketsphinx_gives_posteriors_for_the_transcript_and_its_words(pack, voices):
    from speech import require, synthesize
    from voice_assistant.audio.wav import WavFileSource
    from voice_assistant.stt.pocketsphinx_engine import PocketSphinxRecognizer

    require("festival-kal")
    recognizer = PocketSphinxRecognizer(pack)
    clear = recognizer.transcribe(WavFileSource(synthesize("what causes back spasms", "festival-kal", voices)).chunks())
    assert " ".join(word for word, _ in clear.words) == clear.text == "what causes back spasms"
    assert all(0.0 <= posterior <= 1.0 for _, posterior in clear.words)
    assert min(posterior for _, posterior in clear.words) > 0.4
    # Off-topic speech forced onto the pack's words: the engine doubts them, and says so.
    forced = recognizer.transcribe(WavFileSource(synthesize("order me a pizza", "festival-kal", voices)).chunks())
    assert forced.words and min(posterior for _, posterior in forced.words) < 0.4, forced
    assert forced.confidence < clear.confidence  # a posterior, not exp() of one (which was always 1.0)


def test_every_red_flag_word_can_be_heard(pack, recognizer):
    # A symptom word outside the recognizer's vocabulary ('buckled', 'pee') is a red flag that can
    # never be caught from speech, however good the patterns are.
    unheard = {word for flag in pack.red_flags for word in flag.pattern_words()
               if recognizer.decoder.lookup_word(word) is None}
    assert not unheard


class _SettlingDecoder:
    """Stands in for pocketsphinx.Decoder: its cepstral mean moves by the given steps, one per pass."""

    def __init__(self, steps):
        self.means, self.passes = [0.0], 0
        self.steps = list(steps)

    def get_cmn(self):
        return f"{self.means[-1]},0,0"

    def start_utt(self):
        pass

    def process_raw(self, pcm, no_search, full_utt):
        pass

    def end_utt(self):
        self.passes += 1
        self.means.append(self.means[-1] + (self.steps.pop(0) if self.steps else 0.0))

    def hyp(self):
        return None


def _passes(steps, seconds=SETTLED_MEAN_SECONDS, since_reset=0, **session_options) -> int:
    """How many times a session decodes an utterance of ``seconds`` whose mean moves by ``steps``."""
    decoder = _SettlingDecoder(steps)
    recognizer = SimpleNamespace(decoder=decoder, utterances_since_reset=since_reset, sample_rate=16000,
                                 noise_floor=lambda: None, settings=SimpleNamespace(denoise_below_snr_db=None),
                                 noisy_room=False)
    session = PocketSphinxSession(recognizer, alternatives=0, **session_options)
    session.accept(b"\0\0" * int(16000 * seconds))
    assert session.finish().text == ""
    return decoder.passes


@pytest.mark.parametrize("steps, passes", [
    ([1.0], 1),               # the mean hardly moved: one pass
    ([30.0, 1.0], 2),         # moved once, then settled: decoded again once
    ([30.0, 20.0, 1.0], 3),   # still moving after the second pass: once more
    ([30.0, 20.0, 10.0, 10.0], 1 + MAX_REDECODES),  # never more than MAX_REDECODES extra passes
])
def test_an_utterance_is_decoded_again_until_the_cepstral_mean_settles(steps, passes):
    assert _passes(steps, redecodes=MAX_REDECODES) == passes


def test_listening_live_an_utterance_is_decoded_again_at_most_once():
    # No redecodes given: what PocketSphinxRecognizer.session() gives.
    assert _passes([30.0, 20.0, 10.0]) == 1 + LIVE_REDECODES == 2


@pytest.mark.parametrize("steps, passes", [([10.0], 1), ([30.0, 1.0], 2)])
def test_once_settled_only_a_jump_of_the_mean_is_decoded_again(steps, passes):
    # After the first utterances, a move under CMN_JUMP_DISTANCE (25) is the voice, not a new microphone.
    assert _passes(steps, since_reset=SETTLING_UTTERANCES) == passes


def test_a_short_utterance_is_decoded_again_only_once():
    assert _passes([30.0, 20.0, 10.0], seconds=SETTLED_MEAN_SECONDS / 2, redecodes=MAX_REDECODES) == 2


class _CmnRecordingDecoder(_SettlingDecoder):
    """A decoder whose mean never moves, recording what it is told the mean is."""

    def __init__(self):
        super().__init__([])
        self.means_set = []

    def set_cmn(self, text):
        self.means_set.append(text)


def _noise_pass(pcm: bytes, noisy_room: bool = False, abandon: bool = False):
    """(decoder, recognizer) after one utterance of ``pcm`` with noise suppression under 20 dB."""
    require_denoiser()
    decoder = _CmnRecordingDecoder()
    recognizer = SimpleNamespace(decoder=decoder, utterances_since_reset=SETTLING_UTTERANCES, sample_rate=16000,
                                 noise_floor=lambda: None, noisy_room=noisy_room,
                                 settings=SimpleNamespace(denoise_below_snr_db=20.0, denoise_keep_original=0.15))
    session = PocketSphinxSession(recognizer, alternatives=0)
    session.accept(pcm)
    session.abandon() if abandon else session.finish()
    return decoder, recognizer


_STEADY_NOISE = _pcm(np.random.default_rng(2).normal(0, 1000, 16000))  # about 0 dB: noise alone
_CLEAN = _pcm(np.concatenate([np.zeros(8000), np.tile([3000, -3000], 4000)]))  # loud over digital silence


def test_a_noisy_utterance_is_decoded_again_from_the_mean_it_started_with():
    decoder, recognizer = _noise_pass(_STEADY_NOISE)
    assert decoder.passes == 2 and decoder.means_set == ["0.0,0,0"]
    assert recognizer.noisy_room


def test_a_clean_utterance_is_decoded_once_and_tells_the_room_is_quiet():
    decoder, recognizer = _noise_pass(_CLEAN, noisy_room=True)
    assert decoder.passes == 1 and decoder.means_set == []
    assert not recognizer.noisy_room


def test_in_a_room_known_to_be_noisy_the_audio_is_cleaned_on_the_way_in_with_no_second_pass():
    decoder, recognizer = _noise_pass(_STEADY_NOISE, noisy_room=True)
    assert decoder.passes == 1 and decoder.means_set == []
    assert recognizer.noisy_room


def test_an_abandoned_utterance_is_ended_once_and_says_nothing_of_the_room():
    decoder, recognizer = _noise_pass(_STEADY_NOISE, abandon=True)
    assert decoder.passes == 1 and decoder.means_set == []
    assert not recognizer.noisy_room
