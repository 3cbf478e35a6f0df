"""Choosing among a recognizer's hypotheses (nlu.spoken.interpret): pure, no audio."""

from __future__ import annotations

import pytest

from voice_assistant.nlu.spoken import interpret
from voice_assistant.stt.base import Transcript


def reading(matcher, text: str, *alternatives: str) -> tuple[str, str | None]:
    match = interpret(matcher, Transcript(text, 0.5, alternatives)).match
    return match.kind, match.intent


@pytest.mark.parametrize("heard, intent", [
    ("to ease that slower or", "slower"),      # 'say that slower', filler garbled into a topic word
    ("you that slower you", "slower"),
    ("the next one", "next"),
    ("speak faster the", "faster"),
    ("it repeat the", "repeat"),
])
def test_a_short_hypothesis_with_a_command_word_is_that_command(matcher, heard, intent):
    assert reading(matcher, heard) == ("command", intent)


@pytest.mark.parametrize("heard", ["how do i stop it happening again", "can i stop the spasm",
                                   "why is my back slower to heal", "my spasm will not stop",
                                   "the spasms keep going", "walking slowly", "i can not stop shaking"])
def test_a_question_with_a_command_word_stays_a_question(matcher, heard):
    assert reading(matcher, heard)[0] != "command"


def test_a_red_flag_in_any_top_hypothesis_wins(matcher):
    kind, intent = reading(matcher, "i can feel my leg", "my back hurts when i sit")
    assert kind == "red_flag" and intent == "loss_of_feeling_in_limb"


def test_a_reassured_can_is_not_read_as_can_not(matcher):
    assert reading(matcher, "i can still feel my legs fine")[0] != "red_flag"


def test_one_stray_alternative_does_not_turn_off_topic_into_an_answer(matcher):
    kind, _ = reading(matcher, "what is the weather like tomorrow", "what is the weather leg tomorrow",
                      "what is the weather like today")
    assert kind == "decline"


@pytest.mark.parametrize("heard", [
    "my left leg as know feel an adult",                   # 'has no feeling at all'
    "i can't feel my dose properly since my back seized",  # 'toes'
])
def test_a_misheard_loss_of_feeling_still_raises_the_red_flag(matcher, heard):
    assert reading(matcher, heard) == ("red_flag", "loss_of_feeling_in_limb")


def test_feeling_the_back_loosen_is_not_a_red_flag(matcher):
    assert reading(matcher, "i can feel my back loosening")[0] != "red_flag"


def test_a_confident_best_hypothesis_is_not_outvoted_by_its_near_copies(matcher):
    assert reading(matcher, "back", "back can", "back can the", "the back can") == ("command", "previous")


def test_a_garbled_best_hypothesis_is_outvoted_by_alternatives_that_agree(matcher):
    kind, intent = reading(matcher, "what the the as a", "what causes back spasms", "what causes a back spasm",
                           "what causes back spasm")
    assert (kind, intent) == ("answer", "causes_overview")


def test_a_reassured_balance_is_not_a_red_flag(matcher):
    assert reading(matcher, "my balance is fine just wondering how i ease the pain")[0] != "red_flag"
    assert reading(matcher, "my balance is not fine")[0] == "red_flag"
