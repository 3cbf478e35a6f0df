"""Schema and content checks over every shipped knowledge pack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from voice_assistant.knowledge import DEFAULT_PACK, load_pack

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "knowledge").glob("*.yaml"))
ARTICLE = ROOT / "knowledge" / "sources" / "back-muscle-spasm-article.txt"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_pack_loads_and_follows_schema(path):
    pack = load_pack(path)
    assert pack.entries and pack.red_flags
    for entry in pack.entries:
        assert entry.source and entry.examples and entry.chunks
        for chunk in entry.chunks:
            # Short chunks are easier to follow by ear.
            assert len(chunk.split()) <= 60, (entry.id, chunk)


def test_default_pack_is_the_shipped_file():
    assert DEFAULT_PACK.resolve() == (ROOT / "knowledge" / "back_spasm.yaml").resolve()


def test_pack_covers_every_article_section(pack):
    ids = {entry.id for entry in pack.entries}
    required = {"about_spasm", "about_women", "causes_overview", "cause_exertion", "cause_injury", "cause_posture",
                "cause_weak_back_muscles", "cause_weak_abdominal_muscles", "cause_spine_problems",
                "cause_emergency_conditions", "cause_nerve_disorders", "relief_overview", "relief_compresses",
                "relief_exercise", "relief_painkillers", "relief_shoes", "relief_massage", "relief_habits",
                "symptoms", "red_flags", "when_to_see_doctor", "outlook", "disclaimer"}
    assert required <= ids
    relief = [entry.id for entry in pack.group_of("relief_overview")]
    assert relief == ["relief_overview", "relief_compresses", "relief_exercise", "relief_painkillers",
                      "relief_shoes", "relief_massage", "relief_habits"], "relief steps keep the article's order"
    # The article's five severity symptoms, and its two emergency conditions (each with its own warning).
    assert {flag.id for flag in pack.red_flags} == {"one_sided_numbness", "loss_of_balance",
                                                    "bladder_or_bowel_control", "loss_of_feeling_in_limb",
                                                    "limb_weakness", "possible_gallstones_or_kidney",
                                                    "severe_pain_after_accident"}
    warnings = {flag.id: flag.warning for flag in pack.red_flags if flag.warning}
    assert set(warnings) == {"possible_gallstones_or_kidney", "severe_pain_after_accident"}
    assert warnings["possible_gallstones_or_kidney"].startswith("This may need the emergency room")
    assert warnings["severe_pain_after_accident"].startswith("See a doctor straight away")


def test_no_sentence_is_copied_from_the_article(pack):
    article = " ".join(_words(ARTICLE.read_text(encoding="utf-8")))
    spoken = [chunk for entry in pack.entries for chunk in entry.chunks]
    spoken += [pack.disclaimer, pack.greeting, pack.welcome, pack.emergency, *(d.answer for d in pack.declines)]
    spoken += [flag.warning for flag in pack.red_flags if flag.warning]
    for text in spoken:
        words = _words(text)
        for start in range(len(words) - 7):
            run = " ".join(words[start:start + 8])
            assert run not in article, f"eight words copied from the article: {run!r}"


def test_other_subjects_are_nothing_the_article_speaks_of(pack):
    """A subject the domain gate learns as elsewhere must not be one of the article's own (its symptoms
    name the head, neck, shoulders, arms, legs...): the gate would learn to turn its questions away."""
    article = set(_words(ARTICLE.read_text(encoding="utf-8")))
    others = [(subject, other) for subject in pack.other_subjects for other in subject.others]
    assert len(others) >= 20
    for subject, other in others:
        # Whose it is may be what differs ('my dog's back'): the subject's own words are not counted.
        named = [w for w in _words(subject.pattern.sub(" ", other)) if w not in {"a", "an", "the", "my", "s"}]
        assert not [w for w in named if w in article or w.rstrip("s") in article], other


def test_the_subject_in_other_words_is_never_also_another_subject(pack):
    for subject in pack.other_subjects:
        assert not set(subject.same) & set(subject.others), subject.pattern.pattern
        for same in subject.same:                 # each still names the pack's subject, or stands for it
            assert same in {"it", "this"} or subject.pattern.search(same), same


def test_answers_add_no_doses_durations_or_drug_names(pack):
    # The article gives no doses or durations ("long hours" and "several weeks" are its own vague words).
    forbidden = re.compile(r"\d|\b(mg|milligrams?|minutes?|days?|ibuprofen|paracetamol|aspirin|naproxen|"
                           r"tylenol|advil|yoga|stretch\w*|surgery)\b|\b(one|two|three|four|five|six|a few|"
                           r"an|a)\s(hours?|weeks?|months?)\b", re.IGNORECASE)
    for entry in pack.entries:
        for chunk in entry.chunks:
            assert not forbidden.search(chunk), (entry.id, chunk)


def test_red_flag_examples_trigger_their_own_flag(matcher, pack):
    for flag in pack.red_flags:
        for example in flag.examples:
            match = matcher.match(example)
            assert match.kind == "red_flag" and flag.id in {hit.flag_id for hit in match.red_flags}, example


def test_phrasings_are_learned_from_and_share_nothing_with_a_test_set(pack):
    """The labelled phrasings are training data: every test set must stay unseen by them, or a score on
    it would be a score on what the matcher learned from."""
    assert len(pack.phrasings) >= 1000 and {p.kind for p in pack.phrasings} >= {"answer", "red_flag", "decline"}

    def key(text: str) -> str:
        return " ".join(_words(text))

    learned = {key(p.text) for p in pack.phrasings}
    for path in sorted((ROOT / "tests" / "data").glob("*.yaml")):
        shared = learned & {key(case["text"]) for case in yaml.safe_load(path.read_text(encoding="utf-8"))
                            if isinstance(case, dict) and "text" in case}
        assert not shared, (path.name, sorted(shared)[:5])
