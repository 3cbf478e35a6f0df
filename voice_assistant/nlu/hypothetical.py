"""What a sentence only supposes: a symptom in a hypothetical is asked about, not reported.

"If I lost my balance, would that be bad?" names a red flag without reporting it, and the
answer it wants is the warning signs (which themselves say to get help if you have one).
A supposition is marked by 'what if', 'suppose', 'imagine', 'hypothetically', 'if I ever', or a
sentence that opens with 'say'; a plain 'if' (or 'in case') supposes only with the 'would' of an
unreal condition, so "if I stand up I lose my balance, what do I do" (what happens to me) still warns.
The supposition runs from its marker to the end of its clause: the consequence ('would that be
bad'), a new question, the next clause (where a comma or stop was), or the end.
"""

from __future__ import annotations

import re

_ALWAYS = r"what if|suppose|supposing|imagine|hypothetically|^say|if (?:i|you|we|he|she|they) ever"
_WITH_WOULD = r"if|in case"
_MARKER = re.compile(rf"(?:{_ALWAYS})\b|\b(?P<plain>{_WITH_WOULD})\b")
_WOULD = re.compile(r"\b(would|wud)\b")
# Where the supposed part ends: its consequence, or a question of its own.
_CONSEQUENCE = re.compile(r"\b(would|should|is that|is it|does that|what|how|do i|could that|will that)\b")


def supposed_spans(normalized: str, clause_starts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Character spans of ``normalized`` text that only suppose something; a supposition also ends
    where the next clause starts (``clause_starts``: 'what if my legs went weak, | anyway my left
    side has gone numb' reports the numbness)."""
    spans = []
    for marker in _MARKER.finditer(normalized):
        if marker.group("plain") and not _WOULD.search(normalized):
            continue
        found = _CONSEQUENCE.search(normalized, marker.end())
        # A mark ends it only once it has supposed something: 'what if, hypothetically, i lost my
        # balance' and 'if i, um, lost my balance' run on past their first comma.
        ends = [s for s in clause_starts if len(_MARKER.sub(" ", normalized[marker.end():s]).split()) >= 2]
        spans.append((marker.start(), min([found.start() if found else len(normalized), *ends])))
    return spans


def with_consequences(normalized: str, spans: list[tuple[int, int]], clause_starts: tuple[int, ...]
                      ) -> list[tuple[int, int]]:
    """Each supposition that ends at its consequence, with the rest of that clause ('would that be
    bad' says nothing of its own): what is read past when looking for what the sentence reports.
    One that ends where a new clause starts keeps its span."""
    extended = []
    for start, end in spans:
        if _CONSEQUENCE.match(normalized, end):
            end = min([s for s in clause_starts if s > end] or [len(normalized)])
        extended.append((start, end))
    return extended


def supposed(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """Whether the words at ``span`` lie in a supposition (they start inside one)."""
    return any(start <= span[0] < end for start, end in spans)


__all__ = ["supposed", "supposed_spans", "with_consequences"]
