"""Pure dialogue: each turn is (state, utterance) -> (reply, new state)."""

from __future__ import annotations

from voice_assistant.dialogue import DialogueState
from voice_assistant.dialogue.state import MIN_RATE


def _run(dialogue, *utterances):
    state = DialogueState()
    replies = []
    for utterance in utterances:
        reply, state = dialogue.step(state, utterance)
        replies.append(reply)
    return replies, state


def test_relief_steps_are_walked_in_order_and_back(dialogue, pack):
    replies, state = _run(dialogue, "how do I get my back to unlock?", "next", "next", "next", "previous")
    assert [r.intent for r in replies] == ["relief_overview", "next", "next", "next", "previous"]
    assert replies[1].chunks == pack.entry("relief_overview").chunks[1:2]
    assert replies[2].text.startswith(pack.entry("relief_compresses").chunks[0])
    assert replies[3].text.startswith(pack.entry("relief_compresses").chunks[1])
    assert replies[4].text == replies[2].text
    assert state.topic == "relief_compresses"


def test_walking_past_the_last_step_says_so(dialogue):
    state = DialogueState()
    reply, state = dialogue.step(state, "should I wear high heels")
    for _ in range(5):
        reply, state = dialogue.step(state, "next")
    assert "end of" in reply.text and state.topic == "relief_habits"


def test_tell_me_more_continues_the_topic(dialogue, pack):
    replies, _ = _run(dialogue, "what causes back spasms", "tell me more", "what else")
    assert replies[1].text == pack.entry("causes_overview").chunks[1]
    assert replies[2].text == pack.entry("cause_exertion").chunks[0]


def test_repeat_and_start_over(dialogue, pack):
    replies, state = _run(dialogue, "what causes back spasms", "next", "next", "say that again", "start over")
    assert replies[3].text == replies[2].text
    assert replies[4].text.startswith(pack.entry("causes_overview").chunks[0])
    assert state.topic == "causes_overview" and state.chunk == 0


def test_slower_repeats_at_a_lower_rate_and_is_remembered(dialogue):
    replies, state = _run(dialogue, "what is a back spasm", "say that slower")
    assert replies[1].text == replies[0].text
    assert replies[1].actions[0].name == "set_rate" and replies[1].actions[0].value < 1.0
    assert state.rate == replies[1].actions[0].value
    replies, state = _run(dialogue, *["slower"] * 10)
    assert state.rate == MIN_RATE and "slowest" in replies[-1].text


def test_faster_and_stop(dialogue):
    replies, state = _run(dialogue, "faster", "stop")
    assert state.rate > 1.0
    assert replies[1].actions[0].name == "stop_speaking" and replies[1].chunks == ()


def test_help_and_goodbye(dialogue, pack):
    replies, _ = _run(dialogue, "what can I ask", "goodbye")
    assert replies[0].text == pack.greeting
    assert replies[1].intent == "stop" and any(a.name == "end_session" for a in replies[1].actions)


def test_navigation_without_a_topic_explains_itself(dialogue, pack):
    replies, state = _run(dialogue, "next")
    assert pack.greeting in replies[0].text and state.topic is None


def test_state_is_not_mutated(dialogue):
    state = DialogueState()
    dialogue.step(state, "what causes back spasms")
    assert state == DialogueState()


def test_red_flag_then_answer_to_the_other_question(dialogue, pack):
    reply, state = dialogue.step(DialogueState(),
                                 "my left side went numb, and should I use ice or heat on my back")
    assert reply.kind == "red_flag" and reply.chunks[0].endswith(pack.emergency)
    assert len(reply.chunks) == 2 and state.topic == "relief_compresses"


def test_opening_has_disclaimer_then_a_short_welcome(dialogue, pack):
    assert dialogue.opening().chunks == (pack.disclaimer, pack.welcome)
    assert len(pack.welcome.split()) < len(pack.greeting.split()) and "help" in pack.welcome


def test_a_task_is_declined_and_a_call_for_help_is_told_how(dialogue, pack):
    tasks = next(decline for decline in pack.declines if decline.id == "tasks")
    for utterance in ("call an ambulance", "could you set a timer for my ice pack", "please turn the heating up",
                      "book me a massage for my back"):
        reply, _ = dialogue.step(DialogueState(), utterance)
        assert (reply.kind, reply.intent) == ("decline", "tasks"), utterance
        assert reply.text.startswith(tasks.answer) and "emergency number" in reply.text
    reply, _ = dialogue.step(DialogueState(), "play it again")   # a command first, though 'play' opens tasks
    assert reply.kind == "command"
