"""Audio: WAV conversion of every common format, clear rejections, the pure segmenter by arithmetic."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
import soundfile

from voice_assistant.audio.memory import MemorySink, PcmSource
from voice_assistant.audio.segmenter import Framer, Segmenter, SegmenterSettings
from voice_assistant.audio.wav import WavFileSource, write_wav
from voice_assistant.errors import AudioFormatError


def _tone(rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * 440 * t)


@pytest.mark.parametrize("subtype,rate,channels", [
    ("PCM_U8", 8000, 1), ("PCM_16", 16000, 1), ("PCM_16", 44100, 2), ("PCM_24", 48000, 1),
    ("PCM_32", 22050, 1), ("FLOAT", 48000, 2), ("DOUBLE", 11025, 1)])
def test_any_wav_becomes_16k_mono_int16(tmp_path, subtype, rate, channels):
    samples = _tone(rate)
    if channels == 2:
        samples = np.stack([samples, samples], axis=1)
    path = tmp_path / "in.wav"
    soundfile.write(path, samples, rate, subtype=subtype)
    pcm = np.frombuffer(WavFileSource(path).read_all(), dtype="<i2")
    assert abs(len(pcm) - 16000) <= 16
    assert 15000 < np.abs(pcm).max() < 17500  # 0.5 full scale, resampled without clipping
    # The 440 Hz tone survives resampling.
    spectrum = np.abs(np.fft.rfft(pcm[:16000]))
    assert abs(np.argmax(spectrum) - 440) <= 2


@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b"hello, not audio at all", "not a WAV"),
                                            (b"RIFF\x24\x00\x00\x00WAVEfmt ", "damaged")])
def test_bad_files_are_rejected_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=reason):
        WavFileSource(path).read_all()


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(AudioFormatError, match="no such file"):
        WavFileSource(tmp_path / "none.wav")
    with pytest.raises(AudioFormatError, match="folder"):
        WavFileSource(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.wav"
    write_wav(path, b"\x00\x00" * 100)
    path.chmod(0)
    with pytest.raises(AudioFormatError, match="permission"):
        WavFileSource(path)


def test_long_file_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "long.wav"
    with soundfile.SoundFile(path, "w", 48000, 2, "PCM_16") as out:
        block = (np.random.default_rng(0).standard_normal((48000, 2)) * 0.1).astype(np.float32)
        for _ in range(600):  # ten minutes of stereo 48 kHz noise
            out.write(block)
    tracemalloc.start()
    total = sum(len(chunk) for chunk in WavFileSource(path).chunks())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(total / 2 - 600 * 16000) < 1600
    assert peak < 5_000_000, f"peak {peak} bytes: the file was not streamed"


# -- segmenter: counted in 30 ms frames ----------------------------------------------------

FRAME = b"\x00\x00" * 480


def _segment(pattern: str, settings: SegmenterSettings | None = None):
    segmenter = Segmenter(settings or SegmenterSettings())
    found = [u for u in (segmenter.feed(FRAME, c == "S") for c in pattern) if u]
    tail = segmenter.flush()
    return found + ([tail] if tail else [])


def test_speech_then_silence_makes_one_utterance():
    # 10 silent, 20 speech, 30 silent frames: start needs 4 speech frames (0.12 s),
    # end needs 23 silent frames (0.7 s), and 10 frames (0.3 s) of pre-roll are kept.
    [utterance] = _segment("_" * 10 + "S" * 20 + "_" * 30)
    assert utterance.reason == "silence"
    assert utterance.end_frame == 10 + 20 + 23
    assert utterance.start_frame == 0  # 10 frames of pre-roll reach back to the start
    assert len(utterance.pcm) == (utterance.end_frame - utterance.start_frame) * len(FRAME)


def test_an_utterance_known_to_be_whole_ends_before_its_endpoint():
    # 10 silent, 20 speech, then 8 silent frames (0.24 s, as at the early finalize): ended there.
    segmenter = Segmenter(SegmenterSettings())
    assert not [u for u in (segmenter.feed(FRAME, c == "S") for c in "_" * 10 + "S" * 20 + "_" * 8) if u]
    utterance = segmenter.end_now()
    assert (utterance.reason, utterance.start_frame, utterance.end_frame) == ("complete", 0, 38)
    assert len(utterance.pcm) == 38 * len(FRAME)
    assert not segmenter.in_speech and segmenter.end_now() is None  # nothing left to end
    assert segmenter.flush() is None


def test_short_blips_are_not_speech():
    assert _segment("_" * 5 + "SSS" + "_" * 40 + "S" + "_" * 40) == []


def test_pauses_shorter_than_the_end_silence_do_not_split():
    [utterance] = _segment("S" * 20 + "_" * 20 + "S" * 20 + "_" * 30)
    assert utterance.end_frame == 60 + 23


def test_relaxed_setting_waits_longer():
    assert len(_segment("S" * 20 + "_" * 30 + "S" * 20 + "_" * 60, SegmenterSettings())) == 2
    assert len(_segment("S" * 20 + "_" * 30 + "S" * 20 + "_" * 60, SegmenterSettings.relaxed())) == 1


def test_max_length_cuts_long_speech():
    settings = SegmenterSettings(max_utterance_seconds=3.0)
    utterances = _segment("S" * 250, settings)
    assert [u.reason for u in utterances][:2] == ["max_length", "max_length"]
    assert all(len(u.pcm) <= 100 * len(FRAME) for u in utterances)


def test_end_of_stream_flushes_speech_in_progress():
    [utterance] = _segment("S" * 30)
    assert utterance.reason == "end_of_stream"


def test_framer_recuts_chunks():
    framer = Framer(960)
    frames = framer.frames(b"\x01" * 1000) + framer.frames(b"\x02" * 1000)
    assert [len(f) for f in frames] == [960, 960]


def test_memory_source_and_sink():
    pcm = b"\x01\x00" * 16000
    chunks = list(PcmSource(pcm).chunks())
    assert b"".join(chunks) == pcm and len(chunks[0]) == 960
    sink = MemorySink()
    assert sink.play(pcm, 16000) and sink.played == [(pcm, 16000)]
