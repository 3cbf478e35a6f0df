"""Phrase index and classifier: scores as arithmetic on small vectors, and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from voice_assistant.nlu.semantic import PhraseClassifier, PhraseIndex


class TableEncoder:
    """Each known text has a fixed unit vector; counts how many texts it was asked to embed."""

    dimension = 3

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = {text: np.array(v, dtype=np.float32) / np.linalg.norm(v) for text, v in table.items()}
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        return np.stack([self.table[t] for t in texts]) if texts else np.zeros((0, 3), np.float32)


TABLE = {"ice": [1, 0, 0], "heat": [0.9, 0.1, 0], "walk": [0, 1, 0], "swim": [0, 0.8, 0.2], "rain": [0, 0, 1]}
PHRASES = [("compresses", "ice"), ("compresses", "heat"), ("exercise", "walk"), ("exercise", "swim"),
           ("off_topic", "rain")]
LABELS = ["compresses", "exercise", "off_topic", "empty"]


def test_a_label_scores_its_best_phrasing_and_an_empty_label_minus_one():
    encoder = TableEncoder(TABLE)
    index = PhraseIndex.build(encoder, LABELS, PHRASES)
    scores = index.scores(encoder.table["ice"])
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.0, abs=1e-6)
    assert scores[3] == -1.0
    two = index.scores(encoder.table["ice"], top=2)
    assert two[0] == pytest.approx((1.0 + float(encoder.table["heat"] @ encoder.table["ice"])) / 2)
    assert index.nearest(encoder.table["swim"])[:2] == ("exercise", "swim")


def test_embeddings_are_cached_by_model_and_phrasings(tmp_path):
    encoder = TableEncoder(TABLE)
    PhraseIndex.build(encoder, LABELS, PHRASES, tmp_path, "model-a")
    assert encoder.calls == len(PHRASES)
    PhraseIndex.build(encoder, LABELS, PHRASES, tmp_path, "model-a")
    assert encoder.calls == len(PHRASES), "the second build read the cache"
    PhraseIndex.build(encoder, LABELS, PHRASES, tmp_path, "model-b")
    assert encoder.calls == 2 * len(PHRASES), "another model never reads this model's vectors"
    PhraseIndex.build(encoder, LABELS, PHRASES[:-1], tmp_path, "model-a")
    assert encoder.calls == 3 * len(PHRASES) - 1, "changed phrasings are embedded anew"


def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path):
    encoder = TableEncoder(TABLE)
    PhraseIndex.build(encoder, LABELS, PHRASES, tmp_path, "m")
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"garbage")
    index = PhraseIndex.build(encoder, LABELS, PHRASES, tmp_path, "m")
    assert encoder.calls == 2 * len(PHRASES)
    assert index.scores(encoder.table["walk"])[1] == pytest.approx(1.0)


def test_the_classifier_learns_the_labels_and_is_the_same_every_time(tmp_path):
    encoder = TableEncoder(TABLE)
    index = PhraseIndex.build(encoder, LABELS[:3], PHRASES)
    first = PhraseClassifier.fit(index, temperature=5.0, steps=300)
    again = PhraseClassifier.fit(index, temperature=5.0, steps=300)
    for label, text in PHRASES:
        probabilities = first.probabilities(encoder.table[text])
        assert first.labels[int(np.argmax(probabilities))] == label
        assert np.allclose(probabilities, again.probabilities(encoder.table[text]))
    between = first.probabilities(np.array([0.7, 0.7, 0.0], np.float32) / np.sqrt(0.98))
    assert between[2] < 0.01, "halfway between ice and walking is nowhere near rain"
    softer = first.probabilities(encoder.table["ice"], sharpness=0.25)
    assert softer.max() < first.probabilities(encoder.table["ice"]).max()
    only = first.probabilities(encoder.table["rain"], among=np.array([True, True, False]))
    assert only[2] == 0.0 and only.sum() == pytest.approx(1.0)


def test_a_fitted_classifier_is_cached(tmp_path):
    encoder = TableEncoder(TABLE)
    index = PhraseIndex.build(encoder, LABELS[:3], PHRASES)
    fitted = PhraseClassifier.fit(index, steps=300, cache_dir=tmp_path, model_key="m")
    cached = PhraseClassifier.fit(index, steps=300, cache_dir=tmp_path, model_key="m")
    vector = encoder.table["swim"]
    assert np.allclose(fitted.probabilities(vector), cached.probabilities(vector), atol=1e-6)
    assert len(list(tmp_path.glob("classifier-*.npy"))) == 1
