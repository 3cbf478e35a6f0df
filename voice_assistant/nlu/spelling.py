"""Repair misspelled words ('numbnes', 'balence', 'controll') towards the pack's vocabulary.

Only words that are not English at all are touched: a real word such as
'fell' or 'week' is left alone, so the repair never invents a symptom. The
list of English words is the pronunciation dictionary PocketSphinx ships
(about 130,000 words), read once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Words of PocketSphinx's bundled dictionary, or an empty set when it is not installed."""
    try:
        import pocketsphinx
    except ImportError:  # the matcher still works, it just repairs fewer typos
        return frozenset()
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in lines if line.strip())
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return frozenset()


class Speller:
    """Maps unknown words to the closest vocabulary word within a small edit distance."""

    def __init__(self, vocabulary: Iterable[str], known_words: frozenset[str]) -> None:
        self.vocabulary = sorted({word for word in vocabulary if len(word) >= 4})
        self._vocabulary_set = frozenset(self.vocabulary)
        self.known_words = known_words

    def correct(self, text: str) -> str:
        return " ".join(self._word(word) for word in text.split())

    def _word(self, word: str) -> str:
        if len(word) < 4 or word in self._vocabulary_set or word in self.known_words or not word.isalpha():
            return word
        limit = 1 if len(word) <= 6 else 2
        close = process.extract(word, self.vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=5)
        if not close:
            return word
        # Among equally close words prefer one with the same letters: 'waek' is 'weak', not 'walk'.
        best = min(close, key=lambda item: (item[1], sorted(item[0]) != sorted(word)))
        return best[0]
