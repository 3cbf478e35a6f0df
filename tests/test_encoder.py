"""The sentence encoder: the real model against reference vectors, where it is found, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voice_assistant.errors import ModelError
from voice_assistant.installed import file_sha256
from voice_assistant.nlu.encoder import (MODEL_NAME, MODEL_SHA256, SentenceEncoder, find_encoder_model,
                                         installed_package_model)

REFERENCE = json.loads((Path(__file__).parent / "data" / "encoder_reference.json").read_text(encoding="utf-8"))
FILES = ("config.json", "tokenizer.json", "model.safetensors")


def test_the_numpy_forward_pass_matches_the_reference_implementation(encoder):
    # Reference vectors made once with transformers and PyTorch (see the file's 'made_with').
    vectors = encoder.encode(REFERENCE["sentences"])
    assert np.abs(vectors[:, :16] - np.array(REFERENCE["first_16_dims"])).max() < 1e-5
    assert np.abs(vectors @ vectors.T - np.array(REFERENCE["cosines"])).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batches_of_mixed_lengths_give_the_same_vectors_as_one_at_a_time(encoder):
    texts = ["next", "how do i get rid of a back spasm when i am lying on the floor and can not get up", "why"]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([text])[0] for text in texts])
    assert np.abs(together - alone).max() < 1e-5
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_the_installed_weights_are_the_published_ones():
    folder = installed_package_model()
    assert folder is not None
    assert file_sha256(folder / "model.safetensors") == MODEL_SHA256


def _model_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in FILES:
        (root / name).write_text("{}")
    return root


def test_the_encoder_is_looked_for_in_the_documented_order(tmp_path):
    project, user, package = tmp_path / "project", tmp_path / "user", _model_folder(tmp_path / "package")
    assert find_encoder_model(None, None, project, user, package) == package
    in_user = _model_folder(user / MODEL_NAME)
    assert find_encoder_model(None, None, project, user, package) == in_user
    in_project = _model_folder(project / MODEL_NAME)
    assert find_encoder_model(None, None, project, user, package) == in_project
    from_env = _model_folder(tmp_path / "env")
    assert find_encoder_model(None, str(from_env), project, user, package) == from_env
    explicit = _model_folder(tmp_path / "explicit")
    assert find_encoder_model(str(explicit), str(from_env), project, user, package) == explicit
    assert find_encoder_model(None, None, tmp_path / "none", tmp_path / "none", None) is None


def test_an_explicit_folder_without_the_model_says_what_is_missing(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="missing tokenizer.json, model.safetensors"):
        find_encoder_model(str(tmp_path), None, tmp_path, tmp_path, None)


def test_a_damaged_model_file_is_a_clear_error(tmp_path):
    folder = installed_package_model()
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ModelError, match="cannot load the sentence encoder"):
        SentenceEncoder(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelError, match="not a BERT encoder"):
        SentenceEncoder(tmp_path)
