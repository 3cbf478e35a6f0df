"""Understanding by meaning (issue 14): red flags in any words, the article's emergencies first,
answers that lead with substance, and follow-ups that stay on the topic just spoken."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import load_cases
from voice_assistant.app import build_core
from voice_assistant.dialogue import Dialogue, DialogueState

REMEDIES = ("compress", "exercise", "painkiller", "shoes", "massage", "habits")
CAUSES = ("physical work", "injuries", "sleeping or sitting", "weak back muscles")


@pytest.mark.parametrize("text, flag", [
    ("is it normal that I can't hold it in", "bladder_or_bowel_control"),
    ("I keep having little accidents, I can't make it to the bathroom", "bladder_or_bowel_control"),
    ("I can't tell when I need to pee anymore", "bladder_or_bowel_control"),
    ("I'm wobbly and I almost fell over twice", "loss_of_balance"),
    ("I can't walk straight, I keep stumbling", "loss_of_balance"),
    ("my arms feel like jelly", "limb_weakness"),
    ("I can't feel anything when I touch my thigh", "loss_of_feeling_in_limb"),
    ("there's blood in my pee and my lower back keeps cramping", "possible_gallstones_or_kidney"),
    ("could it be my kidneys, I'm barely peeing", "possible_gallstones_or_kidney"),
    ("I was told I have gallstones and now my upper back is spasming", "possible_gallstones_or_kidney"),
    ("I fell off a ladder and the pain in my back is terrible", "severe_pain_after_accident"),
    ("was in a car crash yesterday and my back is agony", "severe_pain_after_accident"),
])
def test_red_flags_are_heard_in_other_words(matcher, text, flag):
    match = matcher.match(text)
    assert match.kind == "red_flag" and flag in {hit.flag_id for hit in match.red_flags}, match


def test_a_question_straight_after_a_report_does_not_hide_it():
    """Speech joins a report and a question with no word between ('... when I touch it do I keep
    stretching'): the question's start marks a clause, so the report is read on its own."""
    from voice_assistant.nlu.meaning import _clause_spans

    text = "my thigh feels like it belongs to someone else when i touch it do i keep stretching"
    assert [text[a:b] for a, b in _clause_spans(text)] == [
        "my thigh feels like it belongs to someone else when i touch it", "do i keep stretching"]


def test_a_report_followed_by_a_question_warns(matcher):
    match = matcher.match("my thigh feels like it belongs to someone else when I touch it do I keep stretching")
    assert match.kind == "red_flag", match


@pytest.mark.parametrize("text", [
    "my legs feel like cooked spaghetti and will not hold me",   # no pattern names this: meaning does
    "i have to hang on to the furniture or i tip over",
])
def test_meaning_warns_where_no_pattern_does(matcher, words_matcher, text):
    assert matcher.match(text).kind == "red_flag"
    assert words_matcher.match(text).kind != "red_flag"


@pytest.mark.parametrize("text", [
    "no numbness, just a stiff back, what causes that",
    "I can still feel my legs fine, what helps the pain",
    "my balance is fine, how do I ease it",
    "the pain goes down the right side of my body",   # the pack's 'unless': pain on one side is not numbness
])
def test_a_plain_reassurance_still_cancels(matcher, text):
    assert matcher.match(text).kind != "red_flag"


@pytest.mark.parametrize("text", [
    "call my sister", "how do I get rid of a sore throat", "my knee hurts when I go up the stairs",
    "what's the weather like tomorrow", "set a timer for ten minutes", "go on to the next bit",
    "you're dragging, hurry it along", "I have a cold and a runny nose", "how do I fix a flat tyre",
])
def test_requests_outside_the_article_never_warn_or_answer(matcher, text):
    match = matcher.match(text)
    assert match.kind in ("decline", "command"), match


def test_the_article_s_emergencies_lead_with_their_own_warning(dialogue):
    reply, _ = dialogue.step(DialogueState(), "I was told I have gallstones and now my upper back is spasming")
    assert reply.chunks[0].startswith("This may need the emergency room")
    reply, _ = dialogue.step(DialogueState(), "I fell off a ladder and the pain in my back is terrible")
    assert reply.chunks[0].startswith("See a doctor straight away")
    both, _ = dialogue.step(DialogueState(), "I have kidney stones and my back is cramping and I can't feel my leg")
    assert both.kind == "red_flag" and "losing feeling in an arm or a leg" in both.text
    assert "emergency room" in both.chunks[0]


@pytest.mark.parametrize("intent, named, least", [
    ("relief_overview", REMEDIES, 20),   # every "how do I ease it" answer names the remedies first
    ("causes_overview", CAUSES, 15),     # every "why does it happen" answer names the causes first
])
def test_every_overview_answer_leads_with_its_substance(dialogue, intent, named, least):
    asked = [case["text"] for case in load_cases("dev_set.yaml") + load_cases("dev_paraphrases.yaml")
             if case["kind"] == "answer" and case["intent"] == intent]
    assert len(asked) >= least
    for text in asked:
        reply, _ = dialogue.step(DialogueState(), text)
        if reply.intent == intent:
            first = reply.chunks[0].lower()
            assert all(word in first for word in named), (text, first)


def test_the_severe_pain_caution_follows_the_help(dialogue):
    reply, state = dialogue.step(DialogueState(), "how do I get rid of a back spasm")
    assert "doctor straight away" not in reply.chunks[0]
    caution, _ = dialogue.step(state, "next")
    assert "severe" in caution.text and "doctor straight away" in caution.text


def test_why_after_a_step_explains_that_step(dialogue):
    state = DialogueState()
    for said in ("should I use ice or heat",):
        _, state = dialogue.step(state, said)
    assert state.topic == "relief_compresses"
    why, after = dialogue.step(state, "why")
    assert why.intent == "explain" and "blood" in why.text and after.topic == "relief_compresses"
    more, _ = dialogue.step(state, "tell me more")
    assert more.text == why.text


def test_tell_me_more_without_a_reason_goes_on_within_the_topic(dialogue):
    _, state = dialogue.step(DialogueState(), "what are the symptoms of a back spasm")
    more, after = dialogue.step(state, "tell me more")
    assert after.topic == "symptoms" and after.chunk == 1 and more.intent == "explain"


def test_what_else_moves_to_the_next_item_of_the_same_list(dialogue):
    _, state = dialogue.step(DialogueState(), "should I use ice or heat")
    assert state.chunk == 0  # compresses has two chunks: 'what else' skips the second
    other, after = dialogue.step(state, "what else")
    assert after.topic == "relief_exercise" and other.text.startswith("Step two")
    _, last = dialogue.step(DialogueState(), "what habits should i change")
    end, _ = dialogue.step(last, "what else")
    assert "last one" in end.text


def test_follow_ups_with_no_topic_say_what_can_be_asked(dialogue):
    reply, _ = dialogue.step(DialogueState(), "why")
    assert reply.kind == "command" and "not started a topic" in reply.text


def test_without_an_encoder_the_assistant_says_so_and_answers_by_words(monkeypatch):
    monkeypatch.setattr("voice_assistant.app.installed_package_model", lambda: None)
    monkeypatch.setattr("voice_assistant.app.project_models_dir", lambda: __import__("pathlib").Path("/nonexistent"))
    monkeypatch.setattr("voice_assistant.app.user_models_dir", lambda: __import__("pathlib").Path("/nonexistent"))
    notices = []
    core = build_core(env={}, notify=notices.append)
    assert core.matcher.meaning is None
    assert "words only" in notices[0]
    reply, _ = Dialogue(core.matcher).step(DialogueState(), "how do I relieve a back spasm")
    assert reply.intent == "relief_overview"


@pytest.mark.parametrize("text", [
    "if I lost my balance would that be a bad sign",
    "what if one side of my body went numb, would that be bad",
    "say my legs went weak, should I worry",
    "hypothetically, if I couldn't feel my foot would that be a problem",
    "if I ever wet myself with a back spasm, is that serious",
])
def test_a_red_flag_only_supposed_gets_the_warning_signs(matcher, text):
    """A supposition names a symptom without reporting it: the answer is the warning signs, which say
    to get help if you have any of them."""
    match = matcher.match(text)
    assert (match.kind, match.intent) == ("answer", matcher.pack.warning_signs), match


@pytest.mark.parametrize("text, flag", [
    ("if I stand up I lose my balance, what do I do", "loss_of_balance"),      # what happens to me: no 'would'
    ("my leg is numb, what if it is serious", "loss_of_feeling_in_limb"),     # the report comes before the 'what if'
    ("I can't feel my leg, if that matters would a massage help", "loss_of_feeling_in_limb"),
    # A report after the supposition and its consequence, or after a comma that ends the supposition.
    ("if I lost my balance would that be bad, also my arms feel like jelly", "limb_weakness"),
    ("what if my legs went weak, anyway my left side has gone numb", "one_sided_numbness"),
])
def test_a_report_beside_a_supposition_still_warns(matcher, text, flag):
    match = matcher.match(text)
    assert match.kind == "red_flag" and flag in {hit.flag_id for hit in match.red_flags}, match


@pytest.mark.parametrize("text, flag", [
    ("kidney pain and vomiting", "possible_gallstones_or_kidney"),
    ("took a big tumble down a whole flight of stairs and my back is screaming at me", "severe_pain_after_accident"),
])
def test_a_report_in_nearly_a_flags_own_words_warns_though_another_reading_is_likelier(matcher, text, flag):
    """Recall first: close to one of a red flag's descriptions, and not unlikely, is enough."""
    match = matcher.match(text)
    assert match.kind == "red_flag" and flag in {hit.flag_id for hit in match.red_flags}, match


@pytest.mark.parametrize("text", ["my dog got hit by a car, what should I do?",
                                  "my cat fell off the balcony and is limping"])
def test_an_animal_s_accident_is_no_warning(matcher, text):
    assert matcher.match(text).kind != "red_flag", matcher.match(text)


@pytest.mark.parametrize("text, flag", [
    ("I tripped over the dog and now I can't feel my left leg", "loss_of_feeling_in_limb"),  # not the subject
    ("my dog is fine but I fell off a ladder", "severe_pain_after_accident"),              # the next clause is mine
])
def test_an_animal_in_the_sentence_does_not_hide_the_person_s_red_flag(matcher, text, flag):
    match = matcher.match(text)
    assert match.kind == "red_flag" and flag in {hit.flag_id for hit in match.red_flags}, match


@pytest.mark.parametrize("text, warns", [
    ("I'm leaking a bit down there since the spasm", True),
    ("I've had a couple of little accidents downstairs since my back went", True),
    ("there was a leak downstairs in the kitchen", False),       # the house's, not the bladder's
])
def test_down_there_is_the_bladder_and_bowel(matcher, text, warns):
    match = matcher.match(text)
    assert (match.kind == "red_flag" and "bladder_or_bowel_control" in {h.flag_id for h in match.red_flags}) == warns, match


@pytest.mark.parametrize("text, someone", [
    ("there was a leak downstairs in the kitchen", False),   # the house's
    ("keep falling over", True),                             # terse: whose goes without saying
    ("things are coming out down there without me deciding", True),
    ("blood in the pee and cramping", True),
])
def test_a_report_longer_than_a_few_words_names_whose_body(text, someone):
    from voice_assistant.nlu.redflags import TERSE_REPORT_WORDS, names_someone
    assert names_someone(text) == someone
    assert len("keep falling over".split()) <= TERSE_REPORT_WORDS < len("there was a leak downstairs".split())


@pytest.mark.parametrize("text", ["how do I stop a nosebleed"])
def test_far_from_every_report_is_no_report(matcher, text):
    """The classifier is surest far from what it learned: a red flag by meaning needs closeness too."""
    assert matcher.match(text).kind != "red_flag"
    tuned = matcher.settings
    matcher.settings = replace(tuned, symptom_closeness=0.0)
    try:
        assert matcher.match(text).kind == "red_flag"  # the closeness is what keeps it quiet
    finally:
        matcher.settings = tuned


def test_a_flag_the_pack_explains_away_reports_no_other_by_meaning(matcher):
    """'the pain goes down the right side of my body' is no one-sided numbness (the pack's 'unless'),
    and its likeliest reading is that flag: it is not read as a kidney's pain instead."""
    match = matcher.match("the pain goes down the right side of my body")
    assert match.kind != "red_flag", match


def test_the_red_flags_own_words_are_never_respelled(matcher):
    """'needing' sounds like 'kneading', a massage's word; the flags' descriptions use it."""
    assert "needing" in matcher.match("i keep needing to pee and my back is cramping").normalized
