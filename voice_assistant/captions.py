"""Captions on screen: what was heard, what is said, and the assistant's state."""

from __future__ import annotations

import sys
from typing import TextIO

from voice_assistant.events import Event

_STATES = {"listening": "listening...", "hearing": "hearing...", "thinking": "thinking...",
           "speaking": "speaking..."}


class Captions:
    """Prints conversation events as plain lines (one per event that matters to a person)."""

    def __init__(self, out: TextIO | None = None, show_state: bool = True) -> None:
        self.out = out or sys.stdout
        self.show_state = show_state
        self._last_state = ""

    def __call__(self, event: Event) -> None:
        if event.kind == "state" and self.show_state and event.text in _STATES:
            if event.text != self._last_state:
                self._print(f"[{_STATES[event.text]}]")
            self._last_state = event.text
        elif event.kind == "heard":
            self._print(f"you said: {event.text}" if event.text else "(I did not catch anything)")
        elif event.kind == "speaking":
            self._print(f"assistant: {event.text}")
        elif event.kind == "interrupted":
            self._print("(stopped)")
        elif event.kind == "barge_in":
            self._print(f"you said: {event.text}")
        elif event.kind in ("error", "notice"):
            self._print(f"({event.text})")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
