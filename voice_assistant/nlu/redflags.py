"""Find red-flag symptoms anywhere in an utterance, before anything else is matched.

Policy for negation (when in doubt, warn): a red-flag phrase is ignored only
when the person plainly says they do *not* have it ("no numbness in my legs",
"my legs are not weak", "I can still feel my legs"). Hedged or double
negations ("I don't think I can feel my leg", "I'm not sure I can hold my
bladder") still warn, because a missed emergency costs far more than an extra
warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import zip_longest

from voice_assistant.knowledge import KnowledgePack

# Plain statements that a symptom is absent. They cancel a red-flag match only
# if they overlap it, so "no numbness but I can't feel my leg" still warns.
_REASSURANCE = re.compile(
    r"\b(no|not|never|without|not any|no more|none of)\s(\w+\s){0,2}?"
    r"(numb|numbness|weak|weakness|tingling|problem|problems|trouble|issue|issues|loss|leaking|accidents?|"
    r"blood|bleeding)\b"
    r"|\b(can|could|am able to)\s(still\s)?(?!(not|barely|hardly|scarcely|no|never)\b)(\w+\s)?(feel|move|control|hold|walk|keep|stand)\b"
    r"|\b(is|are|was|were|feel|feels)\s(not|never)\s(\w+\s)?(numb|weak|dead)\b"
)
# "My balance is fine": cancels only a red flag that ends within it ('my balance'), never one
# that goes on ('my legs are fine but numb'), and not at all when the sentence turns ('but',
# 'except'), since what follows may be the symptom ('my balance is fine but i keep falling').
_FINE = re.compile(r"\b(balance|leg|legs|arm|arms|feeling|bladder|bowels?)\s(is|are|feels?|seems?)\s(still\s)?(as\s)?"
                   r"(fine|normal|good|alright|all right|strong|steady)\b")
_TURN = re.compile(r"\b(but|except|though|although|however|yet|apart from|other than|just)\b")
_HEDGES = re.compile(r"\b(not sure|do not know|do not think|did not think|can not tell|not certain|unsure|"
                     r"maybe|might|i think|i feel like|worried|afraid|scared)\b")


# Negation by scope, whatever the symptom's words (after NegEx): a negating word denies what
# follows it up to the end of its clause. Two kinds of negation are told apart by the word they
# govern: a negated ability or normal function is the symptom itself ('I can not feel my leg', 'no
# strength', 'not able to control my bladder'), a negated anything else is a denial ('I have not
# lost my balance', 'no blood in my pee', 'I did not fall').
_NEGATORS = frozenset({"no", "not", "never", "without", "nothing", "none", "neither", "nor", "nobody"})
_ABILITIES = frozenset({
    "feel", "feeling", "feelings", "sensation", "sense", "strength", "power", "control", "controlling", "move",
    "moving", "hold", "holding", "lift", "lifting", "grip", "walk", "walking", "stand", "standing", "keep",
    "keeping", "stay", "staying", "use", "make", "tell", "pee", "peed", "peeing", "wee", "urinate", "go",
    "able", "unable", "balance", "coordination",
})
# Words between a negation and the word it governs ('not been able to', 'no longer', 'not even').
_AUXILIARIES = frozenset({"be", "been", "being", "to", "have", "had", "has", "do", "does", "did", "any", "really",
                          "even", "ever", "quite", "much", "very", "too", "a", "the", "more", "all", "at", "longer",
                          "get", "got", "seem", "seems", "properly", "always", "still"})
# A new clause starts at a joining word, a new subject, or a second verb ('nothing helps | my leg is
# numb'); without punctuation (speech has none) these are what is left of the comma.
_CLAUSE_JOINS = frozenset({"but", "though", "although", "however", "yet", "except", "apart", "other", "now",
                           "since", "because", "so", "then", "when", "while", "until", "after", "before",
                           "what", "how", "why", "where", "should", "can", "could", "is it", "do", "does"})
_SUBJECTS = frozenset({"i", "it", "he", "she", "we", "they", "you", "there"})
_PREDICATES = frozenset({"is", "are", "was", "were", "feels", "feel", "felt", "went", "goes", "gone", "has",
                         "keeps", "seems", "started", "gave", "give", "giving"})
_SCOPE_WORDS = 8
_COPULAS = frozenset({"is", "are", "am", "was", "were"})  # 'nothing is numb': the scope decides
# 'no' before a subject or possessive is an answer ('no, my leg is numb'), not a negation of it.
_ANSWER_NO_BEFORE = frozenset({"i", "my", "it", "the", "this", "that", "he", "she", "we", "they", "you", "there",
                               "but", "and", "wait", "no", "actually", "now"})
_PSEUDO_NEGATIONS = frozenset({("not", "only"), ("no", "idea"), ("no", "matter"), ("not", "sure"),
                               ("no", "way")})


# Words the red flags' patterns name that say nothing of a symptom on their own.
_NOT_SYMPTOMS = frozenset({"that", "with", "have", "when", "could", "from", "came", "come", "down", "over", "going",
                           "know", "place", "became", "cannot", "hard", "left", "right", "whole", "half", "side",
                           "body", "face", "went", "gone", "gave", "give", "giving", "feels", "keeps", "kept", "myself"})
_PROBLEMS = frozenset({"problem", "problems", "trouble", "issue", "issues", "wrong", "sign", "signs", "symptom",
                       "symptoms", "accident", "accidents", "injury", "injuries", "changes", "change"})


def symptom_words(pack: KnowledgePack) -> frozenset[str]:
    """Words that name a red-flag symptom or a problem: what a negation must govern to deny one."""
    return _symptom_words(pack.red_flags)


@lru_cache(maxsize=8)
def _symptom_words(red_flags: tuple) -> frozenset[str]:
    named = {word for flag in red_flags for word in flag.pattern_words() if len(word) >= 3}
    return frozenset(named - _NOT_SYMPTOMS - _ABILITIES) | _PROBLEMS


def denial_spans(normalized: str, symptoms: frozenset[str]) -> list[tuple[int, int]]:
    """Character spans that a negation denies: from the negating word to the end of its scope.

    A negation denies only when the word it governs names a symptom or a problem (``symptoms``):
    'i have not lost my balance' -> 'not lost my balance'; 'i can not feel my leg' -> nothing (a
    negated ability is the symptom); 'my leg is not mine any more' -> nothing (not a symptom's
    word); 'no my leg is numb' -> nothing (an answer 'no'); none at all when the text hedges.
    """
    if _HEDGES.search(normalized):
        return []
    words = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", normalized)]
    spans = []
    negated_ability_at = -10
    for i, (word, start, _) in enumerate(words):
        if word not in _NEGATORS:
            continue
        following = [w for w, _, _ in words[i + 1:]]
        if (word, following[0] if following else "") in _PSEUDO_NEGATIONS:
            continue
        if word == "no" and (not following or following[0] in _ANSWER_NO_BEFORE):
            continue
        governed = next((w for w in following if w not in _AUXILIARIES), "")
        if governed in _ABILITIES:
            negated_ability_at = i
            continue
        if word == "without" and i - negated_ability_at <= _SCOPE_WORDS:
            continue  # 'I can not walk without losing my balance': the two negations make a symptom
        if governed not in symptoms and governed not in _COPULAS:
            continue
        end, named = words[i][2], governed in symptoms
        for j in range(i + 1, min(len(words), i + 1 + _SCOPE_WORDS)):
            w = words[j][0]
            if w in _CLAUSE_JOINS or w in _SUBJECTS or (w in _PREDICATES and j > i + 1) or w in _NEGATORS:
                break
            if w == "and" and j + 1 < len(words) and words[j + 1][0] in _SUBJECTS | {"my", "now", "then"}:
                break
            end, named = words[j][2], named or w in symptoms
        if named:
            spans.append((start, end))
    return spans


def _denied(span: tuple[int, int], denials: list[tuple[int, int]]) -> bool:
    """A red flag is denied when a denial starts before its end and reaches its end: 'not [lost my
    balance]', and a pattern that starts further back ('^...i do not have gallstones')."""
    return any(d_start < span[1] <= d_end for d_start, d_end in denials)


@dataclass(frozen=True)
class RedFlagHit:
    """A red-flag symptom found in the text, with the words that matched."""

    flag_id: str
    name: str
    span: tuple[int, int]
    words: str


def fine_spans(normalized: str) -> list[tuple[int, int]]:
    """Where the text says plainly that a body part or function is fine ('my balance is fine')."""
    if _HEDGES.search(normalized) or _TURN.search(normalized):
        return []
    return [m.span() for m in _FINE.finditer(normalized)]


def _absence_spans(normalized: str) -> list[tuple[int, int]]:
    """Where the text plainly says a symptom is absent ('no numbness', 'I can still feel my legs');
    none when it hedges."""
    return [] if _HEDGES.search(normalized) else [m.span() for m in _REASSURANCE.finditer(normalized)]


def reassurance_spans(normalized: str) -> list[tuple[int, int]]:
    """Where the text says a symptom is absent or a body part is fine ('my balance is fine')."""
    return sorted(_absence_spans(normalized) + fine_spans(normalized))


def find_red_flags(pack: KnowledgePack, normalized: str) -> tuple[RedFlagHit, ...]:
    """All red flags mentioned in ``normalized`` text, in order of appearance."""
    reassured = _absence_spans(normalized)
    fine = fine_spans(normalized)
    denials = denial_spans(normalized, symptom_words(pack))
    hits: list[RedFlagHit] = []
    for flag in pack.red_flags:
        for pattern, unless in zip_longest(flag.patterns, flag.exceptions):  # no exceptions: all None
            if unless is not None and unless.search(normalized):
                continue
            for match in pattern.finditer(normalized):
                if any(overlaps(match.span(), span) for span in reassured) or _denied(match.span(), denials):
                    continue
                if any(overlaps(match.span(), span) and match.end() <= span[1] for span in fine):
                    continue
                hits.append(RedFlagHit(flag.id, flag.name, match.span(), match.group(0)))
                break
            else:
                continue
            break
    return tuple(sorted(hits, key=lambda hit: hit.span))


def explained_flags(pack: KnowledgePack, normalized: str) -> frozenset[str]:
    """Flags whose words are in the text but which the text itself explains away: a pattern's
    'unless' ('the pain goes down the right side of my body') or a plain reassurance. Meaning
    alone must not raise them again; the pack's author has said what that wording means."""
    reassured = _absence_spans(normalized) + fine_spans(normalized)
    denials = denial_spans(normalized, symptom_words(pack))
    explained = set()
    for flag in pack.red_flags:
        for pattern, unless in zip_longest(flag.patterns, flag.exceptions):
            found = pattern.search(normalized)
            if found and ((unless is not None and unless.search(normalized))
                          or any(overlaps(found.span(), span) for span in reassured)
                          or _denied(found.span(), denials)):
                explained.add(flag.id)
    return frozenset(explained)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
