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
from voice_assistant.errors import ConfigError

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
#: Frames this many times (10 dB) over the quiet level count as speech when speech is sparse;
#: at least this many of them (60 ms) are needed to count at all.
SPARSE_SPEECH_RATIO = 10.0
SPARSE_SPEECH_FRAMES = 3


def estimate_snr_db(pcm: bytes) -> float | None:
    """A rough signal-to-noise ratio of 16-bit PCM, in dB: loud frames' power over quiet frames'.

    The loud level is the 90th percentile of the frames, or, when speech fills less than a tenth
    of the recording (a short question in a long one), the median of the frames 10 dB or more
    over the quiet level. None when there is less than a few frames, as nothing can be told.
    """
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    frames = len(samples) // ESTIMATE_FRAME
    if frames < 5:
        return None
    power = (samples[: frames * ESTIMATE_FRAME].reshape(frames, ESTIMATE_FRAME) ** 2).mean(axis=1) + POWER_FLOOR
    noise = np.percentile(power, NOISE_PERCENTILE)
    speech = np.percentile(power, SPEECH_PERCENTILE)
    loud = power[power >= noise * SPARSE_SPEECH_RATIO]
    if len(loud) >= SPARSE_SPEECH_FRAMES:
        speech = max(speech, float(np.median(loud)))
    return float(10.0 * np.log10(speech / noise))


class Denoiser:
    """RNNoise for 16 kHz 16-bit mono PCM: a whole utterance, or a stream of chunks."""

    def __init__(self, library) -> None:
        self._lib = library

    def stream(self, keep_original: float = 0.0) -> "DenoiserStream":
        return DenoiserStream(self._lib, keep_original)

    def process(self, pcm: bytes, keep_original: float = 0.0) -> bytes:
        """A whole utterance, as one stream."""
        stream = self.stream(keep_original)
        return stream.process(pcm) + stream.flush()


class DenoiserStream:
    """One utterance through RNNoise, chunk by chunk: resampled to 48 kHz and back, with RNNoise's own
    lag taken out, so what comes out lines up with what went in and has, in the end, the same length.

    A fresh state per utterance: what it learnt of one room's noise must not colour the next.
    ``keep_original`` (0-1) mixes that share of the input back in, which softens the suppressor's
    artefacts for the recognizer.
    """

    def __init__(self, library, keep_original: float = 0.0) -> None:
        self._state = None  # until created, so close() is safe whatever happens here
        if not 0.0 <= keep_original <= 1.0:
            raise ConfigError(f"the share of the original kept by noise suppression must be within 0..1, "
                              f"not {keep_original}")
        self._lib = library
        self._keep = keep_original
        self._original = np.empty(0, dtype=np.float32)  # input not yet matched by output
        self._odd_byte = b""  # half a sample, kept for the next chunk
        self._state = library.rnnoise_create(None)
        self._up = soxr.ResampleStream(SAMPLE_RATE, RNNOISE_RATE, 1)
        self._down = soxr.ResampleStream(RNNOISE_RATE, SAMPLE_RATE, 1)
        self._pending = np.empty(0, dtype=np.float32)  # 48 kHz samples short of a whole frame
        self._lag_left = RNNOISE_DELAY
        self._samples_in = self._samples_out = 0
        self._frame_in = np.empty(RNNOISE_FRAME, dtype=np.float32)
        self._frame_out = np.empty(RNNOISE_FRAME, dtype=np.float32)

    def process(self, pcm: bytes) -> bytes:
        """The cleaned audio that ``pcm`` completes (a little less than went in, until :meth:`flush`)."""
        return self._process(pcm, last=False)

    def _process(self, pcm: bytes, last: bool) -> bytes:
        if self._state is None:
            raise RuntimeError("this denoiser stream is already flushed")
        pcm = self._odd_byte + pcm
        usable = len(pcm) // 2 * 2
        self._odd_byte = pcm[usable:]
        samples = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float32)
        self._samples_in += len(samples)
        if self._keep:
            self._original = np.concatenate([self._original, samples])
        data = np.concatenate([self._pending, self._up.resample_chunk(samples, last=last)])
        if last:  # push the lagging last frames out with silence
            data = np.concatenate([data, np.zeros(RNNOISE_DELAY + RNNOISE_FRAME, dtype=np.float32)])
        whole = len(data) // RNNOISE_FRAME * RNNOISE_FRAME
        self._pending = data[whole:]
        cleaned = self._frames(data[:whole])
        skipped = min(self._lag_left, len(cleaned))
        self._lag_left -= skipped
        restored = self._down.resample_chunk(cleaned[skipped:], last=last)
        if last:  # exactly as long as the input, neither the padding nor a resampler's rounding
            restored = np.concatenate([restored, np.zeros(max(0, self._samples_in - self._samples_out
                                                                 - len(restored)), dtype=np.float32)])
            restored = restored[: self._samples_in - self._samples_out]
        self._samples_out += len(restored)
        if self._keep:  # output sample k lines up with input sample k
            restored = (1.0 - self._keep) * restored + self._keep * self._original[: len(restored)]
            self._original = self._original[len(restored):]
        # Clip, not wrap: RNNoise may overshoot full scale on loud speech.
        return np.clip(np.round(restored), -32768, 32767).astype("<i2").tobytes()

    def flush(self) -> bytes:
        """The rest of the utterance; the stream is finished after this."""
        try:
            return self._process(b"", last=True)
        finally:
            self.close()

    def close(self) -> None:
        if self._state is not None:
            self._lib.rnnoise_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()

    def _frames(self, data: np.ndarray) -> np.ndarray:
        cleaned = np.empty_like(data)
        pointer = ctypes.POINTER(ctypes.c_float)
        for start in range(0, len(data), RNNOISE_FRAME):
            self._frame_in[:] = data[start:start + RNNOISE_FRAME]
            self._lib.rnnoise_process_frame(self._state, self._frame_out.ctypes.data_as(pointer),
                                            self._frame_in.ctypes.data_as(pointer))
            cleaned[start:start + RNNOISE_FRAME] = self._frame_out
        return cleaned


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
