"""Pure conversation logic: ``(state, utterance) -> (reply, new state)``."""

from voice_assistant.dialogue.state import Action, DialogueState, Reply
from voice_assistant.dialogue.policy import Dialogue

__all__ = ["Action", "Dialogue", "DialogueState", "Reply"]
