"""Tune the matcher's blend of word and meaning scores on the dev set (never on a blind set).

Usage: python bench/sweep_matcher.py [--set tests/data/dev_set.yaml] [--grid NAME=V1,V2 ...]

Each grid point prints overall accuracy, red-flag recall and false alarms on
the set. Embeddings are computed once per text and shared by every grid point.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_matcher import evaluate  # noqa: E402
from voice_assistant.dialogue import Dialogue  # noqa: E402
from voice_assistant.knowledge import load_pack  # noqa: E402
from voice_assistant.nlu.encoder import SentenceEncoder, installed_package_model  # noqa: E402
from voice_assistant.nlu.matcher import Matcher, MatcherSettings  # noqa: E402


class CachingEncoder:
    """The real encoder, remembering every text it has embedded (grid points share them)."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder, self.dimension, self.seen = encoder, encoder.dimension, {}

    def encode(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.encoder.encode(new)))
        return np.stack([self.seen[t] for t in texts]) if texts else self.encoder.encode([])

    def encode_spans(self, text, spans):
        # As the matcher gets them when it runs: clauses pooled from one pass, not embedded apart.
        key = (text, tuple(spans))
        if key not in self.seen:
            self.seen[key] = self.encoder.encode_spans(text, spans)
        return self.seen[key]


def meaning_alone(pack, encoder, sets) -> int:
    """Top candidate by the nearest phrasing against by the classifier, for answer and decline questions."""
    from voice_assistant.nlu.normalize import normalize

    matcher = Matcher(pack, encoder=encoder)
    meaning = matcher.meaning
    ids = [candidate.id for candidate in matcher._candidates]  # noqa: SLF001 - a benchmark's look inside
    declines = {decline.id for decline in pack.declines}
    for name, cases in sets.items():
        asked = [case for case in cases if case["kind"] in ("answer", "decline")]
        right = {"nearest phrasing": 0, "classifier": 0}
        for case in asked:
            probabilities, cosines = meaning.topic_scores(normalize(case["text"], pack.confusions))
            for method, scores in (("nearest phrasing", cosines), ("classifier", probabilities)):
                got = ids[int(np.argmax(scores))]
                right[method] += got in declines if case["kind"] == "decline" else got == case["intent"]
        print(f"{name}: {len(asked)} questions; " + ", ".join(f"{m} {n / len(asked):.1%}" for m, n in right.items()))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="+", default=[str(ROOT / "tests" / "data" / f"{name}.yaml") for name in
                                                      ("dev_set", "dev_paraphrases", "tuning_set_2")])
    parser.add_argument("--grid", nargs="*", default=[], help="setting=v1,v2 (MatcherSettings fields)")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--meaning-alone", action="store_true",
                        help="compare the nearest phrasing with the classifier, meaning alone, on answer questions")
    args = parser.parse_args()
    if any("blind" in Path(name).name for name in args.set):
        parser.error("blind sets are scored once, by bench/bench_matcher.py, never swept")
    sets = {Path(name).stem: yaml.safe_load(Path(name).read_text(encoding="utf-8")) for name in args.set}
    pack = load_pack()
    encoder = CachingEncoder(SentenceEncoder(installed_package_model()))
    if args.meaning_alone:
        return meaning_alone(pack, encoder, sets)
    names = {f.name for f in fields(MatcherSettings)}
    axes = []
    for item in args.grid:
        name, values = item.split("=")
        if name not in names:
            parser.error(f"no setting {name}")
        kind = int if name == "semantic_top" else float
        axes.append([(name, kind(v)) for v in values.split(",")])
    for point in itertools.product(*axes) if axes else [()]:
        settings = replace(MatcherSettings(), **dict(point))
        dialogue = Dialogue(Matcher(pack, settings, encoder=encoder))
        label = " ".join(f"{k}={v:g}" for k, v in point) or "defaults"
        figures, right, total = [], 0, 0
        for name, cases in sets.items():
            result = evaluate(cases, dialogue, repeats=0)
            right += result["overall"]["correct"]
            total += result["overall"]["items"]
            figures.append(f"{name} {result['overall']['accuracy']:6.1%} (flags {result['red_flag_recall']:5.1%}, "
                           f"false {result['red_flag_false_alarm_rate']:4.1%})")
            if args.errors:
                for category, text, expected, got, confidence in result["errors"]:
                    print(f"  [{name}/{category}] {text!r}: expected {expected}, got {got} ({confidence:.2f})")
        print(f"{label:<58} all {right / total:6.1%}  " + "  ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
