"""Whisper's loops said once (stt/repeats.py): pure text in, text out."""

from __future__ import annotations

import pytest

from voice_assistant.stt.repeats import collapse_repeats


@pytest.mark.parametrize("heard, kept", [
    # The loops the voice benchmark met (bench/bench_tts.py, piper-joe through Whisper tiny.en).
    ("Keep your back straight. Keep your back straight. Keep your back straight.", "Keep your back straight."),
    ("Pain in the buttocks, thighs, or legs. Pain in the buttocks, thighs, or legs.",
     "Pain in the buttocks, thighs, or legs."),
    # A copy cut off by the token cap goes too.
    ("do not sleep in awkward positions. Do not sleep in awkward positions. Do not sleep in",
     "do not sleep in awkward positions."),
    ("what helps what helps with a spasm", "what helps with a spasm"),
    # Speech, not loops: a word said twice, and a phrase said again after others.
    ("no no, the other one", "no no, the other one"),
    ("next please, next please", "next please,"),
    ("back spasm or back pain", "back spasm or back pain"),
    ("", ""),
])
def test_a_phrase_that_follows_itself_is_kept_once(heard, kept):
    assert collapse_repeats(heard) == kept


def test_words_said_twice_stay_and_single_word_loops_go_only_if_asked():
    assert collapse_repeats("you you") == "you you"
    assert collapse_repeats("you you you you") == "you you"      # 'you you' said twice
    assert collapse_repeats("you you you you", min_words=1) == "you"
