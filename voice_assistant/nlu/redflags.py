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
from itertools import zip_longest

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.negation import HEDGES, denial_spans, denied, symptom_words

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


@dataclass(frozen=True)
class RedFlagHit:
    """A red-flag symptom found in the text, with the words that matched."""

    flag_id: str
    name: str
    span: tuple[int, int]
    words: str
    #: Found by closeness of meaning, not by a pattern's own words.
    by_meaning: bool = False


def fine_spans(normalized: str) -> list[tuple[int, int]]:
    """Where the text says plainly that a body part or function is fine ('my balance is fine')."""
    if HEDGES.search(normalized) or _TURN.search(normalized):
        return []
    return [m.span() for m in _FINE.finditer(normalized)]


def _absence_spans(normalized: str) -> list[tuple[int, int]]:
    """Where the text plainly says a symptom is absent ('no numbness', 'I can still feel my legs');
    none when it hedges."""
    return [] if HEDGES.search(normalized) else [m.span() for m in _REASSURANCE.finditer(normalized)]


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
                if any(overlaps(match.span(), span) for span in reassured) or denied(match.span(), denials):
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
                          or denied(found.span(), denials)):
                explained.add(flag.id)
    return frozenset(explained)


#: An animal as the one a clause speaks of ('my dog got hit by a car', 'the cat fell off the balcony'):
#: its symptoms are not a person's, and the article is about people. 'I tripped over the dog and can
#: not feel my leg' is still the speaker's.
_ANIMAL_SUBJECT = re.compile(r"\b(my|our|the|his|her|their|a)\s(\w+\s)?(dog|cat|puppy|kitten|horse|pony|pet|"
                             r"rabbit|hamster|bird|budgie|parrot|guinea pig|goat|sheep|cow)s?\b")
_CLAUSE_OPENING = re.compile(r"(?:^|\b(?:and|but|so|because|then|also)\s)")


def animal_spans(normalized: str, clause_starts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Spans of clauses that open on an animal: from it to the clause's end (the next mark or
    joining word, or the end of the text)."""
    spans = []
    for found in _ANIMAL_SUBJECT.finditer(normalized):
        opening = [m.end() for m in _CLAUSE_OPENING.finditer(normalized, 0, found.start() + 1)]
        opening += [start for start in clause_starts if start <= found.start()]
        if max(opening, default=-1) != found.start():
            continue  # not the clause's subject ('i tripped over the dog')
        ends = [start for start in clause_starts if start > found.start()]
        ends += [m.start() for m in _CLAUSE_OPENING.finditer(normalized, found.end()) if m.start() > found.end()]
        spans.append((found.start(), min(ends, default=len(normalized))))
    return spans


# Whose body: a person, or a part or function of a body. A report longer than a few words names
# one ('there was a leak downstairs in the kitchen' is the house's); a terse one may not ('keep
# falling over', 'cannot stay upright').
_SOMEONE = re.compile(r"\b(i|im|me|my|mine|myself|we|us|our|he|him|his|she|her|they|them|their|you|your|someone|"
                      r"somebody|body|back|spine|legs?|arms?|foot|feet|hands?|side|face|bladder|bowels?|pee|wee|"
                      r"urine|poo|poop|stool|toilet|loo|kidneys?|gallstones?|gallbladder|ribs?|groin|belly|tummy|"
                      r"stomach|hips?|thighs?|knees?|toes?|fingers?)\b")
TERSE_REPORT_WORDS = 4


def names_someone(normalized: str) -> bool:
    """Whether the text could report a body's symptom: it names a person or a part of a body, or it
    is too terse to need to."""
    return len(normalized.split()) <= TERSE_REPORT_WORDS or bool(_SOMEONE.search(normalized))


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
