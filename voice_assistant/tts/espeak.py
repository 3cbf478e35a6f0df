"""espeak-ng through pyttsx3's own ctypes binding, synthesizing straight to PCM.

pyttsx3's engine loop is unreliable for this use (``runAndWait`` returns before
speech ends, ``stop()`` from another thread does nothing, saved files are
overwritten), so only its espeak binding is used, in synchronous mode: the
library hands back samples and this project plays them, which makes stopping
instant. espeak-ng keeps global state, so calls are serialized with a lock.
"""

from __future__ import annotations

import ctypes
import logging
import threading

import numpy as np

from voice_assistant.errors import SynthesisError
from voice_assistant.tts.base import Synthesizer, VoiceSettings

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
# espeak-ng has one global callback and one output buffer per process, so the
# collected samples live here, shared by every EspeakSynthesizer.
_SAMPLES: list[bytes] = []
_STARTED: dict[str, object] = {}


def _collect(wav, count, events) -> int:
    if count > 0:
        _SAMPLES.append(ctypes.string_at(wav, count * 2))
    return 0


class EspeakSynthesizer(Synthesizer):
    """Synthesizes with espeak-ng; one instance per process is enough."""

    def __init__(self) -> None:
        try:
            from pyttsx3.drivers import _espeak
        except (ImportError, OSError, RuntimeError) as exc:
            raise SynthesisError(f"espeak-ng is not available ({exc})",
                                 "install it (Debian: apt-get install espeak-ng libespeak-ng1)") from None
        self._espeak = _espeak
        with _LOCK:
            if "rate" not in _STARTED:
                rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 500, None, 0)
                if rate <= 0:
                    raise SynthesisError("espeak-ng failed to start", "check the espeak-ng-data installation")
                _espeak.SetSynthCallback(_collect)  # pyttsx3 keeps the ctypes reference alive
                _STARTED["rate"] = rate
            self.sample_rate = _STARTED["rate"]

    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[bytes, int]:
        e = self._espeak
        with _LOCK:
            if settings.voice != _STARTED.get("voice"):
                if e.SetVoiceByName(self._voice_id(settings.voice)) != e.EE_OK:
                    raise SynthesisError(f"unknown espeak-ng voice {settings.voice!r}",
                                         "try en-us, en-gb or list voices with 'espeak-ng --voices=en'")
                _STARTED["voice"] = settings.voice
            e.SetParameter(e.RATE, int(settings.words_per_minute * settings.rate), 0)
            _SAMPLES.clear()
            if e.Synth(text, flags=e.CHARS_UTF8) != e.EE_OK or e.Synchronize() != e.EE_OK:
                raise SynthesisError("espeak-ng could not synthesize the text")
            pcm = b"".join(_SAMPLES)
            _SAMPLES.clear()
        if not pcm:
            raise SynthesisError("espeak-ng produced no audio")
        if settings.volume != 1.0:
            scaled = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * settings.volume
            pcm = scaled.astype("<i2").tobytes()
        return pcm, self.sample_rate

    def _voice_id(self, requested: str) -> bytes:
        """espeak-ng's identifier for a language code ('en-gb') or voice name ('English (America)')."""
        wanted = requested.lower().encode()
        for voice in self._espeak.ListVoices():
            languages = (voice.languages or b"")[1:].split(b"\0")[0].lower()
            if wanted in (voice.name.lower(), voice.identifier.lower(), languages):
                return voice.identifier
        return requested.encode()
