"""Spot navigation commands ('next', 'say that slower', 'stop') in a whole utterance.

A command must be the whole utterance (politeness aside), so 'how do I stop
this from happening' is a question, not 'stop'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

#: The command intents of the CLI contract, plus 'goodbye' which ends a session, and the follow-ups
#: 'explain' and 'what_else' about the topic last spoken.
COMMAND_PHRASES: dict[str, tuple[str, ...]] = {
    "next": ("next", "next one", "next step", "next please", "go on", "carry on", "continue", "keep going",
             "what is next", "and then", "then what", "more", "go ahead",
             "next topic", "and", "yes go on", "what is the next step", "more please",
             "next cause", "next tip", "skip", "skip it", "skip this", "move on"),
    "previous": ("previous", "back", "go back", "previous one", "previous step", "last one", "before that",
                 "the one before", "go back one", "back one", "what was before that", "last step"),
    "repeat": ("repeat", "repeat that", "say that again", "again", "what did you say", "pardon", "sorry",
               "come again", "one more time", "say it again", "i did not catch that", "what", "huh",
               "can you repeat that", "repeat please", "i missed that", "what was that", "say that one more time",
               "say it one more time"),
    "start_over": ("start over", "from the beginning", "from the top", "restart", "start again",
                   "begin again", "go to the beginning", "back to the start", "start from the beginning", "start again from the top",
                   "start from the top", "go back to the beginning", "from the start"),
    "stop": ("stop", "stop talking", "shut up", "be quiet", "quiet", "enough", "that is enough", "cancel",
             "pause", "hush", "stop it", "stop please", "silence", "okay stop", "that is all", "never mind",
             "hold on", "hang on", "wait", "hold on stop", "wait stop"),
    "slower": ("slower", "slow down", "say that slower", "speak slower", "talk slower", "too fast",
               "more slowly", "slowly", "slower please", "say it slower", "you are talking too fast", "talk a bit slower", "too quick", "that is too fast",
               "can you slow down", "a bit slower", "speak more slowly"),
    "faster": ("faster", "speed up", "speak faster", "talk faster", "too slow", "quicker", "more quickly",
               "hurry up", "say it faster", "you are talking too slowly", "too slowly", "talking too slowly",
               "that is too slow", "quicker please", "speak up the pace", "you are too slow", "a bit faster", "go faster"),
    # Follow-ups about what was just said: they need a topic, and the dialogue answers from it.
    "explain": ("why", "why is that", "why does that help", "how does that help", "how come", "tell me more",
                "tell me more about that", "more about that", "what do you mean", "explain that", "explain",
                "why that", "why is that good", "why does it work", "how does that work", "go into more detail"),
    "what_else": ("what else", "anything else", "what else can i do", "what else could it be", "what other things",
                  "any other tips", "what other causes", "what else helps", "something else", "any others",
                  "what about others", "the next thing"),
    "help": ("help", "what can i ask", "what can you do", "what can i say", "what do you know",
             "options", "what are my options", "how does this work", "what can you tell me",
             "what can you help with", "what do you do", "commands", "instructions", "what can i ask you"),
    "goodbye": ("goodbye", "bye", "good bye", "bye bye", "exit", "quit", "i am done", "that is all thanks",
                "see you", "good night", "close", "turn off"),
}

_POLITE = re.compile(r"^(can you|could you|would you|will you|i said|now|and|sorry|a bit|a little|bit|little|"
                     r"you|no)\s+|\s+(now|for me|a bit|a little|"
                     r"bit|little|again please|there|then)$")
_CHOICES = [(phrase, intent) for intent, phrases in COMMAND_PHRASES.items() for phrase in phrases]
_PHRASES = [phrase for phrase, _ in _CHOICES]
MAX_COMMAND_WORDS = 7

# Second chance for short utterances that are not in the phrase list: a
# telling word decides. Order matters ('too slowly' asks for faster speech).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((intent, re.compile(pattern)) for intent, pattern in (
    ("help", r"\b(what|which) (kind|kinds|sort|sorts|type|types) of (questions|things)\b|"
             r"\bwhat (can|should) (i|you) (ask|say)\b|\bwhat (can|do) you (do|know)\b"),
    ("faster", r"\btoo slow(ly)?\b|\bfaster\b|\bspeed (it )?up\b|\bquicker\b|\bmore quickly\b|\bhurry\b"),
    ("slower", r"\btoo (fast|quick|quickly)\b|\bslower\b|\bslow (it )?down\b|\bmore slowly\b|\bslowly\b"),
    ("start_over", r"\bstart (over|again)\b|\bfrom the (top|beginning|start)\b|\brestart\b"),
    ("repeat", r"\b(repeat|pardon)\b|\bone more time\b|\bsay (that|it) again\b|\bcome again\b"),
    ("previous", r"\bgo back\b|\bprevious\b|\bback (a|one) step\b"),
    ("explain", r"\btell me more\b|\bwhy (is|does) that\b|\bhow does that (help|work)\b"),
    ("what_else", r"\bwhat else\b|\banything else\b"),
    ("next", r"\bnext\b|\bcontinue\b|\bgo on\b|\bkeep going\b"),
    ("stop", r"\bstop\b|\benough\b|\bquiet\b|\bshut up\b|\bhush\b|\bsilence\b"),
    # Leaving ends the session, so only a farewell that closes the utterance counts ('okay bye then',
    # not 'bye can a pizza', which is how a recognizer heard 'order me a pizza').
    ("goodbye", r"\b(goodbye|bye)(\s(bye|then|now|all|everyone|the|you|and|thanks|for now|for today|and thanks|"
                r"thank you|and thank you))?$"),
))
# A short question about the topic ('how do I stop this') is not a command.
_QUESTION_START = re.compile(r"^(how|why|when|where|which|who|does|do|is|are|should|can i|could i|will|what is|"
                             r"what are|what causes)\b")


@dataclass(frozen=True)
class CommandMatch:
    """A recognized command and how sure we are of it."""

    intent: str
    confidence: float


def match_command(normalized: str) -> CommandMatch | None:
    """The command the whole utterance asks for, or ``None``."""
    text = normalized
    if not text or len(text.split()) > MAX_COMMAND_WORDS:
        return None
    for _ in range(3):
        text = _POLITE.sub("", text).strip()
    if not text:
        return None
    best = process.extractOne(text, _PHRASES, scorer=fuzz.ratio, score_cutoff=84)
    if best is None:
        return None
    phrase, score, index = best
    # Short words ('and', 'back', 'what') must be said exactly: fuzzy matches of
    # them would turn real questions into navigation.
    if len(phrase) <= 5 and text != phrase:
        return None
    return CommandMatch(_CHOICES[index][1], round(score / 100, 3))


def match_command_loosely(normalized: str) -> CommandMatch | None:
    """A command told by one telling word in a short utterance; used only when no topic fits."""
    text = normalized
    if not text or len(text.split()) > MAX_COMMAND_WORDS:
        return None
    for intent, pattern in _RULES:
        if pattern.search(text) and (intent == "help" or not _QUESTION_START.match(text)):
            return CommandMatch(intent, 0.8)
    return None
