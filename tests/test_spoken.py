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


def test_an_alternative_that_only_mishears_the_reassurance_does_not_warn(matcher):
    # kal's real n-best for this sentence: 'fine' heard as 'five' in four alternatives.
    fine = "my balance is fine just wondering how i ease the pain"
    five = ["my balance is five it just wondering how i use the pain",
            "my balance is five it just wondering now i use the pain",
            "my balance is five it just wondering how why ease the pain"]
    assert reading(matcher, fine, *five) == ("answer", "relief_overview")


@pytest.mark.parametrize("best, alternative", [
    ("my balance is fine just wondering how i ease the pain",
     "i keep losing my balance just wondering how i ease the pain"),   # other symptom words
    ("my balance is fine how do i ease the pain", "my balance is not fine how do i ease the pain"),  # a negation
    ("my balance is fine", "my balance is not fine"),
    ("i can feel my legs fine", "i can not feel my legs fine"),
    ("no numbness in my legs", "now numbness in my legs"),             # not an 'is fine' reassurance
    ("the whole left side of my body aches", "the whole left side of my body is"),  # an 'unless', not 'fine'
])
def test_an_alternative_that_may_be_the_symptom_still_warns(matcher, best, alternative):
    assert reading(matcher, best, alternative)[0] == "red_flag"


def _heard(text: str, posteriors: list[float], *alternatives: str) -> Transcript:
    words = tuple(zip(text.split(), posteriors))
    return Transcript(text, 0.01, alternatives, words)


def test_an_answer_resting_on_doubted_words_is_declined(matcher):
    # Off-topic speech forced onto domain words the recognizer itself doubted ('lie', 'bed').
    doubted = interpret(matcher, _heard("how should i lie in bed", [1.0, 0.97, 0.91, 0.25, 0.9, 0.17])).match
    assert doubted.kind == "decline"
    assert doubted.normalized == "how should i lie in bed"  # what was heard is still shown as heard


def test_the_same_words_heard_with_confidence_are_answered(matcher):
    sure = interpret(matcher, _heard("how should i lie in bed", [1.0, 0.97, 0.91, 0.9, 0.9, 0.95])).match
    assert (sure.kind, sure.intent) == ("answer", "relief_habits")
    # No word posteriors from the engine: no check.
    assert interpret(matcher, Transcript("how should i lie in bed", 0.01)).match.kind == "answer"
    # The check can be turned off.
    off = interpret(matcher, _heard("how should i lie in bed", [1.0, 0.97, 0.91, 0.25, 0.9, 0.17]), doubtful_word=0.0)
    assert off.match.kind == "answer"


def test_an_answer_from_alternatives_needs_words_the_best_hypothesis_believed(matcher, words_matcher):
    # ked's real n-best for "what's the weather like today": the alternatives that vote for beds
    # differ from the best hypothesis only where the recognizer doubted 'today'.
    weather = "what's the weather like today"
    alternatives = ("what's the weather like could bed", "what's the weather like could it",
                    "what's the weather like that bed", "what's the weather like the dead",
                    "what's the weather like the bed")
    heard = _heard(weather, [0.53, 0.99, 0.92, 0.92, 0.02], *alternatives)
    assert interpret(matcher, heard).match.kind == "decline"
    assert interpret(words_matcher, heard).match.kind == "decline"
    # Alternatives that agree on what the best hypothesis doubted ('lie', 'bread'): their answer
    # rests on those words alone, and is what the check prevents.
    bread = _heard("how should i lie in bread", [1.0, 0.97, 0.95, 0.3, 0.9, 0.2], "how should i lie in bed",
                   "how should i lie in bed then", "how should i lie in bed now")
    for judge in (matcher, words_matcher):
        assert interpret(judge, bread).match.kind == "decline"
        assert interpret(judge, bread, doubtful_word=0.0).match.kind == "answer"


def test_an_alternative_answer_on_believed_words_stands(matcher, words_matcher):
    # A garbled best hypothesis ('goal' for 'causes') outvoted by alternatives that agree; the
    # answer still rests on 'back spasms', which the best hypothesis heard with confidence.
    alone = words_matcher.match("what goal is back spasms")
    assert (alone.kind, alone.intent) != ("answer", "causes_overview")  # alone, it is not understood
    heard = _heard("what goal is back spasms", [0.9, 0.2, 0.3, 0.9, 0.9],
                   "what causes back spasms", "what causes a back spasm", "what causes back spasm")
    match = interpret(matcher, heard).match
    assert (match.kind, match.intent) == ("answer", "causes_overview")


def test_doubted_words_never_hide_a_red_flag_or_a_command(matcher):
    flag = interpret(matcher, _heard("i can not feel my left leg", [0.1] * 7)).match
    assert flag.kind == "red_flag"
    command = interpret(matcher, _heard("next one", [0.1, 0.1])).match
    assert command.kind == "command"


def test_doubted_words_never_swap_one_answer_for_another(matcher):
    # Hiding 'heat' would read 'why would ... help a back spasm' as the causes; the answer stands.
    heard = _heard("why would heat help a back spasm", [0.56, 0.78, 0.3, 0.9, 0.3, 0.9, 1.0])
    match = interpret(matcher, heard).match
    assert (match.kind, match.intent) == ("answer", "relief_compresses")


@pytest.mark.parametrize("heard", ["okay bye then", "bye for now", "alright goodbye", "goodbye and thanks",
                                   "ok thank you bye bye", "bye the"])
def test_a_farewell_that_closes_the_utterance_is_goodbye(matcher, heard):
    assert reading(matcher, heard) == ("command", "goodbye")


def test_bye_followed_by_more_words_does_not_end_the_session(matcher):
    # slt's 'order me a pizza': three of five hypotheses began 'bye'.
    assert reading(matcher, "i get a pizza", "bye can a pizza", "i can a pizza", "bye that a pizza")[0] == "decline"
    assert reading(matcher, "bye pain")[0] != "command"


def test_an_alternative_only_like_a_warning_does_not_overrule_a_sure_answer(matcher):
    best, guess = "how do i get my back to unlock", "how do i get my left leg to unlock"
    alarm = matcher.match(guess)
    assert alarm.kind == "red_flag" and all(hit.by_meaning for hit in alarm.red_flags)  # alone, it warns
    chosen = interpret(matcher, Transcript(best, 0.01, (guess,))).match
    assert (chosen.kind, chosen.intent) == ("answer", "relief_overview")
    # A pattern's own words in an alternative still warn over the same sure answer.
    heard = interpret(matcher, Transcript(best, 0.01, ("how do i get my back to unlock i can not feel my leg",)))
    assert heard.match.kind == "red_flag"
