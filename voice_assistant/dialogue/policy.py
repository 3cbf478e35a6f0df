"""The dialogue policy: turn a matched utterance and the current state into a reply.

Pure: :meth:`Dialogue.step` reads nothing but its arguments and the pack, and
returns a new state instead of changing one, so every turn can be tested as
arithmetic on values.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from rapidfuzz import fuzz

from voice_assistant.dialogue.state import MAX_RATE, MIN_RATE, RATE_STEP, Action, DialogueState, Reply
from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.matcher import Match, Matcher
from voice_assistant.nlu.normalize import normalize

log = logging.getLogger(__name__)

_FIRST = {"first", "the first", "first one", "the first one", "yes", "yeah", "yes please", "option one", "one"}
_SECOND = {"second", "the second", "second one", "the second one", "the other one", "option two", "two",
           "the last one", "last"}
_MORE_HINT = "Say next to go on."
_OFF_TOPIC = "Sorry, I can not answer that from the article I know."
_NOTHING_HEARD = "I did not catch a question."


class Dialogue:
    """Conversation policy over one knowledge pack."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.pack: KnowledgePack = matcher.pack

    def opening(self) -> Reply:
        """Disclaimer and welcome (or the greeting), spoken once at start: short, so that a question
        asked soon after the start is not spoken over (the loop is half-duplex)."""
        return Reply("command", "help", 1.0, (self.pack.disclaimer, self.pack.welcome or self.pack.greeting))

    def step(self, state: DialogueState, utterance: str) -> tuple[Reply, DialogueState]:
        """Answer one typed utterance. Returns the reply and the new state."""
        return self.respond(state, utterance, self.matcher.match(utterance))

    def respond(self, state: DialogueState, utterance: str, match: Match) -> tuple[Reply, DialogueState]:
        """Answer an utterance already matched (speech picks its match among hypotheses)."""
        if state.choices and match.kind not in ("red_flag", "command"):
            chosen = self._resolve_choice(state.choices, utterance)
            if chosen is not None:
                return self._answer(replace(state, choices=()), chosen, 1.0, normalize(utterance))
        log.debug("matched %r -> %s %s (%.2f)", match.normalized, match.kind, match.intent, match.confidence)
        state = replace(state, choices=())
        if match.kind == "red_flag":
            return self._red_flag(state, match)
        if match.kind == "command":
            return self._command(state, match)
        if match.kind == "answer" and match.intent is not None:
            return self._answer(state, match.intent, match.confidence, match.normalized)
        if match.kind == "clarify":
            first, second = (self.pack.entry(choice).title for choice in match.choices)
            reply = Reply("clarify", None, match.confidence, (f"Did you mean {first}, or {second}?",),
                          heard=match.normalized)
            return reply, replace(state, choices=match.choices)
        return self._decline(state, match)

    # -- kinds of reply ---------------------------------------------------------------

    def _answer(self, state: DialogueState, entry_id: str, confidence: float, heard: str,
                chunk: int = 0, kind: str = "answer", intent: str | None = None) -> tuple[Reply, DialogueState]:
        chunks = self._chunk_with_hint(entry_id, chunk)
        new_state = replace(state, topic=entry_id, chunk=chunk, last_said=chunks)
        return Reply(kind, intent or entry_id, confidence, chunks, heard=heard), new_state

    def _chunk_with_hint(self, entry_id: str, chunk: int) -> tuple[str, ...]:
        entry = self.pack.entry(entry_id)
        text = entry.chunks[chunk]
        more_here = chunk + 1 < len(entry.chunks)
        if more_here and "next" not in text.lower():
            text = f"{text} {_MORE_HINT}"
        return (text,)

    def _red_flag(self, state: DialogueState, match: Match) -> tuple[Reply, DialogueState]:
        flags = [self.pack.red_flag(flag_id) for flag_id in dict.fromkeys(hit.flag_id for hit in match.red_flags)]
        # A flag with its own warning (the article's emergency conditions) leads with it.
        chunks: tuple[str, ...] = tuple(flag.warning for flag in flags if flag.warning)
        names = [flag.name for flag in flags if not flag.warning]
        if names:
            chunks += (self._mentioned(names),)
        new_state = replace(state, last_said=chunks)
        if match.topic is not None:
            topic_chunks = self._chunk_with_hint(match.topic, 0)
            chunks += (f"About your question: {topic_chunks[0]}",)
            new_state = replace(state, topic=match.topic, chunk=0, last_said=chunks)
        reply = Reply("red_flag", match.intent, 1.0, chunks, heard=match.normalized, red_flags=match.red_flags)
        return reply, new_state

    def _mentioned(self, names: list[str]) -> str:
        said = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"You mentioned {said}. {self.pack.emergency}"

    def first_lines(self) -> list[str]:
        """The first chunk of every answer and every warning, as spoken: what a voice can prepare
        before anyone asks."""
        lines = [self._chunk_with_hint(entry.id, 0)[0] for entry in self.pack.entries]
        lines += [flag.warning or self._mentioned([flag.name]) for flag in self.pack.red_flags]
        return lines + [decline.answer for decline in self.pack.declines] + [_OFF_TOPIC, _NOTHING_HEARD]

    def next_lines(self, state: DialogueState) -> list[str]:
        """What 'next' would say first from ``state`` (to prepare while the current answer plays)."""
        if state.topic is None:
            return []
        entry = self.pack.entry(state.topic)
        return [self._chunk_with_hint(entry.id, state.chunk + 1)[0]] if state.chunk + 1 < len(entry.chunks) else []

    def _decline(self, state: DialogueState, match: Match) -> tuple[Reply, DialogueState]:
        scope = f"I can tell you {self.pack.scope}."
        if match.intent and match.intent != "off_topic":
            decline = next(d for d in self.pack.declines if d.id == match.intent)
            text = f"{decline.answer} {scope}"
        elif not match.normalized:
            text = f"{_NOTHING_HEARD} {scope}"
        else:
            text = f"{_OFF_TOPIC} {scope}"
        reply = Reply("decline", match.intent, match.confidence, (text,), heard=match.normalized)
        return reply, replace(state, last_said=reply.chunks)

    def _command(self, state: DialogueState, match: Match) -> tuple[Reply, DialogueState]:
        intent, heard, confidence = match.intent, match.normalized, match.confidence

        def say(*chunks: str, actions: tuple[Action, ...] = (), new_state: DialogueState = state,
                name: str | None = intent) -> tuple[Reply, DialogueState]:
            return Reply("command", name, confidence, chunks, actions, heard), new_state

        if intent == "stop":
            return say(actions=(Action("stop_speaking"),))
        if intent == "goodbye":
            return say("Goodbye. I hope your back feels better soon.",
                       actions=(Action("stop_speaking"), Action("end_session")), name="stop")
        if intent == "help":
            return say(self.pack.greeting, new_state=replace(state, last_said=(self.pack.greeting,)))
        if intent == "repeat":
            return say(*state.last_said) if state.last_said else say("I have not said anything yet. "
                                                                      + self.pack.greeting)
        if intent in ("slower", "faster"):
            return self._change_rate(state, intent, heard, confidence)
        if state.topic is None:
            return say(f"We have not started a topic yet. {self.pack.greeting}")
        if intent == "explain":
            return self._explain(state, confidence, heard)
        if intent == "what_else":
            return self._what_else(state, confidence, heard)
        if intent == "start_over":
            first = self.pack.group_of(state.topic)[0].id
            return self._answer(state, first, confidence, heard, kind="command", intent="start_over")
        position = self._walk(state.topic, state.chunk, +1 if intent == "next" else -1)
        if position is None:
            group_word = "end" if intent == "next" else "beginning"
            return say(f"That is the {group_word} of {self.pack.entry(state.topic).title}. "
                       "You can ask me about something else, or say start over.")
        entry_id, chunk = position
        return self._answer(state, entry_id, confidence, heard, chunk=chunk, kind="command", intent=intent)

    def _explain(self, state: DialogueState, confidence: float, heard: str) -> tuple[Reply, DialogueState]:
        """'Why?' or 'tell me more' about the topic just spoken: its reason, else the rest of it."""
        entry = self.pack.entry(state.topic)
        if entry.why:
            chunks = (entry.why,)
            return Reply("command", "explain", confidence, chunks, heard=heard), replace(state, last_said=chunks)
        if state.chunk + 1 < len(entry.chunks):
            return self._answer(state, entry.id, confidence, heard, chunk=state.chunk + 1, kind="command",
                                intent="explain")
        chunks = (f"That is all the article says about {entry.title}. Say next to go on, or ask me something else.",)
        return Reply("command", "explain", confidence, chunks, heard=heard), replace(state, last_said=chunks)

    def _what_else(self, state: DialogueState, confidence: float, heard: str) -> tuple[Reply, DialogueState]:
        """'What else?': the next item of the same list, skipping what is left of this one."""
        group = self.pack.group_of(state.topic)
        index = [entry.id for entry in group].index(state.topic)
        if index + 1 < len(group):
            return self._answer(state, group[index + 1].id, confidence, heard, kind="command", intent="what_else")
        chunks = (f"That was the last one about {group[0].title}. You can ask me about something else, "
                  "or say start over.",)
        return Reply("command", "what_else", confidence, chunks, heard=heard), replace(state, last_said=chunks)

    def _walk(self, topic: str, chunk: int, direction: int) -> tuple[str, int] | None:
        """The (entry, chunk) one step from here within the topic's group, or None at either end."""
        positions = [(e.id, i) for e in self.pack.group_of(topic) for i in range(len(e.chunks))]
        index = positions.index((topic, chunk)) + direction
        return positions[index] if 0 <= index < len(positions) else None

    def _change_rate(self, state: DialogueState, intent: str, heard: str,
                     confidence: float) -> tuple[Reply, DialogueState]:
        factor = 1 / RATE_STEP if intent == "slower" else RATE_STEP
        rate = round(min(MAX_RATE, max(MIN_RATE, state.rate * factor)), 3)
        actions = (Action("set_rate", rate),)
        if rate == state.rate:
            limit = "slowest" if intent == "slower" else "fastest"
            return Reply("command", intent, confidence, (f"This is already my {limit} pace.",), actions,
                         heard), state
        new_state = replace(state, rate=rate)
        if intent == "slower" and state.last_said:
            # 'say that slower' means: again, slower.
            return Reply("command", intent, confidence, state.last_said, actions, heard), new_state
        word = "more slowly" if intent == "slower" else "faster"
        return Reply("command", intent, confidence, (f"Okay, I will speak {word}.",), actions, heard), new_state

    def _resolve_choice(self, choices: tuple[str, ...], utterance: str) -> str | None:
        heard = normalize(utterance)
        if heard in _FIRST:
            return choices[0]
        if heard in _SECOND:
            return choices[1]
        titles = [self.pack.entry(choice).title for choice in choices]
        scores = [fuzz.token_set_ratio(heard, title) for title in titles]
        best = max(range(len(choices)), key=scores.__getitem__)
        return choices[best] if scores[best] >= 80 and scores[best] > min(scores) else None
