"""Text to speech: a synthesizer turns text into PCM; the speaker plays it chunk by chunk."""

from voice_assistant.tts.base import Synthesizer, VoiceSettings

__all__ = ["Synthesizer", "VoiceSettings"]
