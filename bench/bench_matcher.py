"""Typed accuracy per category on a labelled set, and match time per utterance.

Usage: python bench/bench_matcher.py [tests/data/dev_set.yaml] [--errors] [--json]

Prints a table (category, items, correct, accuracy), red-flag recall and false
alarms, and the median and p95 match time in milliseconds. Not a test: the
figures go to README and REPORT; the asserted thresholds live in tests/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_assistant.dialogue import Dialogue, DialogueState  # noqa: E402
from voice_assistant.knowledge import load_pack  # noqa: E402
from voice_assistant.nlu.matcher import Matcher  # noqa: E402


def is_correct(case: dict, kind: str, intent: str | None) -> bool:
    """Declines count when declined (any reason); everything else needs kind and intent."""
    if case["kind"] == "decline":
        return kind == "decline"
    return kind == case["kind"] and intent == case["intent"]


def evaluate(cases: list[dict], dialogue: Dialogue, repeats: int = 5) -> dict:
    rows: dict[str, list[int]] = {}
    errors = []
    times = []
    flags = {"true": 0, "missed": 0, "false_alarm": 0, "non_flag": 0}
    for case in cases:
        for _ in range(repeats):  # 0: accuracy only
            start = time.perf_counter()
            dialogue.matcher.match(case["text"])
            times.append((time.perf_counter() - start) * 1000)
        reply, _ = dialogue.step(DialogueState(), case["text"])
        ok = is_correct(case, reply.kind, reply.intent)
        rows.setdefault(case["category"], []).append(int(ok))
        if not ok:
            errors.append((case["category"], case["text"], f"{case['kind']}/{case['intent']}",
                           f"{reply.kind}/{reply.intent}", reply.confidence))
        expected_flag = case["kind"] == "red_flag"
        said_flag = reply.kind == "red_flag"
        if expected_flag:
            flags["true" if said_flag else "missed"] += 1
        else:
            flags["non_flag"] += 1
            flags["false_alarm"] += int(said_flag)
    total = sum(len(v) for v in rows.values())
    correct = sum(sum(v) for v in rows.values())
    times.sort()
    return {
        "categories": {name: {"items": len(v), "correct": sum(v), "accuracy": sum(v) / len(v)}
                       for name, v in sorted(rows.items())},
        "overall": {"items": total, "correct": correct, "accuracy": correct / total},
        "red_flag_recall": flags["true"] / max(1, flags["true"] + flags["missed"]),
        "red_flag_false_alarm_rate": flags["false_alarm"] / max(1, flags["non_flag"]),
        "match_ms_median": statistics.median(times) if times else None,
        "match_ms_p95": times[int(0.95 * (len(times) - 1))] if times else None,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default=str(ROOT / "tests" / "data" / "dev_set.yaml"))
    parser.add_argument("--knowledge", default=None)
    parser.add_argument("--errors", action="store_true", help="list the utterances that went wrong")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = yaml.safe_load(Path(args.cases).read_text(encoding="utf-8"))
    result = evaluate(cases, Dialogue(Matcher(load_pack(args.knowledge))))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "errors"}, indent=2))
        return 0
    print(f"{'category':<12} {'items':>5} {'correct':>7} {'accuracy':>8}")
    for name, row in result["categories"].items():
        print(f"{name:<12} {row['items']:>5} {row['correct']:>7} {row['accuracy']:>8.1%}")
    overall = result["overall"]
    print(f"{'overall':<12} {overall['items']:>5} {overall['correct']:>7} {overall['accuracy']:>8.1%}")
    print(f"red-flag recall {result['red_flag_recall']:.1%}, "
          f"false alarms {result['red_flag_false_alarm_rate']:.1%}")
    print(f"match time per utterance: median {result['match_ms_median']:.3f} ms, "
          f"p95 {result['match_ms_p95']:.3f} ms")
    if args.errors:
        for category, text, expected, got, confidence in result["errors"]:
            print(f"  [{category}] {text!r}: expected {expected}, got {got} ({confidence:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
