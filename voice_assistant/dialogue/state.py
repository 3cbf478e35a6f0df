"""The immutable values the dialogue passes around: state, reply and side actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from voice_assistant.nlu.redflags import RedFlagHit

#: Speaking-rate multipliers: each 'slower' or 'faster' moves one step.
RATE_STEP = 1.25
MIN_RATE = 0.5
MAX_RATE = 1.6


@dataclass(frozen=True)
class Action:
    """A side effect the dialogue asks for: ``stop_speaking``, ``set_rate`` (value) or ``end_session``."""

    name: str
    value: float | None = None


@dataclass(frozen=True)
class DialogueState:
    """Where the conversation is: the topic and chunk last spoken, the pace, a pending question."""

    topic: str | None = None
    chunk: int = 0
    rate: float = 1.0
    last_said: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What to say and do for one utterance. ``chunks`` are spoken in order; ``text`` joins them."""

    kind: str
    intent: str | None
    confidence: float
    chunks: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    heard: str = ""
    red_flags: tuple[RedFlagHit, ...] = field(default=(), repr=False)

    @property
    def text(self) -> str:
        return " ".join(self.chunks)

    def to_json(self, utterance: str) -> dict:
        """The CLI contract's JSON object for this reply."""
        return {
            "text": utterance,
            "kind": self.kind,
            "intent": self.intent,
            "answer": self.text,
            "confidence": self.confidence,
            "chunks": list(self.chunks),
            "red_flags": [hit.flag_id for hit in self.red_flags],
            "actions": [{"name": a.name, "value": a.value} if a.value is not None else {"name": a.name}
                        for a in self.actions],
        }
