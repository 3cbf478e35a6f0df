"""Typed accuracy per category on a labelled set, and match time per utterance.

Usage: python bench/bench_matcher.py [tests/data/dev_set.yaml] [--errors] [--json] [--words-only]
       python bench/bench_matcher.py --suite [--json]

Prints a table (category, items, correct, accuracy), red-flag recall (per symptom kind)
and false alarms, out-of-domain requests answered with a topic or a warning, and the
median and p95 match time in milliseconds. Match time is that of an utterance never
seen before (its embedding not cached). ``--suite`` scores every set (dev, the tuning
paraphrases, holdout, and the blind sets) with words only and with words and meaning,
and measures start-up and the peak memory of ``voice-assistant ask``. Not a test: the
figures go to README and REPORT; the asserted thresholds live in tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_assistant.app import build_core  # noqa: E402
from voice_assistant.dialogue import Dialogue, DialogueState  # noqa: E402

DATA = ROOT / "tests" / "data"
SUITE = ("dev_set", "dev_paraphrases", "tuning_set_2", "holdout_set", "blind_set", "blind_set_2", "blind_set_3",
         "blind_set_4", "blind_set_5", "blind_set_6", "blind_set_7", "blind_set_8",
         "blind_set_9", "blind_set_10", "blind_set_11", "blind_set_12", "blind_set_13")


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
    per_flag: dict[str, list[int]] = {}
    leaks = {"items": 0, "answered": 0}
    meaning = dialogue.matcher.meaning
    for case in cases:
        for _ in range(repeats):  # 0: accuracy only
            if meaning is not None:
                meaning.forget()  # time an utterance as heard for the first time
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
            per_flag.setdefault(case["intent"], []).append(int(said_flag))
        else:
            flags["non_flag"] += 1
            flags["false_alarm"] += int(said_flag)
        if case["kind"] == "decline" and case["intent"] == "off_topic":
            leaks["items"] += 1
            leaks["answered"] += int(reply.kind in ("answer", "red_flag"))
    total = sum(len(v) for v in rows.values())
    correct = sum(sum(v) for v in rows.values())
    times.sort()
    return {
        "categories": {name: {"items": len(v), "correct": sum(v), "accuracy": sum(v) / len(v)}
                       for name, v in sorted(rows.items())},
        "overall": {"items": total, "correct": correct, "accuracy": correct / total},
        "red_flag_recall": flags["true"] / max(1, flags["true"] + flags["missed"]),
        "red_flag_items": flags["true"] + flags["missed"],
        "red_flag_recall_per_kind": {name: {"items": len(v), "caught": sum(v)} for name, v in sorted(per_flag.items())},
        "red_flag_false_alarm_rate": flags["false_alarm"] / max(1, flags["non_flag"]),
        "off_topic_answered_rate": leaks["answered"] / max(1, leaks["items"]),
        "off_topic_items": leaks["items"],
        "match_ms_median": statistics.median(times) if times else None,
        "match_ms_p95": times[int(0.95 * (len(times) - 1))] if times else None,
        "errors": errors,
    }


def _child_figures(words_only: bool) -> dict:
    """Start-up (pack, model and matcher built) and peak memory of one 'ask', each in a fresh process."""
    flag = ["--words-only"] if words_only else []
    startups = []
    code_start = ("import time; t=time.perf_counter(); from voice_assistant.app import build_core; "
                  f"build_core(semantic={not words_only}, notify=lambda m: None); print(time.perf_counter()-t)")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code_start], cwd=ROOT, capture_output=True, text=True, check=True)
        startups.append(float(out.stdout.strip().splitlines()[-1]))
    code = ("import resource, sys; from voice_assistant.cli import main; "
            f"main(['ask', *{flag!r}, 'how do I ease a back spasm']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    figures = {"startup_s_median": statistics.median(startups), "ask_peak_mb": peak_kb / 1024}
    if not words_only:
        # The first start with an empty cache: every phrasing embedded and the classifiers fitted.
        with tempfile.TemporaryDirectory() as empty:
            out = subprocess.run([sys.executable, "-c", code_start], cwd=ROOT, capture_output=True, text=True,
                                 check=True, env={**os.environ, "XDG_CACHE_HOME": empty})
        figures["cold_startup_s"] = float(out.stdout.strip().splitlines()[-1])
    return figures


def suite() -> dict:
    """Every set, words only and with meaning; start-up and memory of each."""
    sets = {name: yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))
            for name in SUITE if (DATA / f"{name}.yaml").is_file()}
    result: dict = {"sets": {name: len(cases) for name, cases in sets.items()}, "modes": {}}
    for mode, semantic in (("words", False), ("meaning", True)):
        dialogue = Dialogue(build_core(semantic=semantic, notify=lambda message: None).matcher)
        scores = {name: {k: v for k, v in evaluate(cases, dialogue, repeats=1 if name == "dev_set" else 0).items()
                         if k != "errors"} for name, cases in sets.items()}
        result["modes"][mode] = {"scores": scores, **_child_figures(not semantic)}
    return result


def print_suite(result: dict) -> None:
    print(f"{'set':<16} {'mode':<8} {'items':>5} {'right':>7} {'flags':>13} {'false':>6} {'off-topic leak':>14}")
    for name in result["sets"]:
        for mode, figures in result["modes"].items():
            r = figures["scores"][name]
            caught = sum(v["caught"] for v in r["red_flag_recall_per_kind"].values())
            print(f"{name:<16} {mode:<8} {r['overall']['items']:>5} {r['overall']['accuracy']:>7.1%} "
                  f"{r['red_flag_recall']:>6.1%} {caught:>2}/{r['red_flag_items']:<3} "
                  f"{r['red_flag_false_alarm_rate']:>6.1%} {r['off_topic_answered_rate']:>13.1%}")
    for mode, figures in result["modes"].items():
        dev = figures["scores"]["dev_set"]
        print(f"{mode}: match time median {dev['match_ms_median']:.2f} ms, p95 {dev['match_ms_p95']:.2f} ms; "
              f"start-up {figures['startup_s_median']:.2f} s"
              + (f" ({figures['cold_startup_s']:.0f} s with an empty cache)" if "cold_startup_s" in figures else "")
              + f"; peak memory of ask {figures['ask_peak_mb']:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default=str(DATA / "dev_set.yaml"))
    parser.add_argument("--knowledge", default=None)
    parser.add_argument("--errors", action="store_true", help="list the utterances that went wrong")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--words-only", action="store_true", help="without the sentence encoder")
    parser.add_argument("--suite", action="store_true", help="every set, both ways, with start-up and memory")
    args = parser.parse_args()
    if args.suite:
        result = suite()
        print(json.dumps(result, indent=2)) if args.json else print_suite(result)
        return 0
    cases = yaml.safe_load(Path(args.cases).read_text(encoding="utf-8"))
    core = build_core(args.knowledge, semantic=not args.words_only, notify=lambda message: None)
    result = evaluate(cases, Dialogue(core.matcher))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "errors"}, indent=2))
        return 0
    print(f"{'category':<12} {'items':>5} {'correct':>7} {'accuracy':>8}")
    for name, row in result["categories"].items():
        print(f"{name:<12} {row['items']:>5} {row['correct']:>7} {row['accuracy']:>8.1%}")
    overall = result["overall"]
    print(f"{'overall':<12} {overall['items']:>5} {overall['correct']:>7} {overall['accuracy']:>8.1%}")
    print(f"red-flag recall {result['red_flag_recall']:.1%}, "
          f"false alarms {result['red_flag_false_alarm_rate']:.1%}, "
          f"off-topic answered with a topic or a warning {result['off_topic_answered_rate']:.1%}")
    for name, row in result["red_flag_recall_per_kind"].items():
        print(f"  {name:<32} {row['caught']:>2} of {row['items']}")
    print(f"match time per utterance: median {result['match_ms_median']:.3f} ms, "
          f"p95 {result['match_ms_p95']:.3f} ms")
    if args.errors:
        for category, text, expected, got, confidence in result["errors"]:
            print(f"  [{category}] {text!r}: expected {expected}, got {got} ({confidence:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
