"""Noise suppression for noisy utterances: RNNoise, gated by an estimate of the signal-to-noise ratio.

PocketSphinx's small acoustic model falls apart in steady noise (at 10 dB, fewer than half the spoken
questions were answered right). RNNoise (Xiph's recurrent-network suppressor, shipped compiled in the
``pyrnnoise`` wheel) removes most of it, but on clean speech it costs a few answers, so it runs only
when :func:`estimate_snr_db` says the utterance is noisy. Figures: ``bench/sweep_asr.py`` docstring.

:func:`estimate_snr_db` is pure arithmetic over frame powers; :class:`Denoiser` needs the library,
and :func:`load_denoiser` says (once, in the log) when it is not there.
"""

from __future__ import annotations

import ctypes
import functools
import logging

import numpy as np
import soxr

from voice_assistant.audio.base import SAMPLE_RATE

log = logging.getLogger(__name__)

#: RNNoise works on 10 ms frames at 48 kHz, and its output lags its input by two of them.
RNNOISE_RATE = 48_000
RNNOISE_FRAME = 480
RNNOISE_DELAY = 2 * RNNOISE_FRAME
#: 20 ms frames for the estimate: long enough to average a pitch period, short enough for pauses.
ESTIMATE_FRAME = SAMPLE_RATE // 50
#: The loud frames stand for the speech, the quiet ones for the noise between words.
SPEECH_PERCENTILE = 90
NOISE_PERCENTILE = 10
#: Frames of digital silence would make the ratio infinite; this keeps it finite and large.
POWER_FLOOR = 1e-3


def estimate_snr_db(pcm: bytes) -> float | None:
    """A rough signal-to-noise ratio of 16-bit PCM, in dB: loud frames' power over quiet frames'.

    None when there is less than a few frames, as nothing can be told from so little.
    """
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    frames = len(samples) // ESTIMATE_FRAME
    if frames < 5:
        return None
    power = (samples[: frames * ESTIMATE_FRAME].reshape(frames, ESTIMATE_FRAME) ** 2).mean(axis=1) + POWER_FLOOR
    return float(10.0 * np.log10(np.percentile(power, SPEECH_PERCENTILE) / np.percentile(power, NOISE_PERCENTILE)))


class Denoiser:
    """RNNoise over a whole utterance of 16 kHz 16-bit mono PCM (resampled to 48 kHz and back)."""

    def __init__(self, library) -> None:
        self._lib = library

    def process(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
        if not len(samples):
            return b""
        upsampled = soxr.resample(samples, SAMPLE_RATE, RNNOISE_RATE)
        # Room at the end for the delay, so the output can be shifted back into line with the input.
        padded = np.zeros(-(-(len(upsampled) + RNNOISE_DELAY) // RNNOISE_FRAME) * RNNOISE_FRAME, dtype=np.float32)
        padded[: len(upsampled)] = upsampled
        cleaned = np.empty_like(padded)
        frame_in = np.empty(RNNOISE_FRAME, dtype=np.float32)
        frame_out = np.empty(RNNOISE_FRAME, dtype=np.float32)
        pointer = ctypes.POINTER(ctypes.c_float)
        # A fresh state per utterance: what it learnt of one room's noise must not colour the next.
        state = self._lib.rnnoise_create(None)
        try:
            for start in range(0, len(padded), RNNOISE_FRAME):
                frame_in[:] = padded[start:start + RNNOISE_FRAME]
                self._lib.rnnoise_process_frame(state, frame_out.ctypes.data_as(pointer),
                                                frame_in.ctypes.data_as(pointer))
                cleaned[start:start + RNNOISE_FRAME] = frame_out
        finally:
            self._lib.rnnoise_destroy(state)
        aligned = cleaned[RNNOISE_DELAY:RNNOISE_DELAY + len(upsampled)]
        restored = soxr.resample(aligned, RNNOISE_RATE, SAMPLE_RATE)[: len(samples)]
        # Clip, not wrap: RNNoise may overshoot full scale on loud speech.
        return np.clip(np.round(restored), -32768, 32767).astype("<i2").tobytes()


@functools.cache
def load_denoiser() -> Denoiser | None:
    """RNNoise from the ``pyrnnoise`` wheel, or None (logged once) where it has no wheel."""
    try:
        from pyrnnoise.pyrnnoise import lib
        if lib.rnnoise_get_frame_size() != RNNOISE_FRAME:
            raise OSError(f"unexpected RNNoise frame size {lib.rnnoise_get_frame_size()}")
    except (ImportError, OSError, AttributeError) as exc:
        log.warning("noise suppression is unavailable (%s); speech in a noisy room will be heard less "
                    "well. It needs the pyrnnoise package (Linux x86-64 or Windows x64).", exc)
        return None
    return Denoiser(lib)
