"""Audio in and out behind small interfaces, so everything else runs without hardware.

Sources yield 16-bit mono PCM (``bytes``) at a known sample rate; sinks play it.
"""

from voice_assistant.audio.base import SAMPLE_RATE, AudioSink, AudioSource
from voice_assistant.audio.memory import MemorySink, PcmSource

__all__ = ["SAMPLE_RATE", "AudioSink", "AudioSource", "MemorySink", "PcmSource"]
