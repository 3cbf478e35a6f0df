"""Match a question to a knowledge-pack entry, or decide to decline or clarify.

Scoring blends two signals per candidate (entries and declines):

* *phrasing*: the best idf-weighted cosine between the question's content
  words and one of the candidate's example phrasings;
* *keywords*: how much of the question's content (weighted by rarity across
  candidates) the candidate's vocabulary covers.

Misspelled words are repaired first (:mod:`.spelling`, edit distance with
rapidfuzz) and speech-recognition confusions rewritten (:mod:`.normalize`).

A question's form ('could that be it', 'what helps') lifts the entries it asks
for (the pack's ``question_forms``), among those its words already fit, so
words that fit topics of two groups are settled by how the question is put.

With a sentence encoder (:mod:`.meaning`), each candidate also gets a score
for closeness of meaning to its phrasings, and the two are blended with
measured weights (``bench/sweep_matcher.py``): the words catch misheard and
exact terms, the meaning catches what nobody wrote down ('how do I calm the
muscles down'). Without one, the words alone decide.

Confidence then discounts the best score by its margin over the runner-up,
so a question that fits two topics equally well is clarified, not guessed.
Red flags are found first, anywhere in the text, by pattern (see :mod:`.redflags`)
or by meaning; either one warns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.commands import (COMMAND_PHRASES, MAX_COMMAND_WORDS, CommandMatch, match_command,
                                          match_command_loosely)
from voice_assistant.nlu.hypothetical import supposed as is_supposed
from voice_assistant.nlu.hypothetical import supposed_spans, with_consequences
from voice_assistant.nlu.meaning import MeaningScorer
from voice_assistant.nlu.normalize import normalize, normalize_clauses, stem, without_spans
from voice_assistant.nlu.negation import denial_spans, symptom_words
from voice_assistant.nlu.redflags import (RedFlagHit, animal_spans, explained_flags, find_red_flags,
                                          names_someone, reassurance_spans)
from voice_assistant.nlu.semantic import Encoder
from voice_assistant.nlu.spelling import Speller, english_words

STOPWORDS = frozenset("""
a an the i me my mine myself you your yours we our us it its itself he she him her they them their this that these
those is am are was were be been being do does did doing have has had having will would shall should can could may
might must of to in on at by for with from up down out off over under about into onto than then there here so and or
but if because as until while what which who whom whose when where how all any both each few more most other
some such no nor not only own same too very just also now ever get gets got getting go goes going went make
makes made thing things something anything really bit lot much many way one tell know want need please okay
""".split())


# A question starts a clause: 'my back is does not weak' (a garbled report) asks nothing.
# 'when' asks only before a verb ('when should i ...'); 'when i bent down' is a clause of time.
_QUESTION_WORDS = (r"what|how|why|when(?= (should|do|does|is|are|will|can|would|could|might|must)\b)|where|which|"
                   r"should|could|can i|can you|is it|is this|do i|does|will|tell me|explain")
_QUESTION = re.compile(rf"(^|\b(and|but|so|also|then|please)\s)({_QUESTION_WORDS})\b")
# Where a question starts inside a longer utterance, after the filler words are gone
# ('i can still feel my legs fine [so] what is causing this').
_QUESTION_WORD = re.compile(rf"\b({_QUESTION_WORDS}|is that)\b")

# What comes before the verb of a request: 'please', 'hey', 'can you', 'i want you to'.
_OPENING = re.compile(r"^((please|hey|hi|okay|ok|so|now|um|uh|erm|just|quickly|can you|could you|would you|"
                      r"will you|i want you to|i need you to|go and) )+")

#: Weight of a word met only in a candidate's example phrasings; curated keywords weigh 1.
EXAMPLE_WORD_WEIGHT = 0.35


@dataclass(frozen=True)
class MatcherSettings:
    """Thresholds of the matcher, tuned on the dev set (see bench/bench_matcher.py)."""

    answer_threshold: float = 0.25
    clarify_threshold: float = 0.20
    margin_scale: float = 0.10
    phrasing_weight: float = 0.30
    topic_after_red_flag_threshold: float = 0.6
    #: Added to the score of an entry the question's form asks for (bench/sweep_asr.py docstring).
    question_form_bonus: float = 0.1
    #: Share of the meaning score (the classifier's probability) in the blend; 0 ignores the encoder.
    semantic_weight: float = 0.5
    #: Scales the classifier's logits before the softmax (under 1: softer probabilities).
    semantic_sharpness: float = 1.0
    #: Cosine with a candidate's phrasing that anchors an answer without any of its keywords.
    semantic_anchor: float = 0.6
    #: A clause warns by meaning when a red flag is its likeliest reading, with this probability (0.4
    #: before the labelled phrasings: learned from many more reports, the flags are read likelier, and
    #: at 0.55 the tuned-on sets keep every report they warned of with fewer false alarms).
    symptom_threshold: float = 0.55
    #: ... and its words come within this cosine of one of that flag's own phrasings: a linear classifier
    #: is surest far from what it learned ('how do i stop a nosebleed' read as a bladder report, 0.91,
    #: at cosine 0.40). Over every set (tuned-on and spent blind ones), 0.40 against 0.35 dropped six
    #: false alarms and no report; 0.5 dropped six more but two reports, and recall comes first.
    symptom_closeness: float = 0.4
    #: ... or comes this close to one of a flag's phrasings, with at least this probability, though
    #: another reading is likelier (recall first: 'kidney pain and vomiting').
    symptom_near: float = 0.6
    symptom_near_probability: float = 0.1
    #: A question the domain gate reads as about another subject with this probability is declined.
    elsewhere_threshold: float = 0.85
    #: ... unless the question's words and meaning fit one topic this well: the classifier knows stray
    #: requests as a class of their own (hundreds of labelled phrasings), and the gate, swayed by one
    #: word, turned away 'are you a doctor' and 'is a stiff neck a symptom of this'. 0.75 was best on
    #: the tuned-on sets (dev, paraphrases, tuning sets 2 and 3) of 0.55-0.85 and no override.
    sure_of_topic: float = 0.75
    #: A short utterance not understood is a command said in other words when that command is its
    #: likeliest reading, with this probability, and it comes within this cosine of the command's
    #: phrasings ('is intermittent fasting healthy' is the likeliest 'slower', but far from it).
    command_threshold: float = 0.5
    command_closeness: float = 0.5


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
    examples: tuple[frozenset[str], ...]
    raw_examples: tuple[str, ...]
    weights: dict[str, float]


class Matcher:
    """Matches utterances against one knowledge pack. Build once, call :meth:`match` per utterance."""

    def __init__(self, pack: KnowledgePack, settings: MatcherSettings | None = None,
                 known_words: frozenset[str] | None = None, encoder: Encoder | None = None,
                 cache_dir: Path | None = None, model_key: str = "") -> None:
        """``encoder`` adds matching by meaning; its phrase embeddings are cached in ``cache_dir``
        under ``model_key`` (which names the model file)."""
        self.pack = pack
        self.settings = settings or MatcherSettings()
        self._candidates = [_candidate(e.id, False, (*e.examples, *pack.learned("answer", e.id)), e.keywords, e.title)
                            for e in pack.entries]
        self._candidates += [_candidate(d.id, True, (*d.examples, *pack.learned("decline", d.id)), d.keywords, "")
                             for d in pack.declines]
        document_frequency: dict[str, int] = {}
        for candidate in self._candidates:
            for token in candidate.weights:
                document_frequency[token] = document_frequency.get(token, 0) + 1
        total = len(self._candidates)
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        # Words no candidate knows count like an average word: enough to pull a
        # question about bread away from every topic, not so much that one odd
        # word in a real question ("what *exactly* is a spasm") sinks it.
        self._unknown_idf = sum(self._idf.values()) / max(1, len(self._idf))
        self._decline_phrases = [(re.compile(rf"\b{re.escape(normalize(p))}\b"), d.id)
                                 for d in pack.declines for p in d.phrases]
        self._task_openings = {normalize(verb): d.id for d in pack.declines for verb in d.openings}
        # Every example phrasing, its candidate and its norm, and which examples hold each token: a
        # question's few tokens then touch only the examples that share one (thousands of phrasings).
        self._example_owner = np.array([i for i, c in enumerate(self._candidates) for _ in c.examples], dtype=np.int64)
        self._example_norm = np.array([math.sqrt(sum(self._idf[t] ** 2 for t in ex)) or 1.0
                                       for c in self._candidates for ex in c.examples])
        holders: dict[str, list[int]] = {}
        for row, example in enumerate(ex for c in self._candidates for ex in c.examples):
            for token in example:
                holders.setdefault(token, []).append(row)
        self._holders = {token: np.array(rows, dtype=np.int64) for token, rows in holders.items()}
        # The pack's own words only: a labelled phrasing may be a recognizer's mishearing ('blatter').
        words = {w for e in (*pack.entries, *pack.declines) for ex in e.examples for w in normalize(ex).split()}
        words |= {w for flag in pack.red_flags for w in flag.pattern_words() if len(w) >= 4}
        self._forms = [(form, _indices_of(self._candidates, pack.answering(form))) for form in pack.question_forms]
        # Sound-alikes become the pack's content words, never a command's word ('wait' is not 'weight').
        targets = {w for w in words if w not in STOPWORDS}
        # The red flags' own descriptions are the pack's words too, never repaired into another word:
        # 'i keep needing to pee' had become 'kneading', a massage's word, and lost its warning.
        words |= {w for flag in pack.red_flags for example in flag.examples for w in normalize(example).split()}
        words |= {w for phrases in COMMAND_PHRASES.values() for phrase in phrases for w in phrase.split()}
        self._speller = Speller(words, english_words() if known_words is None else known_words, targets,
                                STOPWORDS)
        self._symptoms = symptom_words(pack)
        self.meaning: MeaningScorer | None = None
        if encoder is not None and self.settings.semantic_weight > 0:
            phrasings = [(e.id, (*e.examples, *pack.learned("answer", e.id), e.title)) for e in pack.entries]
            phrasings += [(d.id, (*d.examples, *pack.learned("decline", d.id))) for d in pack.declines]
            commands = {intent: (*phrases, *(normalize(text) for text in pack.learned("command", intent)))
                        for intent, phrases in COMMAND_PHRASES.items()}
            self.meaning = MeaningScorer(pack, encoder, phrasings, cache_dir, model_key, commands)

    def prepare(self, texts: list[str]) -> None:
        """Embed several utterances in one batch before matching each (a recognizer's hypotheses)."""
        if self.meaning is not None:
            self.meaning.prepare([self._normalized(t)[0] for t in texts])

    def _normalized(self, text: str) -> tuple[str, tuple[int, ...]]:
        """The text normalized and spelled right, and where its clauses start."""
        return normalize_clauses(text, self.pack.confusions, self._speller.correct)

    def match(self, text: str) -> Match:
        normalized, clause_starts = self._normalized(text)
        if not normalized:
            return Match("decline", None, 0.0, normalized)
        supposed = supposed_spans(normalized, clause_starts)
        # An animal's symptoms are not a person's: never a warning, nor a question about the signs.
        animals = animal_spans(normalized, clause_starts)
        by_pattern = self._reported(find_red_flags(self.pack, normalized), animals)
        flags = self._reported(by_pattern, supposed)
        command = None if flags else match_command(normalized)
        if command is not None:
            return Match("command", command.intent, command.confidence, normalized)
        by_meaning: tuple[RedFlagHit, ...] = ()
        if not flags and self.meaning is not None:
            # Read past what is only supposed: the whole sentence reads likeliest as its supposition
            # ('if i lost my balance would that be bad also my arms feel like jelly').
            by_meaning = self._symptoms_by_meaning(
                normalized, [*with_consequences(normalized, supposed, clause_starts), *animals])
            flags = self._reported(by_meaning, supposed)
            if not flags and supposed:
                # Read all of it again only to tell a supposed red flag (the warning signs) from none.
                by_meaning = self._symptoms_by_meaning(normalized, animals)
        if not flags and (by_pattern or by_meaning) and self.pack.warning_signs:
            # Only supposed ('if i lost my balance would that be bad'): a question about the warning signs.
            return Match("answer", self.pack.warning_signs, 0.9, normalized, topic=self.pack.warning_signs)
        if not flags:
            out_of_scope = self._out_of_scope(normalized) or self._task(normalized)
            if out_of_scope is not None:
                return Match("decline", out_of_scope, 0.9, normalized)
        # Score what is left once the red-flag words are removed, so the
        # symptom itself does not pull in an unrelated topic.
        rest = without_spans(normalized, [hit.span for hit in flags]) if flags else normalized
        question = _the_question_after_a_reassurance(rest, self._symptoms, () if flags else clause_starts)
        scores, closeness = self._blend(question)
        ranked = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        best, second = ranked[0], ranked[1]
        margin = scores[best] - scores[second]
        confidence = scores[best] * (0.6 + 0.4 * min(1.0, margin / self.settings.margin_scale))
        confidence = round(max(0.0, min(1.0, confidence)), 3)
        top = self._candidates[best]
        if flags:
            # Answer the rest only if it asks something: "my back is spasming and I
            # can't feel my leg" is a report, and the warning is the whole reply.
            confident = confidence >= self.settings.topic_after_red_flag_threshold
            asks = _asks_something(normalized, [hit.span for hit in flags])
            topic = top.id if (confident and not top.is_decline and asks) else None
            return Match("red_flag", flags[0].flag_id, 1.0, normalized, flags, topic)
        # Another body part is another subject however sure the topic is ('a cold compress on a
        # sprained ankle' is the compresses' words through and through).
        elsewhere = self._names_a_rival(question) or (scores[best] < self.settings.sure_of_topic
                                                      and self._elsewhere(question))
        if not top.is_decline and elsewhere:
            # The same question about another subject ('what causes the flu'): not this article's.
            loose = self._command_in_other_words(normalized)
            if loose is not None:
                return Match("command", loose.intent, loose.confidence, normalized)
            return Match("decline", "off_topic", confidence, normalized)
        anchored = self._anchored(top, rest) or closeness[best] >= self.settings.semantic_anchor
        if confidence < self.settings.answer_threshold or top.is_decline or not anchored:
            # Not a question about a topic: maybe a command said in other words ('whoa, too fast').
            loose = self._command_in_other_words(normalized)
            if loose is not None:
                return Match("command", loose.intent, loose.confidence, normalized)
        if scores[best] >= self.settings.clarify_threshold and not anchored:
            # One incidental word ('best', 'funny') is not enough to answer on.
            return Match("decline", "off_topic", confidence, normalized)
        if confidence >= self.settings.answer_threshold:
            kind = "decline" if top.is_decline else "answer"
            return Match(kind, top.id, confidence, normalized, topic=None if top.is_decline else top.id)
        if scores[best] >= self.settings.clarify_threshold:
            runner = self._candidates[second]
            if not top.is_decline and not runner.is_decline:
                return Match("clarify", None, confidence, normalized, choices=(top.id, runner.id))
        return Match("decline", "off_topic", confidence, normalized)

    def _command_in_other_words(self, normalized: str) -> CommandMatch | None:
        """A command not in the phrase list: a telling word ('whoa, too fast'), or by meaning ('what
        was the one before that'), for a short utterance that is likeliest a command of all readings."""
        loose = match_command_loosely(normalized)
        if loose is not None or self.meaning is None or len(normalized.split()) > MAX_COMMAND_WORDS:
            return loose
        found = self.meaning.command(normalized, self.settings.command_closeness)
        # Ending the session on a guess loses the person: a farewell must be said plainly ('bye pain'
        # is a recognizer's 'my pain').
        if found is not None and found[0] != "goodbye" and found[1] >= self.settings.command_threshold:
            return CommandMatch(found[0], round(found[1], 3))
        return None

    def _reportable_by_meaning(self, text: str) -> frozenset[str] | None:
        """The red flags the text may report by likeness of meaning alone; None for every one.

        None at all when, longer than a few words, it names no one and no part of a body ('there was
        a leak downstairs in the kitchen' is the house's), or when it names a body part the article
        never speaks of and not the back ('my chest is sore from push ups'): there only a pattern's
        own words warn. A limb's part is still a limb, for a limb's warnings only ('my hand has no
        strength'; 'my knee hurts on the stairs' is no accident)."""
        if not names_someone(text) or any(s.rival_named(text, limbs=False) for s in self.pack.other_subjects):
            return frozenset()
        limbs = [subject for subject in self.pack.other_subjects if subject.rival_named(text)]
        return frozenset(flag for subject in limbs for flag in subject.limb_flags) if limbs else None

    def _names_a_rival(self, text: str) -> bool:
        return any(subject.rival_named(text) for subject in self.pack.other_subjects)

    def _elsewhere(self, question: str) -> bool:
        """Another subject than the pack's: the question does not name the pack's own decisively
        ('back spasm'; 'back' alone may be the back door's or the dog's), and the domain gate reads
        it as elsewhere. Sharing every word with the answers settles nothing: 'what do the kidneys
        do' and 'is a hot drink good for a cold' do."""
        if self.meaning is None or any(s.pattern.search(question) for s in self.pack.other_subjects if s.decisive):
            return False
        return self.meaning.elsewhere(question) >= self.settings.elsewhere_threshold

    @staticmethod
    def _reported(flags: tuple[RedFlagHit, ...] | list[RedFlagHit], passed_over: list[tuple[int, int]]
                  ) -> tuple[RedFlagHit, ...]:
        """The red flags that start outside ``passed_over``: reported, not only supposed ('if i lost my
        balance would that be bad'), and the person's own, not an animal's."""
        return tuple(hit for hit in flags if not is_supposed(hit.span, passed_over))

    def _symptoms_by_meaning(self, normalized: str, passed_over: Sequence[tuple[int, int]] = ()
                             ) -> tuple[RedFlagHit, ...]:
        """Red flags by meaning, reading no clause that starts inside ``passed_over``."""
        s = self.settings
        explained = explained_flags(self.pack, normalized)
        reports = self.meaning.reported_symptoms(normalized, s.symptom_threshold, s.symptom_closeness,
                                                 s.symptom_near, s.symptom_near_probability,
                                                 skip=lambda span: is_supposed(span, passed_over), explained=explained)
        allowed = self._reportable_by_meaning(normalized)
        # Likeliest first (the reports come so): the first is the one named and warned of first.
        return tuple(RedFlagHit(r.flag_id, self.pack.red_flag(r.flag_id).name, r.span, r.words, by_meaning=True)
                     for r in reports
                     if r.flag_id not in explained and (allowed is None or r.flag_id in allowed))

    def _blend(self, question: str) -> tuple[list[float], list[float]]:
        """Word scores blended with closeness of meaning; and the raw cosines (zeros without an encoder)."""
        words = self.scores(question)
        if self.meaning is None or not question.strip():
            return words, [0.0] * len(words)
        s = self.settings
        probabilities, cosines = self.meaning.topic_scores(question, s.semantic_sharpness)
        blended = (1.0 - s.semantic_weight) * np.asarray(words) + s.semantic_weight * probabilities
        return blended.tolist(), cosines.tolist()

    def scores(self, normalized: str) -> list[float]:
        """Word score of every candidate (entries, then declines) in 0..1.

        A blend of the best idf-weighted cosine between the question's content
        words and one example phrasing, and how much of the question's weight
        the candidate's vocabulary covers; then the question form's lift.
        """
        tokens = list(dict.fromkeys(_content_tokens(normalized)))
        if not tokens:
            return [0.0] * len(self._candidates)
        return self._lift_by_form(normalized, self._word_scores(tokens))

    def _lift_by_form(self, normalized: str, scores: list[float]) -> list[float]:
        """Entries the question's form asks for gain a little, if its words already fit them."""
        lifted: set[int] = set()
        for form, indices in self._forms:
            if form.asked_in(normalized):
                lifted |= indices
        bonus = self.settings.question_form_bonus
        return [min(1.0, score + bonus) if i in lifted and score > 0 else score for i, score in enumerate(scores)]

    def _word_scores(self, tokens: list[str]) -> list[float]:
        weights = {t: self._idf.get(t, self._unknown_idf) for t in tokens}
        total = sum(weights.values())
        query_norm = math.sqrt(sum(w * w for w in weights.values()))
        known = [t for t in tokens if t in self._idf]
        shared = np.zeros(len(self._example_norm))
        for token in known:
            rows = self._holders.get(token)
            if rows is not None:
                shared[rows] += weights[token] ** 2
        phrasing = np.zeros(len(self._candidates))
        np.maximum.at(phrasing, self._example_owner, shared / (query_norm * self._example_norm))
        phrasing_weight = self.settings.phrasing_weight
        result = []
        for candidate, best in zip(self._candidates, phrasing):
            covered = sum(weights[t] * candidate.weights.get(t, 0.0) for t in known)
            result.append(phrasing_weight * float(best) + (1 - phrasing_weight) * covered / total)
        return result

    def _anchored(self, candidate: _Candidate, normalized: str) -> bool:
        """True when the question names one of the candidate's keywords or closely follows an example."""
        tokens = set(_content_tokens(normalized))
        if any(candidate.weights.get(token) == 1.0 for token in tokens):
            return True
        return any(len(tokens & example) >= 2 for example in candidate.examples)

    def _out_of_scope(self, normalized: str) -> str | None:
        """The decline whose tell-tale phrase ('how often', 'what dose') the question asks: a phrase
        that is not a question itself ('a day') counts only after a question has begun, so 'i am on my
        laptop ten hours a day, what should i change' is not asking how long."""
        for pattern, ident in self._decline_phrases:
            for found in pattern.finditer(normalized):
                if _QUESTION_WORD.match(normalized, found.start()) or _QUESTION_WORD.search(normalized, 0, found.start()):
                    return ident
        return None

    def _task(self, normalized: str) -> str | None:
        """The decline of a request for a task ('set a timer for my ice pack', 'could you book me a
        massage'): it opens with one of that decline's verbs. Commands were heard before this."""
        opening = _OPENING.sub("", normalized).split(maxsplit=1)
        return self._task_openings.get(opening[0]) if opening else None

    def title(self, entry_id: str) -> str:
        return self.pack.entry(entry_id).title


def _asks_something(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a clause around the red-flag words starts as a question ('..., what causes it')."""
    edges = [0, *(edge for span in sorted(spans) for edge in span), len(text)]
    pieces = [text[edges[i]:edges[i + 1]] for i in range(0, len(edges), 2)]
    return any(_QUESTION.search(piece.strip()) for piece in pieces)


def _the_question_after_a_reassurance(text: str, symptoms: frozenset[str], clause_starts: tuple[int, ...] = ()
                                      ) -> str:
    """What follows a reassurance: in 'i can still feel my legs fine, what is causing this' the legs
    are not what is asked about (dev and holdout +1 each). It starts at the first clause after the
    reassurance's, or at the question if that comes first: 'no numbness, no weakness, | just a stiff
    sore lower back, what should i do for it' asks about the stiff back, which the question alone
    does not say. Else the text without what a negation denies ('i am not unsteady or anything
    sore is walking okay')."""
    denials = denial_spans(text, symptoms)
    spans = reassurance_spans(text) + denials
    if not spans:
        return text
    # A negation's scope stops at its clause: 'no weakness, | a stiff sore lower back' denies no back.
    last = max(min([s for s in clause_starts if start < s < end] + [end]) for start, end in spans)
    question = _QUESTION_WORD.search(text, last)
    starts = [start for start in clause_starts if start >= last] + ([question.start()] if question else [])
    if starts:
        return text[min(starts):]
    return without_spans(text, denials) or text


def _indices_of(candidates: list[_Candidate], ids: frozenset[str]) -> frozenset[int]:
    return frozenset(i for i, candidate in enumerate(candidates) if candidate.id in ids)


def _content_tokens(normalized: str) -> list[str]:
    return [stem(word) for word in normalized.split() if word not in STOPWORDS]


def _candidate(ident: str, is_decline: bool, examples: tuple[str, ...], keywords: tuple[str, ...],
               title: str) -> _Candidate:
    weights: dict[str, float] = {}
    for example in (*examples, title):
        for token in _content_tokens(normalize(example)):
            weights[token] = max(weights.get(token, 0.0), EXAMPLE_WORD_WEIGHT)
    for keyword in keywords:
        for token in _content_tokens(normalize(keyword)):
            weights[token] = 1.0
    raw = tuple(normalize(example) for example in examples)
    return _Candidate(ident, is_decline, tuple(frozenset(_content_tokens(ex)) for ex in raw), raw, weights)


__all__ = ["Match", "Matcher", "MatcherSettings"]
