"""Match a question to a knowledge-pack entry, or decide to decline or clarify.

Scoring blends two signals per candidate (entries and declines):

* *phrasing*: the best fuzzy similarity (rapidfuzz) between the question and
  the candidate's example phrasings;
* *keywords*: how much of the question's content (weighted by rarity across
  candidates) the candidate's vocabulary covers, with fuzzy token matching so
  speech-recognition slips still count.

Confidence then discounts the best score by its margin over the runner-up,
so a question that fits two topics equally well is clarified, not guessed.
Red flags are found first, anywhere in the text (see :mod:`.redflags`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.commands import match_command
from voice_assistant.nlu.normalize import normalize, stem
from voice_assistant.nlu.redflags import RedFlagHit, find_red_flags

STOPWORDS = frozenset("""
a an the i me my mine myself you your yours we our us it its itself he she him her they them their this that these
those is am are was were be been being do does did doing have has had having will would shall should can could may
might must of to in on at by for with from up down out off over under about into onto than then there here so and or
but if because as until while what which who whom whose when where why how all any both each few more most other
some such no nor not only own same too very just also now again ever get gets got getting go goes going went make
makes made thing things something anything really bit lot much many way one tell know want need please okay
""".split())


@dataclass(frozen=True)
class MatcherSettings:
    """Thresholds of the matcher, tuned on the dev set (see bench/bench_matcher.py)."""

    answer_threshold: float = 0.40
    clarify_threshold: float = 0.30
    margin_scale: float = 0.12
    phrasing_weight: float = 0.55
    topic_after_red_flag_threshold: float = 0.6


@dataclass(frozen=True)
class Match:
    """What an utterance asks for.

    ``kind`` is one of ``answer``, ``red_flag``, ``command``, ``decline``, ``clarify``.
    ``intent`` is the entry id, the command, the red-flag id, or the decline id.
    """

    kind: str
    intent: str | None
    confidence: float
    normalized: str
    red_flags: tuple[RedFlagHit, ...] = ()
    topic: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Candidate:
    id: str
    is_decline: bool
    examples: tuple[str, ...]
    weights: dict[str, float]


class Matcher:
    """Matches utterances against one knowledge pack. Build once, call :meth:`match` per utterance."""

    def __init__(self, pack: KnowledgePack, settings: MatcherSettings | None = None) -> None:
        self.pack = pack
        self.settings = settings or MatcherSettings()
        self._candidates = [_candidate(e.id, False, e.examples, e.keywords, e.title) for e in pack.entries]
        self._candidates += [_candidate(d.id, True, d.examples, d.keywords, "") for d in pack.declines]
        self._examples = [ex for c in self._candidates for ex in c.examples]
        self._example_owner = [i for i, c in enumerate(self._candidates) for _ in c.examples]
        document_frequency: dict[str, int] = {}
        for candidate in self._candidates:
            for token in candidate.weights:
                document_frequency[token] = document_frequency.get(token, 0) + 1
        total = len(self._candidates)
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unknown_idf = math.log(1 + total)
        self._vocabulary = list(self._idf)

    def match(self, text: str) -> Match:
        normalized = normalize(text, self.pack.confusions)
        if not normalized:
            return Match("decline", None, 0.0, normalized)
        flags = find_red_flags(self.pack, normalized)
        command = None if flags else match_command(normalized)
        if command is not None:
            return Match("command", command.intent, command.confidence, normalized)
        # Score what is left once the red-flag words are removed, so the
        # symptom itself does not pull in an unrelated topic.
        rest = _without_spans(normalized, [hit.span for hit in flags]) if flags else normalized
        scores = self.scores(rest)
        ranked = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        best, second = ranked[0], ranked[1]
        margin = scores[best] - scores[second]
        confidence = scores[best] * (0.6 + 0.4 * min(1.0, margin / self.settings.margin_scale))
        confidence = round(max(0.0, min(1.0, confidence)), 3)
        top = self._candidates[best]
        if flags:
            confident = confidence >= self.settings.topic_after_red_flag_threshold
            topic = top.id if (confident and not top.is_decline) else None
            return Match("red_flag", flags[0].flag_id, 1.0, normalized, flags, topic)
        if confidence >= self.settings.answer_threshold:
            kind = "decline" if top.is_decline else "answer"
            return Match(kind, top.id, confidence, normalized, topic=None if top.is_decline else top.id)
        if scores[best] >= self.settings.clarify_threshold:
            runner = self._candidates[second]
            if not top.is_decline and not runner.is_decline:
                return Match("clarify", None, confidence, normalized, choices=(top.id, runner.id))
        return Match("decline", "off_topic", confidence, normalized)

    def scores(self, normalized: str) -> list[float]:
        """Score of every candidate (entries, then declines) in 0..1."""
        phrasing = [0.0] * len(self._candidates)
        for _, score, index in process.extract(normalized, self._examples, scorer=_phrase_similarity,
                                               processor=None, limit=None, score_cutoff=30):
            owner = self._example_owner[index]
            phrasing[owner] = max(phrasing[owner], score / 100)
        tokens = _content_tokens(normalized)
        resolved = [(self._resolve(token), token) for token in tokens]
        total = sum(self._idf.get(t, self._unknown_idf) if t else self._unknown_idf for t, _ in resolved) or 1.0
        weight = self.settings.phrasing_weight
        result = []
        for i, candidate in enumerate(self._candidates):
            covered = sum(self._idf[t] * candidate.weights.get(t, 0.0) for t, _ in resolved if t)
            keyword_score = covered / total if tokens else 0.0
            result.append(weight * phrasing[i] + (1 - weight) * keyword_score)
        return result

    def _resolve(self, token: str) -> str | None:
        """The pack vocabulary token this (stemmed) token stands for, allowing small slips."""
        if token in self._idf:
            return token
        if len(token) < 5:
            return None
        best = process.extractOne(token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=85)
        return best[0] if best else None

    def title(self, entry_id: str) -> str:
        return self.pack.entry(entry_id).title


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


def _phrase_similarity(a: str, b: str, **kwargs: object) -> float:
    return max(fuzz.token_sort_ratio(a, b), 0.92 * fuzz.token_set_ratio(a, b), fuzz.ratio(a, b))


def _content_tokens(normalized: str) -> list[str]:
    return [stem(word) for word in normalized.split() if word not in STOPWORDS]


def _candidate(ident: str, is_decline: bool, examples: tuple[str, ...], keywords: tuple[str, ...],
               title: str) -> _Candidate:
    weights: dict[str, float] = {}
    for example in (*examples, title):
        for token in _content_tokens(normalize(example)):
            weights[token] = max(weights.get(token, 0.0), 0.6)
    for keyword in keywords:
        for token in _content_tokens(normalize(keyword)):
            weights[token] = 1.0
    normalized_examples = tuple(normalize(example) for example in examples)
    return _Candidate(ident, is_decline, normalized_examples, weights)


__all__ = ["Match", "Matcher", "MatcherSettings"]
