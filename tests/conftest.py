"""Shared fixtures: the shipped pack, a matcher and a dialogue built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from voice_assistant.app import build_recognizer
from voice_assistant.dialogue import Dialogue
from voice_assistant.knowledge import load_pack
from voice_assistant.nlu.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def pack():
    return load_pack()


@pytest.fixture(scope="session")
def matcher(pack):
    return Matcher(pack)


@pytest.fixture(scope="session")
def dialogue(matcher):
    return Dialogue(matcher)


@pytest.fixture(scope="session")
def recognizer(pack):
    """The real PocketSphinx recognizer with the pack's language model, loaded once."""
    return build_recognizer("pocketsphinx", pack, notify=lambda message: None)


@pytest.fixture(scope="session")
def voices(tmp_path_factory):
    """Folder of synthesized test speech, shared by every test of the session."""
    return tmp_path_factory.mktemp("voices")


def load_cases(name: str) -> list[dict]:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
