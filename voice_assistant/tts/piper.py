"""Piper: a neural voice (VITS, run by onnxruntime on the CPU), synthesizing straight to PCM.

A voice is an ONNX model with its JSON config. Pace follows the same
:class:`VoiceSettings` as espeak-ng (words per minute times rate), turned
into Piper's length scale, so 'slower' sounds the same step with either voice.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

import numpy as np

from voice_assistant.errors import ModelError, SynthesisError
from voice_assistant.tts.base import Synthesizer, VoiceSettings

log = logging.getLogger(__name__)

#: The pace of a Piper voice at length scale 1, in espeak-ng words per minute: over 40 of the pack's
#: sentences, en_US-joe-medium took 121.0 s where espeak-ng at 160 words a minute took 129.1 s
#: (python bench/bench_tts.py --calibrate). Voices trained on other speakers differ a little.
NATURAL_WORDS_PER_MINUTE = 171.0
#: A Piper voice's length at each length scale, relative to its length at scale 1: over 40 of the
#: pack's sentences, each synthesized twice (bench/bench_tts.py --calibrate). Length does not follow
#: the scale in proportion: each phoneme's duration is rounded up to whole frames and pauses are
#: fixed, and the bend is sharpest just below 1, so the curve is kept as measured, not fitted.
LENGTH_BY_SCALE = ((0.5, 0.634), (0.6, 0.684), (0.7, 0.773), (0.8, 0.879), (0.9, 0.956), (1.0, 1.0),
                   (1.1, 1.05), (1.25, 1.161), (1.4, 1.293), (1.6, 1.451), (2.0, 1.763))


def length_scale(settings: VoiceSettings, natural_wpm: float = NATURAL_WORDS_PER_MINUTE,
                 curve: tuple[tuple[float, float], ...] = LENGTH_BY_SCALE) -> float:
    """Piper's length scale (above 1 is slower) for the pace ``settings`` asks for.

    The wanted length, relative to scale 1, is ``natural_wpm / (wpm x rate)``; the scale that gives
    it is read off the measured curve (straight on past its ends), so that 'slower' lengthens
    speech by the same step espeak-ng does."""
    wanted = natural_wpm / (settings.words_per_minute * settings.rate)
    if len(curve) < 2 or any(b[0] <= a[0] or b[1] <= a[1] for a, b in zip(curve, curve[1:])):
        raise ValueError("a length-by-scale curve needs two points or more, both columns rising")
    scales, lengths = zip(*curve)
    if wanted < lengths[0]:
        (s0, l0), (s1, l1) = curve[0], curve[1]
    elif wanted > lengths[-1]:
        (s0, l0), (s1, l1) = curve[-2], curve[-1]
    else:
        return float(np.interp(wanted, lengths, scales))
    return max(0.1, s0 + (wanted - l0) * (s1 - s0) / (l1 - l0))


class PiperSynthesizer(Synthesizer):
    """Synthesizes with one Piper voice (``model`` is its .onnx file)."""

    def __init__(self, model: Path, threads: int = 0) -> None:
        _keep_onnxruntime_offline()
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise SynthesisError(f"piper-tts is not installed ({exc})",
                                 "run ./scripts/setup, or pass --tts espeak") from None
        config_file = model.with_name(model.name + ".json")
        if not model.is_file() or not config_file.is_file():
            raise ModelError(f"no Piper voice at {model} (a voice is NAME.onnx with NAME.onnx.json beside it)",
                             "pass --voice PATH to a Piper voice, or --tts espeak")
        import json

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's choice (one per core)
        try:
            config = PiperConfig.from_dict(json.loads(config_file.read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's load errors share no base class but Exception
            raise ModelError(f"the Piper voice {model} cannot be loaded ({exc})",
                             "reinstall it, or pass --tts espeak") from None
        self._voice = PiperVoice(session=session, config=config)
        self.model = model
        self.sample_rate = config.sample_rate
        # Piper's phonemizer is one espeak-ng instance with global state.
        self._lock = threading.Lock()

    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[bytes, int]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale(settings), volume=settings.volume)
        try:
            with self._lock:
                pieces = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, config)]
        except Exception as exc:  # onnxruntime and the phonemizer raise their own types
            raise SynthesisError(f"Piper could not synthesize the text ({exc})") from None
        if not pieces:
            raise SynthesisError("Piper produced no audio")
        return np.concatenate(pieces).astype("<i2").tobytes(), self.sample_rate


def _keep_onnxruntime_offline() -> None:
    """onnxruntime (1.32 here) starts Microsoft's 1DS telemetry when it is imported: it writes a device
    id and an event store under ~/.cache/Microsoft and /tmp, and would upload them over HTTPS. Its
    Python switch (disable_telemetry_events) comes too late; only this variable, set before the
    import, stops it (tests/test_privacy.py checks that no file is written)."""
    if "onnxruntime" in sys.modules and os.environ.get("ORT_DISABLE_TELEMETRY") != "1":
        log.warning("onnxruntime was imported before its telemetry could be switched off")
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
