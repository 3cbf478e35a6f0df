"""A noise floor under each 10 ms frame, for PocketSphinx's front end.

Synthetic voices (espeak-ng most of all) are spectrally bare: between their
harmonics the signal is nearly zero, so log filter-bank energies fall far below
anything in the natural speech the acoustic model was trained on, and words come
out garbled ('next' -> 'then'). Adding Gaussian noise 30 dB under each frame's
own level bounds those valleys. A real microphone's recording already has more
noise than that, so it is left practically unchanged. Measured with
``bench/sweep_asr.py '{"noise_floor_db": null}'`` against the default
(figures in its docstring).

Pure and deterministic: the same audio gives the same output however it is
split into chunks, because only whole frames are processed and the rest is
carried to the next call.
"""

from __future__ import annotations

import numpy as np

FRAME_SAMPLES = 160  # 10 ms at 16 kHz


class FrameNoiseFloor:
    """Adds seeded noise ``floor_db`` below each frame's RMS to a stream of 16-bit PCM chunks."""

    def __init__(self, floor_db: float, seed: int = 1) -> None:
        self.scale = 10.0 ** (floor_db / 20.0)
        self._rng = np.random.default_rng(seed)
        self._carry = b""

    def process(self, pcm: bytes) -> bytes:
        """The whole frames of (carried-over audio + ``pcm``), each with its floor added."""
        data = self._carry + pcm
        usable = len(data) // (2 * FRAME_SAMPLES) * (2 * FRAME_SAMPLES)
        self._carry = data[usable:]
        return self._floored(data[:usable])

    def flush(self) -> bytes:
        """The last, partial frame."""
        data, self._carry = self._carry, b""
        return self._floored(data[: len(data) // 2 * 2])

    def _floored(self, data: bytes) -> bytes:
        if not data:
            return b""
        samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
        frames = -(-len(samples) // FRAME_SAMPLES)
        padded = np.zeros(frames * FRAME_SAMPLES)
        padded[: len(samples)] = samples
        counts = np.full(frames, FRAME_SAMPLES)
        counts[-1] = len(samples) - (frames - 1) * FRAME_SAMPLES  # a partial last frame: its own level
        rms = np.sqrt((padded.reshape(frames, FRAME_SAMPLES) ** 2).sum(axis=1) / counts)
        level = np.repeat(rms, FRAME_SAMPLES)[: len(samples)]
        noisy = samples + self._rng.standard_normal(len(samples)) * level * self.scale
        return np.clip(np.round(noisy), -32768, 32767).astype("<i2").tobytes()
