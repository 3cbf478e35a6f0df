"""Clauses survive normalization (nlu/normalize.py) and bound what a supposition covers
(nlu/hypothetical.py): arithmetic on character offsets."""

from __future__ import annotations

import pytest

from voice_assistant.nlu.hypothetical import supposed_spans, with_consequences
from voice_assistant.nlu.normalize import MAX_CHARS, normalize, normalize_clauses
from voice_assistant.nlu.redflags import animal_spans


def test_clauses_are_normalized_one_by_one_and_their_starts_kept():
    text, starts = normalize_clauses("What if my legs went weak, um, anyway my left side has gone numb.")
    assert text == "what if my legs went weak my left side has gone numb"
    assert starts == (text.index("my left"),)           # the filler-only clause leaves no start
    assert normalize_clauses("it's 1.5 times worse") == (normalize("it's 1.5 times worse"), ())
    assert normalize_clauses("um, like, okay.") == ("", ())
    assert normalize_clauses("") == ("", ())
    assert normalize_clauses("my leg\uff0c it is numb")[1] == (len("my leg "),)   # a full-width comma too


def test_a_clause_put_right_changes_length_and_the_starts_follow():
    text, starts = normalize_clauses("mass age, my leg is numb", correct=lambda c: c.replace("mass age", "massage"))
    assert text == "massage my leg is numb" and starts == (len("massage "),)


def test_a_long_text_is_cut_as_before():
    text, _ = normalize_clauses("spasm, " * MAX_CHARS)
    assert len(text) <= MAX_CHARS


@pytest.mark.parametrize("written, ends_after", [
    ("what if my legs went weak, anyway my left side has gone numb", "what if my legs went weak"),
    ("what if, hypothetically, i lost my balance", "what if hypothetically i lost my balance"),
    ("if i, um, lost my balance, would that be bad", "if i lost my balance"),
    ("what if one side of my body went numb would that be bad", "what if one side of my body went numb"),
])
def test_a_supposition_ends_at_its_consequence_or_a_clause_that_follows_what_it_supposed(written, ends_after):
    text, starts = normalize_clauses(written)
    start, end = supposed_spans(text, starts)[0]          # 'what if, hypothetically' marks it twice
    assert text[start:end].strip() == ends_after


def test_what_is_read_past_is_the_supposition_and_its_consequence_clause():
    text, starts = normalize_clauses("if i lost my balance would that be bad, also my arms feel like jelly")
    supposed = supposed_spans(text, starts)
    assert supposed == [(0, text.index("would"))]
    assert with_consequences(text, supposed, starts) == [(0, starts[0])]
    assert with_consequences(text, supposed, ()) == [(0, len(text))]             # no marks: to the end
    # A supposition that a new clause ends has no consequence in it to read past.
    text, starts = normalize_clauses("what if my legs went weak, also my arms feel like jelly")
    assert with_consequences(text, supposed_spans(text, starts), starts) == [(0, starts[0])]


def test_an_animal_s_clause_runs_from_it_to_the_next_mark_or_joining_word():
    text = "my dog got hit by a car and i can not feel my leg"
    assert animal_spans(text) == [(0, text.index("and i"))]
    text, starts = normalize_clauses("My cat fell, I fell too")
    assert animal_spans(text, starts) == [(0, starts[0])]
    assert animal_spans("i tripped over the dog") == []            # the dog is not who the clause is about
    assert animal_spans("so the old horse went lame") == [(3, len("so the old horse went lame"))]
