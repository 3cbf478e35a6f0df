"""Microphones and speakers through sounddevice (PortAudio), with clear errors when absent.

PortAudio is imported lazily: without libportaudio2 the import raises
``OSError``, and a machine with no sound card has an empty device list; both
become a :class:`DeviceError` that says what to do.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soxr

from voice_assistant.audio.base import CHUNK_SECONDS, SAMPLE_RATE, AudioSink, AudioSource, to_int16
from voice_assistant.errors import DeviceError

log = logging.getLogger(__name__)


def load_sounddevice():
    """The sounddevice module, or a DeviceError when PortAudio is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise DeviceError(f"audio devices unavailable: {exc}",
                          "install PortAudio (Debian: apt-get install libportaudio2)") from None
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    """One audio device as listed by ``voice-assistant devices``."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def list_devices(sd=None) -> list[DeviceInfo]:
    sd = sd or load_sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudio errors have their own class per build
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    return [DeviceInfo(i, d["name"], d["max_input_channels"], d["max_output_channels"], d["default_samplerate"])
            for i, d in enumerate(devices)]


def resolve_device(spec: str | None, kind: str, sd=None) -> DeviceInfo:
    """Pick a device by index or by (part of its) name; ``None`` means the system default."""
    devices = list_devices(sd)
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    word = "microphone" if kind == "input" else "speaker"
    if not usable:
        raise DeviceError(f"no {word} found", "connect one, or use --input-wav/--output-wav or the typed 'chat'")
    if spec is None:
        sd = sd or load_sounddevice()
        default = sd.default.device[0 if kind == "input" else 1]
        return next((d for d in usable if d.index == default), usable[0])
    if spec.strip().isascii() and spec.strip().isdigit():  # not str.isdigit alone: '²' is a digit int() refuses
        index = int(spec)
        match = next((d for d in usable if d.index == index), None)
        if match is None:
            raise DeviceError(f"no {word} with index {index}", "run 'voice-assistant devices' to list them")
        return match
    matches = [d for d in usable if spec.lower() in d.name.lower()]
    if not matches:
        raise DeviceError(f"no {word} named like {spec!r}", "run 'voice-assistant devices' to list them")
    return matches[0]


class MicrophoneSource(AudioSource):
    """Live microphone input, resampled to 16 kHz mono. The PortAudio callback only enqueues."""

    def __init__(self, device: str | None = None, sample_rate: int = SAMPLE_RATE, sd=None) -> None:
        self._sd = sd or load_sounddevice()
        self.device = resolve_device(device, "input", self._sd)
        self.sample_rate = sample_rate
        self.device_rate = self._pick_rate()
        self.overflows = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=200)
        self._closed = threading.Event()
        self._resampler = (soxr.ResampleStream(self.device_rate, sample_rate, 1, dtype="float32")
                           if self.device_rate != sample_rate else None)
        try:
            self._stream = self._sd.RawInputStream(
                samplerate=self.device_rate, device=self.device.index, channels=1, dtype="float32",
                blocksize=int(self.device_rate * CHUNK_SECONDS), callback=self._callback)
            self._stream.start()
        except Exception as exc:
            raise DeviceError(f"cannot open microphone {self.device.name!r}: {exc}",
                              "check it is connected and not in use") from None

    def _pick_rate(self) -> int:
        for rate in (self.sample_rate, int(self.device.default_rate), 48_000, 44_100):
            try:
                self._sd.check_input_settings(device=self.device.index, samplerate=rate, channels=1,
                                              dtype="float32")
                return rate
            except Exception:  # noqa: BLE001 - unsupported rate: try the next
                continue
        return int(self.device.default_rate)

    def _callback(self, data, frames, time_info, status) -> None:  # runs on PortAudio's thread
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:
            self.overflows += 1

    def chunks(self) -> Iterator[bytes]:
        reported = 0
        while not self._closed.is_set():
            try:
                data = self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._stream_active() and not self._closed.is_set():
                    raise DeviceError(f"the microphone {self.device.name!r} stopped delivering audio",
                                      "check the connection")
                continue
            if data is None:
                return
            if self.overflows > reported:
                log.warning("microphone overflow: %d chunk(s) lost so far", self.overflows)
                reported = self.overflows
            samples = np.frombuffer(data, dtype=np.float32)
            if self._resampler is not None:
                samples = self._resampler.resample_chunk(samples)
            if samples.size:  # the resampler holds back its first few milliseconds
                yield to_int16(samples).tobytes()

    def _stream_active(self) -> bool:
        try:
            return bool(self._stream.active)
        except Exception:  # noqa: BLE001 - PortAudio errors once the device is gone
            return False

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._stream.stop()
            self._stream.close()
        except Exception as exc:  # noqa: BLE001 - an unplugged device fails to stop; it is closed anyway
            log.debug("closing the microphone failed: %s", exc)
        finally:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass


class SpeakerSink(AudioSink):
    """Plays PCM on an output device; :meth:`stop` cuts playback at once."""

    def __init__(self, device: str | None = None, sd=None) -> None:
        self._sd = sd or load_sounddevice()
        self.device = resolve_device(device, "output", self._sd)
        self._stop = threading.Event()

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        self._stop.clear()
        samples = np.frombuffer(pcm, dtype="<i2")
        block = int(sample_rate * 0.05)
        try:
            with self._sd.RawOutputStream(samplerate=sample_rate, device=self.device.index, channels=1,
                                          dtype="int16", blocksize=block) as stream:
                for start in range(0, len(samples), block):
                    if self._stop.is_set():
                        stream.abort()
                        return False
                    stream.write(samples[start:start + block].tobytes())
        except Exception as exc:
            raise DeviceError(f"cannot play on {self.device.name!r}: {exc}") from None
        return True

    def stop(self) -> None:
        self._stop.set()
