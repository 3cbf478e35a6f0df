"""What an utterance means, by sentence embeddings: which topic it asks about, which symptom it reports.

:class:`MeaningScorer` embeds the pack once (every entry's and decline's example
phrasings and title, every red flag's descriptions) and then, per utterance:

* :meth:`topic_scores`: a classifier's probability for each of the matcher's candidates
  (and the best cosine with one of its phrasings);
* :meth:`elsewhere`: how likely it is about another subject (:mod:`.domain`);
* :meth:`reported_symptoms`: the red flags that an utterance, or one of its clauses, most
  likely describes, of everything the pack knows. A clause that
  plainly says a symptom is absent ("I can still feel my legs") reports nothing, so a plain
  "no numbness" still cancels; a hedge ("I'm not sure I can feel my leg") does not.

Embeddings of recent texts are kept (a recognizer's hypotheses repeat), and
:meth:`prepare` embeds many texts in one batch.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.normalize import normalize, without_spans
from voice_assistant.nlu.domain import DomainGate
from voice_assistant.nlu.negation import denial_spans, symptom_words
from voice_assistant.nlu.redflags import reassurance_spans
from voice_assistant.nlu.semantic import Encoder, PhraseClassifier, PhraseIndex

# Clauses of a spoken sentence: a report and a question are often joined ('my legs are jelly and what
# causes this'); punctuation is gone by the time text is normalized, so the joining words mark them.
# A question often follows a report with no joining word at all ('i fell off the roof and the pain is
# off the charts should i use a heat pack'): a question's start marks a clause too, and stays in it.
_CLAUSE_BREAK = re.compile(r"\s(?:but|and|so|because|since|then|also|plus|though|although)(?=\s)"
                           r"|\s(?=(?:should|do|can|could|would|will|is|are|what|how|why)\s"
                           r"(?:i|it|that|this|you|we|do|does|should|can|is|are)\b)")
_MIN_CLAUSE_WORDS = 4
_CACHE_SIZE = 512
_FLAG = "flag:"
_COMMAND = "command:"


@dataclass(frozen=True)
class SymptomReport:
    """A red flag found by meaning: the flag, the words that said it, and how close they came."""

    flag_id: str
    span: tuple[int, int]
    words: str
    probability: float


class MeaningScorer:
    """Embedding-based scores of one pack, for the matcher to combine with its word scores.

    One classifier knows every candidate (entries, declines) and every red flag, so a
    symptom is reported only when it is the likeliest reading of all: a question about
    the warning signs, or tingling in the arms (an ordinary symptom), reads as its topic.
    """

    def __init__(self, pack: KnowledgePack, encoder: Encoder, candidates: list[tuple[str, tuple[str, ...]]],
                 cache_dir: Path | None = None, model_key: str = "",
                 commands: dict[str, tuple[str, ...]] | None = None,
                 stray_decline: str = "off_topic") -> None:
        """``candidates``: (id, phrasings) in the matcher's order. ``commands``: navigation phrasings
        by intent, classes of their own, so 'hurry it along' is not read as the nearest symptom, and
        a command said in other words ('what was the one before that') is read as that command.
        ``stray_decline``: the decline whose examples are requests from elsewhere."""
        self.encoder = encoder
        self._symptoms = symptom_words(pack)
        labels = [ident for ident, _ in candidates] + [_FLAG + flag.id for flag in pack.red_flags]
        phrases = [(ident, normalize(text, pack.confusions)) for ident, texts in candidates for text in texts]
        phrases += [(_FLAG + flag.id, normalize(text, pack.confusions)) for flag in pack.red_flags
                    for text in (*flag.examples, *pack.learned("red_flag", flag.id), flag.name)]
        for intent, texts in (commands or {}).items():
            labels.append(_COMMAND + intent)
            phrases += [(_COMMAND + intent, text) for text in texts]
        self.index = PhraseIndex.build(encoder, labels, phrases, cache_dir, model_key)
        self.classifier = PhraseClassifier.fit(self.index, cache_dir=cache_dir, model_key=model_key)
        self.domain = DomainGate.build(pack, encoder, stray_decline, cache_dir, model_key, self.index)
        self._topics = np.array([not label.startswith((_FLAG, _COMMAND)) for label in labels])
        self._flags = [i for i, label in enumerate(labels) if label.startswith(_FLAG)]
        self._flag_words = _telling_words(pack)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def prepare(self, texts: list[str]) -> None:
        """Embed in one batch the texts not yet seen."""
        wanted = [t for t in dict.fromkeys(texts) if t and t not in self._cache]
        if wanted:
            for text, vector in zip(wanted, self.encoder.encode(wanted)):
                self._remember(text, vector)

    def _clause_vectors(self, text: str) -> list[tuple[tuple[int, int], np.ndarray]]:
        """(span, vector) of the whole text and of each clause long enough to say something alone;
        the clauses are pooled from the text's one encoder pass, so they cost nothing more."""
        spans = _clause_spans(text)
        if not spans:
            return [((0, len(text)), self.vector(text))]
        key = "\x00clauses\x00" + text
        found = self._cache.get(key)
        if found is None:
            found = self.encoder.encode_spans(text, spans)
            self._remember(key, found)
            self._remember(text, found[0])
        return list(zip([(0, len(text)), *spans], found))

    def forget(self) -> None:
        """Drop the remembered embeddings (for timing an utterance as heard for the first time)."""
        self._cache.clear()

    def vector(self, text: str) -> np.ndarray:
        found = self._cache.get(text)
        if found is None:
            found = self.encoder.encode([text])[0]
            self._remember(text, found)
        else:
            self._cache.move_to_end(text)
        return found

    def topic_scores(self, text: str, sharpness: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate, in the matcher's order: the classifier's probability (among topics and
        declines), and the best cosine with one of its phrasings."""
        vector = self.vector(text)
        count = int(self._topics.sum())
        probabilities = self.classifier.probabilities(vector, self._topics, sharpness)[:count]
        return probabilities, self.index.scores(vector)[:count]

    def command(self, text: str, closeness: float = 0.0) -> tuple[str, float] | None:
        """The navigation command the text most likely is, when a command is its likeliest reading
        of all (topics, declines, red flags, commands) and it comes within ``closeness`` cosine of
        one of that command's phrasings, with its probability."""
        vector = self.vector(text)
        probabilities = self.classifier.probabilities(vector)
        best = int(np.argmax(probabilities))
        label = self.index.labels[best]
        if not label.startswith(_COMMAND):
            return None
        if self.index.scores(vector)[best] < closeness:
            return None
        return label[len(_COMMAND):], float(probabilities[best])

    def elsewhere(self, text: str) -> float:
        """The probability that the text asks about another subject than the pack's (0 when the
        pack names none)."""
        return 0.0 if self.domain is None else self.domain.elsewhere(self.vector(text))

    def reported_symptoms(self, text: str, threshold: float, closeness: float = 0.0,
                          near: float = 1.1, near_probability: float = 1.0,
                          skip: Callable[[tuple[int, int]], bool] = lambda span: False,
                          explained: frozenset[str] = frozenset()) -> list[SymptomReport]:
        """Red flags that the text, or one of its clauses, most likely reports (probability at least
        ``threshold`` and above every other reading, and within ``closeness`` cosine of one of the
        flag's own phrasings: far from everything, the likeliest class means little), or that it
        says in nearly the words of one of the flag's phrasings (cosine ``near``) with some
        likelihood (``near_probability``) though another reading is likelier ('kidney pain and
        vomiting' reads likeliest as a stray request); strongest first, one per flag. The text and
        clauses whose span ``skip`` names are not read. A clause whose likeliest reading is a flag in
        ``explained`` (one the pack's own words explain away: 'the pain goes down the right side of my
        body' is no one-sided numbness) reports nothing else nearly either: it is what the pack says it is."""
        found: dict[str, SymptomReport] = {}
        for (start, end), vector in self._clause_vectors(text):
            if skip((start, end)):
                continue
            clause = text[start:end]
            if reassurance_spans(clause):
                continue
            denials = denial_spans(clause, self._symptoms)
            if denials:
                # An embedding barely hears 'not' ('i have not lost my balance' sits next to 'i lost
                # my balance'), so what a denial says is taken out and the rest read on its own.
                rest = without_spans(clause, denials)
                if len(rest.split()) < _MIN_CLAUSE_WORDS:
                    continue
                vector = self.vector(rest)
            probabilities = self.classifier.probabilities(vector)
            cosines = self.index.scores(vector)
            best = int(np.argmax(probabilities))
            if self.index.labels[best].startswith(_FLAG) and self.index.labels[best][len(_FLAG):] in explained:
                continue
            chosen = [best] if (self.index.labels[best].startswith(_FLAG) and probabilities[best] >= threshold
                                and cosines[best] >= closeness) else []
            words = set(clause.split())
            chosen += [i for i in self._flags if i != best and cosines[i] >= near
                       and probabilities[i] >= near_probability
                       and words & self._flag_words[self.index.labels[i][len(_FLAG):]]]
            for i in chosen:
                report = SymptomReport(self.index.labels[i][len(_FLAG):], (start, end), clause,
                                       float(probabilities[i]))
                if report.flag_id not in found or found[report.flag_id].probability < report.probability:
                    found[report.flag_id] = report
        return sorted(found.values(), key=lambda r: -r.probability)

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)


def _telling_words(pack: KnowledgePack) -> dict[str, frozenset[str]]:
    """Per red flag, the words of its descriptions that tell it apart: four letters or more, and
    used by fewer than three flags ('back', 'pain' and 'what' tell nothing)."""
    words = {flag.id: {w for text in (*flag.examples, *pack.learned("red_flag", flag.id), flag.name)
                       for w in normalize(text, pack.confusions).split()
                       if len(w) >= 4} for flag in pack.red_flags}
    counts = Counter(word for found in words.values() for word in found)
    return {flag: frozenset(w for w in found if counts[w] < 3) for flag, found in words.items()}


def _clause_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the clauses of ``text`` with enough words to say something alone;
    none when the text is one clause."""
    edges = [0]
    for found in _CLAUSE_BREAK.finditer(text):
        edges += [found.start(), found.end()]
    edges.append(len(text))
    spans = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    spans = [(a, b) for a, b in spans if len(text[a:b].split()) >= _MIN_CLAUSE_WORDS]
    return [] if spans == [(0, len(text))] else spans


__all__ = ["MeaningScorer", "SymptomReport"]
