"""User settings that survive a restart (speaking rate, voice), in the platform's config folder.

Written to a temporary file and renamed, so a crash or a full disk never
leaves half a file; a corrupt file is reported once and the defaults are used.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

from voice_assistant.dialogue.state import MAX_RATE, MIN_RATE
from voice_assistant.errors import ConfigError

log = logging.getLogger(__name__)


def default_path() -> Path:
    return Path(platformdirs.user_config_dir("voice-assistant")) / "settings.json"


@dataclass(frozen=True)
class UserSettings:
    """What the user changed by voice."""

    rate: float = 1.0


def load_settings(path: Path) -> UserSettings:
    """Settings from ``path``; defaults when missing; defaults and a warning when unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UserSettings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable settings file %s (%s); using defaults", path, exc)
        return UserSettings()
    if not isinstance(data, dict):
        log.warning("ignoring settings file %s: not a JSON object", path)
        return UserSettings()
    known = {f.name for f in fields(UserSettings)}
    values = {}
    for key, value in data.items():
        if key not in known:
            continue
        # Only a finite number within the dialogue's own range: a hand-edited 100,
        # NaN or true must not stop the assistant from starting.
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not MIN_RATE <= value <= MAX_RATE):
            log.warning("ignoring %s=%r in settings file %s: use a number from %s to %s", key, value, path,
                        MIN_RATE, MAX_RATE)
            continue
        values[key] = float(value)
    return UserSettings(**values)


def save_settings(path: Path, settings: UserSettings) -> None:
    """Write atomically; on failure the old file is untouched and ConfigError says why."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".settings.", suffix=".json")
        try:
            try:
                out = os.fdopen(handle, "w", encoding="utf-8")
            except BaseException:
                os.close(handle)
                raise
            with out:
                json.dump(asdict(settings), out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot save settings to {path}: {exc.strerror or exc}",
                          "the previous settings are kept") from None
