"""Knowledge packs: one article's content for the ear, loaded from YAML."""

from voice_assistant.knowledge.model import Decline, Entry, KnowledgePack, QuestionForm, RedFlag
from voice_assistant.knowledge.loader import DEFAULT_PACK, load_pack

__all__ = ["DEFAULT_PACK", "Decline", "Entry", "KnowledgePack", "QuestionForm", "RedFlag", "load_pack"]
