"""Speech to text: one engine per module behind :class:`~voice_assistant.stt.base.Recognizer`."""

from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript

__all__ = ["Recognizer", "RecognizerSession", "Transcript"]
