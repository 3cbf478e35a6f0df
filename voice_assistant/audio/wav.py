"""WAV (and other soundfile formats) as an audio source: any rate, channels and sample format.

Read in blocks with soundfile (libsndfile), mixed to mono and resampled to
16 kHz with soxr's streaming resampler, so an hours-long file is converted in
bounded memory. Unreadable files raise :class:`AudioFormatError` with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile
import soxr

from voice_assistant.audio.base import CHUNK_SECONDS, SAMPLE_RATE, AudioSource, to_int16
from voice_assistant.errors import AudioFormatError

log = logging.getLogger(__name__)

MIN_RATE = 4_000
MAX_RATE = 384_000


class WavFileSource(AudioSource):
    """Streams an audio file as 16 kHz mono int16 PCM chunks."""

    def __init__(self, path: str | Path, sample_rate: int = SAMPLE_RATE, chunk_seconds: float = CHUNK_SECONDS):
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.chunk_seconds = chunk_seconds
        self.info = probe(self.path)
        self._closed = False

    def chunks(self) -> Iterator[bytes]:
        block = max(1, int(self.info.samplerate * self.chunk_seconds))
        resampler = None
        if self.info.samplerate != self.sample_rate:
            resampler = soxr.ResampleStream(self.info.samplerate, self.sample_rate, 1, dtype="float32")
        try:
            with soundfile.SoundFile(str(self.path)) as audio:
                for frames in audio.blocks(blocksize=block, dtype="float32", always_2d=True):
                    if self._closed:
                        return
                    mono = frames.mean(axis=1, dtype=np.float32)
                    # A float file may hold NaN or infinity: silence them rather than
                    # casting garbage (and a numpy warning on stderr) into the PCM.
                    if not np.isfinite(mono).all():
                        mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
                    if resampler is not None:
                        mono = resampler.resample_chunk(mono)
                    if mono.size:
                        yield to_int16(mono).tobytes()
                if resampler is not None:
                    tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
                    if tail.size:
                        yield to_int16(tail).tobytes()
        except (soundfile.LibsndfileError, RuntimeError) as exc:
            raise AudioFormatError(f"{self.path}: the audio data is damaged or truncated ({exc})") from None

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        self._closed = True


def probe(path: Path) -> soundfile._SoundFileInfo:
    """Check that ``path`` is audio we can convert; return its format info."""
    if not path.exists():
        raise AudioFormatError(f"{path}: no such file", "check the path")
    if path.is_dir():
        raise AudioFormatError(f"{path}: is a folder, not an audio file", "pass a .wav file")
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except PermissionError:
        raise AudioFormatError(f"{path}: permission denied", "make the file readable") from None
    if not header:
        raise AudioFormatError(f"{path}: the file is empty", "record or choose a WAV file with sound in it")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        kind = "not a WAV file" if not header.startswith((b"RIFF", b"RIFX", b"RF64")) else "a damaged WAV file"
        raise AudioFormatError(f"{path}: {kind} ({_reason(exc)})",
                               "use a WAV file (PCM or float, any rate and channels)") from None
    if info.frames == 0:
        raise AudioFormatError(f"{path}: the file holds no audio frames", "record or choose a longer file")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioFormatError(f"{path}: unsupported sample rate {info.samplerate} Hz",
                               f"use {MIN_RATE}-{MAX_RATE} Hz")
    log.debug("%s: %s, %d Hz, %d channel(s), %.1f s", path, info.subtype, info.samplerate, info.channels,
              info.duration)
    return info


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[-1]


def write_wav(path: str | Path, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit mono PCM to a WAV file."""
    soundfile.write(str(path), np.frombuffer(pcm, dtype="<i2"), sample_rate, subtype="PCM_16")
