"""Negation by scope, whatever the symptom's words (after NegEx): what a "not" denies.

A negating word denies what follows it up to the end of its clause. Two kinds of
negation are told apart by the word they govern: a negated ability or normal
function is the symptom itself ('I can not feel my leg', 'no strength', 'not
able to control my bladder'); a negated symptom or problem is a denial ('I have
not lost my balance', 'no blood in my pee', 'I did not fall'). Pure functions
over normalized text; the symptom words come from the pack's red flags.
"""

from __future__ import annotations

import re
from functools import lru_cache

from voice_assistant.knowledge import KnowledgePack

HEDGES = re.compile(r"\b(not sure|do not know|do not think|did not think|can not tell|not certain|unsure|"
                     r"maybe|might|i think|i feel like|worried|afraid|scared)\b")

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
    if HEDGES.search(normalized):
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


def denied(span: tuple[int, int], denials: list[tuple[int, int]]) -> bool:
    """A red flag is denied when a denial starts before its end and reaches its end: 'not [lost my
    balance]', and a pattern that starts further back ('^...i do not have gallstones')."""
    return any(d_start < span[1] <= d_end for d_start, d_end in denials)


__all__ = ["HEDGES", "denial_spans", "denied", "symptom_words"]
