"""Typed errors. Every error a user can meet derives from :class:`AssistantError`.

Each carries a one-line message and an optional hint; the CLI prints them
without a traceback (unless ``--debug``) and exits with the class's code.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for all errors the assistant reports to a user."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AssistantError):
    """A command-line value is out of range or inconsistent."""

    exit_code = 2


class KnowledgeError(AssistantError):
    """A knowledge pack cannot be read or does not follow the schema."""

    exit_code = 3


class AudioFormatError(AssistantError):
    """An audio file is missing, unreadable or in a format that cannot be converted."""

    exit_code = 4


class DeviceError(AssistantError):
    """A microphone or speaker is missing, unknown or failed."""

    exit_code = 5


class ModelError(AssistantError):
    """A speech model is missing, incomplete or of the wrong kind."""

    exit_code = 6


class DownloadError(AssistantError):
    """A model download failed, was cut, or did not match its checksum."""

    exit_code = 7


class ConfigError(AssistantError):
    """The user settings file cannot be read or written."""

    exit_code = 8


class SynthesisError(AssistantError):
    """Text-to-speech failed."""

    exit_code = 9
