"""The command spotter hears nothing in digital silence (a recording's or a muted input's zeros)."""

from __future__ import annotations

import numpy as np
import pytest

from speech import pcm_of, require, synthesize
from voice_assistant.stt.spotter import CommandSpotter

FRAME = 320  # 20 ms at 16 kHz


def _feed(spotter: CommandSpotter, samples: np.ndarray) -> list[str]:
    heard = []
    for start in range(0, len(samples) - FRAME + 1, FRAME):
        found = spotter.feed(samples[start:start + FRAME].astype("<i2").tobytes())
        if found:
            heard.append(found)
    return heard


@pytest.mark.parametrize("level", [0, 1, 4, 12])
def test_silence_is_never_a_command(level):
    # Before the fix, 20 s of zeros while the greeting played were spotted as 'stop' twice.
    rng = np.random.default_rng(level)
    quiet = np.rint(rng.normal(0, level, 16000 * 20)) if level else np.zeros(16000 * 20)
    assert _feed(CommandSpotter(), quiet) == []


def test_a_command_after_long_silence_is_still_spotted(voices):
    require("espeak-us-130")
    spotter = CommandSpotter()
    word = pcm_of(synthesize("stop talking", "espeak-us-130", voices)).astype(np.int32)
    heard = _feed(spotter, np.concatenate([np.zeros(16000 * 5), word, np.zeros(16000)]))
    assert heard == ["stop"]
