"""An opt-in record of a conversation (``--log FILE``): what was heard and what was answered.

Nothing said or heard is written anywhere unless the user asks for this file.
Lines are JSON objects, appended (a later session adds to the same file), and
the file is made readable and writable by its owner only: it holds health
questions. If writing fails mid-conversation (a full disk), the conversation
goes on and the log says so once, in one line.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from voice_assistant.errors import UsageError
from voice_assistant.events import Event

log = logging.getLogger(__name__)

#: The events worth keeping: the person's words and the assistant's reply.
LOGGED_EVENTS = ("heard", "matched")


class ConversationLog:
    """Appends heard / matched events as JSON lines. Use as an event-bus subscriber or call :meth:`write`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise UsageError(f"cannot write the conversation log {self.path}: {exc.strerror}",
                             "give --log a file in a folder you can write to") from None
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):
                os.fchmod(descriptor, 0o600)  # an existing file too: it will hold health questions
        except OSError:
            pass  # not the owner: keep the permissions it has
        self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._failed = False

    def __call__(self, event: Event) -> None:
        if event.kind in LOGGED_EVENTS:
            self.write(event.kind, event.text, **event.data)

    def write(self, event: str, text: str, /, **data: Any) -> None:
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "event": event, "text": text,
                  **{k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, type(None)))}}
        with self._lock:
            if self._file.closed or self._failed:
                return
            try:
                self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._file.flush()
            except OSError as exc:
                self._failed = True
                log.warning("could not write the conversation log %s (%s); not recording the rest",
                            self.path, exc.strerror or exc)

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError:
                pass  # the failure was already reported (or nothing was left to write)
