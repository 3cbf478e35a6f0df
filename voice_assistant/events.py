"""One event stream that the captions, the logs and the tests all observe.

Kinds: ``state`` (listening / thinking / speaking / idle), ``partial``,
``heard``, ``matched``, ``speaking`` (chunk n of m), ``spoken``,
``interrupted``, ``notice``, ``error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened, with a monotonic timestamp."""

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.monotonic)


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out of events to subscribers; safe to emit from several threads."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def emit(self, kind: str, text: str = "", /, **data: Any) -> Event:
        event = Event(kind, text, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:  # an observer must never break the conversation
                log.exception("event subscriber failed on %s", kind)
        return event


class EventRecorder:
    """Keeps every event; used by tests and benchmarks."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        return [event for event in self.events if event.kind == kind]


def log_events(event: Event) -> None:
    """Subscriber that writes events to the debug log (no transcripts at INFO level, for privacy)."""
    log.debug("%s %s %s", event.kind, event.text, event.data or "")
