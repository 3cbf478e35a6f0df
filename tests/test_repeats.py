"""Whisper's loops said once (stt/repeats.py): pure text in, text out."""

from __future__ import annotations

import pytest

from voice_assistant.stt.repeats import collapse_repeats


@pytest.mark.parametrize("heard, kept", [
    # The loops the voice benchmark met (bench/bench_tts.py, piper-joe through Whisper tiny.en).
    ("Keep your back straight. Keep your back straight. Keep your back straight.", "Keep your back straight."),
    ("Pain in the buttocks, thighs, or legs. Pain in the buttocks, thighs, or legs.",
     "Pain in the buttocks, thighs, or legs."),
    # The last copy is kept, and its marks go with what follows.
    ("what helps, what helps with a spasm", "what helps with a spasm"),
    ("next please, next please", "next please"),
    # Speech, not loops: a word said twice, a phrase said again after others, an idiom kept whole enough.
    ("no no, the other one", "no no, the other one"),
    ("back spasm or back pain", "back spasm or back pain"),
    ("it goes on and on and on", "it goes on and on"),
    ("again and again and again", "again and again"),
    ("", ""),
])
def test_a_phrase_that_follows_itself_is_kept_once(heard, kept):
    assert collapse_repeats(heard) == kept


def test_a_copy_broken_off_at_the_token_cap_goes_only_when_the_cap_was_hit():
    heard = "do not sleep in awkward positions. Do not sleep in awkward positions. Do not sleep in"
    assert collapse_repeats(heard, cut_off=True) == "Do not sleep in awkward positions."
    assert collapse_repeats(heard) == "Do not sleep in awkward positions. Do not sleep in"


def test_words_said_twice_stay_and_single_word_loops_go_only_if_asked():
    assert collapse_repeats("you you") == "you you"
    assert collapse_repeats("you you you you") == "you you"      # 'you you' said twice
    assert collapse_repeats("you you you you", min_words=1) == "you"
    with pytest.raises(ValueError):
        collapse_repeats("you you", min_words=0)


def test_a_text_longer_than_any_question_is_left_as_it_is():
    """The search is cubic in the words: past a few hundred it is not made at all."""
    looped = "keep your back straight " * 80                                 # 320 words
    assert collapse_repeats(looped) == looped
    assert collapse_repeats("keep your back straight " * 20) == "keep your back straight"
