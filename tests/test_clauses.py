"""Clauses survive normalization (nlu/normalize.py) and bound what a supposition covers
(nlu/hypothetical.py): arithmetic on character offsets."""

from __future__ import annotations

from voice_assistant.nlu.hypothetical import supposed_spans, with_consequences
from voice_assistant.nlu.normalize import normalize, normalize_clauses


def test_clauses_are_normalized_one_by_one_and_their_starts_kept():
    text, starts = normalize_clauses("What if my legs went weak, um, anyway my left side has gone numb.")
    assert text == "what if my legs went weak my left side has gone numb"
    assert starts == (text.index("my left"),)           # the filler-only clause leaves no start
    assert normalize_clauses("it's 1.5 times worse") == (normalize("it's 1.5 times worse"), ())


def test_a_supposition_ends_at_its_consequence_or_the_next_clause():
    text = "what if my legs went weak my left side has gone numb"
    assert supposed_spans(text) == [(0, len(text))]          # no mark: to the end, as before
    assert supposed_spans(text, (26,)) == [(0, 26)]
    asked = "if i lost my balance would that be bad also my arms feel like jelly"
    consequence = asked.index("would")
    assert supposed_spans(asked, (39,)) == [(0, consequence)]
    # What is read past when looking for a report: the supposition and the rest of its clause.
    assert with_consequences([(0, consequence)], (39,), len(asked)) == [(0, 39)]
    assert with_consequences([(0, consequence)], (), len(asked)) == [(0, len(asked))]
