"""Closeness of meaning between an utterance and labelled phrasings, by sentence embeddings.

A :class:`PhraseIndex` holds the embeddings of many phrasings, each under a
label (an entry, a decline, a red flag), and scores an utterance against every
label as the best cosine over that label's phrasings. A :class:`PhraseClassifier`
learns from the same embeddings which directions tell the labels apart (softmax
regression): on paraphrases nobody wrote down it is right far more often than the
nearest phrasing is (``bench/sweep_matcher.py``'s docstring). The pack's phrasings
are embedded and the classifier fitted once, then cached on disk, keyed by the
model file and the phrasings themselves, so a changed pack or model is never
served stale vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """Anything that turns texts into unit vectors (the real model, or a test double)."""

    dimension: int

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray: ...

    def encode_spans(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """The whole text's vector, then one per character span of it."""
        ...


class PhraseIndex:
    """Labelled phrasings and their embeddings; scores per label for one utterance vector."""

    def __init__(self, labels: list[str], phrases: list[tuple[str, str]], vectors: np.ndarray) -> None:
        """``labels`` in output order; ``phrases`` as (label, text) pairs, aligned with ``vectors``."""
        self.labels = labels
        self.phrases = phrases
        self._vectors = vectors.astype(np.float32)
        position = {label: i for i, label in enumerate(labels)}
        self._owner = np.array([position[label] for label, _ in phrases], dtype=np.int64)
        self._rows = [np.flatnonzero(self._owner == i) for i in range(len(labels))]

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    @property
    def owners(self) -> np.ndarray:
        """The label index of each phrasing."""
        return self._owner

    @property
    def dimension(self) -> int:
        return self._vectors.shape[1]

    @classmethod
    def build(cls, encoder: Encoder, labels: list[str], phrases: list[tuple[str, str]],
              cache_dir: Path | None = None, model_key: str = "",
              known: "PhraseIndex | None" = None) -> "PhraseIndex":
        """Embed ``phrases`` (or read them from ``cache_dir`` when the same model saw the same
        phrasings); a phrasing ``known`` holds already is not encoded again."""
        texts = [text for _, text in phrases]
        key = hashlib.sha256("\n".join([model_key, *texts]).encode()).hexdigest()[:20]
        cached = _read_cache(cache_dir, f"phrases-{key}", len(texts), encoder.dimension)
        if cached is not None:
            vectors = cached
        else:
            # Many phrasings recur (a subject swapped in, the same request twice): each is encoded once.
            found = {} if known is None else {text: vector for (_, text), vector in zip(known.phrases, known.vectors)}
            unique = [text for text in dict.fromkeys(texts) if text not in found]
            log.info("embedding %d phrasings (once; cached in %s)", len(unique), cache_dir)
            found.update(zip(unique, encoder.encode(unique)))
            vectors = np.stack([found[text] for text in texts]) if texts else np.zeros((0, encoder.dimension))
            _write_cache(cache_dir, f"phrases-{key}", vectors)
        return cls(labels, phrases, vectors)

    def scores(self, vector: np.ndarray, top: int = 1) -> np.ndarray:
        """Per label, the mean of the ``top`` best cosines of ``vector`` with its phrasings (the best one
        for ``top`` 1; −1 for a label with none). A label that several phrasings bring close outweighs
        one that a single look-alike phrasing does."""
        cosines = self._vectors @ vector
        if top <= 1:
            best = np.full(len(self.labels), -1.0, dtype=np.float32)
            np.maximum.at(best, self._owner, cosines)
            return best
        result = np.full(len(self.labels), -1.0, dtype=np.float32)
        for label, rows in enumerate(self._rows):
            if len(rows):
                values = cosines[rows]
                k = min(top, len(values))
                result[label] = np.partition(values, len(values) - k)[len(values) - k:].mean()
        return result

    def nearest(self, vector: np.ndarray) -> tuple[str, str, float]:
        """The single closest phrasing: (label, text, cosine). For explaining a decision."""
        cosines = self._vectors @ vector
        i = int(np.argmax(cosines))
        return self.phrases[i][0], self.phrases[i][1], float(cosines[i])


class PhraseClassifier:
    """Softmax regression over phrase embeddings: the probability of each label for an utterance.

    Fitted by plain full-batch gradient descent from zero, so the same phrasings always give the
    same weights. ``temperature`` scales cosines (which span about 0..1) to logits.
    """

    def __init__(self, labels: list[str], weights: np.ndarray, bias: np.ndarray, temperature: float) -> None:
        self.labels = labels
        self._weights = weights.astype(np.float32)
        self._bias = bias.astype(np.float32)
        self._temperature = temperature

    @classmethod
    def fit(cls, index: PhraseIndex, temperature: float = 40.0, steps: int = 400, rate: float = 0.5,
            l2: float = 1e-3, cache_dir: Path | None = None, model_key: str = "") -> "PhraseClassifier":
        recipe = f"{model_key}|{temperature}|{steps}|{rate}|{l2}|" + "\n".join(f"{a}\t{b}" for a, b in index.phrases)
        key = hashlib.sha256(recipe.encode()).hexdigest()[:20]
        cached = _read_cache(cache_dir, f"classifier-{key}", index.dimension + 1, len(index.labels))
        if cached is not None:
            return cls(index.labels, cached[:-1], cached[-1], temperature)
        x = index.vectors.astype(np.float64)
        targets = np.eye(len(index.labels))[index.owners]
        weights = np.zeros((x.shape[1], len(index.labels)))
        bias = np.zeros(len(index.labels))
        for _ in range(steps):
            gradient = (_softmax(temperature * (x @ weights) + bias) - targets) / len(x)
            weights -= rate * (temperature * (x.T @ gradient) + l2 * weights)
            bias -= rate * gradient.sum(0)
        _write_cache(cache_dir, f"classifier-{key}", np.vstack([weights, bias[None]]))
        return cls(index.labels, weights, bias, temperature)

    def logits(self, vector: np.ndarray) -> np.ndarray:
        return self._temperature * (vector @ self._weights) + self._bias

    def probabilities(self, vector: np.ndarray, among: np.ndarray | None = None,
                      sharpness: float = 1.0) -> np.ndarray:
        """Probability of every label; with ``among`` (a boolean mask), of those labels only (0 elsewhere).
        ``sharpness`` under 1 softens them: fitted to be sure of its own phrasings, the classifier is
        too sure of paraphrases, and a softer spread leaves the word score a say."""
        logits = self.logits(vector) * sharpness
        if among is not None:
            logits = np.where(among, logits, -np.inf)
        return _softmax(logits)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _read_cache(cache_dir: Path | None, key: str, rows: int, dimension: int) -> np.ndarray | None:
    if cache_dir is None:
        return None
    path = cache_dir / f"{key}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if vectors.shape != (rows, dimension):
        log.info("ignoring embedding cache %s: shape %s, expected %s", path, vectors.shape, (rows, dimension))
        return None
    return vectors


def _write_cache(cache_dir: Path | None, key: str, vectors: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written only costs the next start-up a second."""
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}", suffix=".npy")
        with os.fdopen(handle, "wb") as out:
            np.save(out, vectors.astype(np.float32), allow_pickle=False)
        os.replace(temp, cache_dir / f"{key}.npy")
    except OSError as exc:
        log.info("cannot cache phrase embeddings in %s: %s", cache_dir, exc)


__all__ = ["Encoder", "PhraseClassifier", "PhraseIndex"]
