"""Write bench/REPORT.md and its plots from the JSON figures the benchmarks produced.

Usage: python bench/report.py [--out-dir bench/out] [--report bench/REPORT.md] [--plots bench]
                              [--readme README.md]

Every number in the report is read from the JSON files; nothing is typed by hand.
With --readme, the same tables replace README's block between the
``<!-- figures:start -->`` and ``<!-- figures:end -->`` markers, so README and
the report cannot disagree.
Plots need matplotlib (`pip install .[bench]`); without it the report says so and
keeps the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_figures(out_dir: Path) -> tuple[dict | None, ...]:
    """The benchmarks' JSON (typed dev, typed holdout, speech, loop, loop in a noisy room, barge-in);
    None for one not run."""
    names = ("matcher_dev", "matcher_holdout", "speech", "loop", "loop_noisy", "barge_in")
    return tuple(_load(out_dir / f"{name}.json") for name in names)


SET_NAMES = {"dev_set": "dev (tuned on)", "dev_paraphrases": "paraphrases (tuned on)",
             "tuning_set_2": "tuning set 2 (tuned on)",
             "holdout_set": "holdout", "blind_set": "blind set 1", "blind_set_2": "blind set 2", "blind_set_3": "blind set 3", "blind_set_4": "blind set 4", "blind_set_5": "blind set 5",
             "blind_set_6": "blind set 6", "blind_set_7": "blind set 7", "blind_set_8": "blind set 8",
             "blind_set_9": "blind set 9", "blind_set_10": "blind set 10", "blind_set_11": "blind set 11", "blind_set_12": "blind set 12", "blind_set_13": "blind set 13"}


def understanding_section(suite: dict | None) -> list[str]:
    """Typed questions on every set, words only against words and meaning (bench_matcher --suite)."""
    if suite is None:
        return ["_Understanding benchmark not run._", ""]
    modes = suite["modes"]
    lines = ["| set | items | words only | words + meaning | red flags caught (meaning) | false alarms | "
             "off-topic answered |", "|---|---|---|---|---|---|---|"]
    for name, items in suite["sets"].items():
        words, meaning = modes["words"]["scores"][name], modes["meaning"]["scores"][name]
        caught = sum(v["caught"] for v in meaning["red_flag_recall_per_kind"].values())
        lines.append(f"| {SET_NAMES.get(name, name)} | {items} | {_pct(words['overall']['accuracy'])} | "
                     f"**{_pct(meaning['overall']['accuracy'])}** | {_pct(meaning['red_flag_recall'])} "
                     f"({caught}/{meaning['red_flag_items']}) | {_pct(meaning['red_flag_false_alarm_rate'])} | "
                     f"{_pct(meaning['off_topic_answered_rate'])} |")
    lines.append("")
    for mode, label in (("words", "Words only"), ("meaning", "Words + meaning")):
        figures, dev = modes[mode], modes[mode]["scores"]["dev_set"]
        lines.append(f"{label}: match time median {dev['match_ms_median']:.1f} ms, p95 {dev['match_ms_p95']:.1f} ms "
                     f"(an utterance never heard before); start-up {figures['startup_s_median']:.2f} s "
                     f"(median of 3, caches warm"
                     + (f"; {figures['cold_startup_s']:.0f} s once with an empty cache" if "cold_startup_s" in figures
                        else "")
                     + f"); peak memory of `voice-assistant ask` {figures['ask_peak_mb']:.0f} MB.")
    lines += ["", "Command: `python bench/bench_matcher.py --suite --json > bench/out/matcher_suite.json`", ""]
    return lines


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def machine() -> dict:
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "unknown"
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "voice_assistant",
                              "knowledge", "bench/bench_*.py"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if changed and revision != "unknown":
        revision += "+uncommitted changes"
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "revision": revision,
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}"}


def typed_section(dev: dict | None, holdout: dict | None) -> list[str]:
    if dev is None:
        return ["_Typed benchmark not run._", ""]
    lines = ["| category | items | accuracy |", "|---|---|---|"]
    for name, row in dev["categories"].items():
        lines.append(f"| {name} | {row['items']} | {_pct(row['accuracy'])} |")
    lines.append(f"| **overall** | {dev['overall']['items']} | **{_pct(dev['overall']['accuracy'])}** |")
    lines += ["", f"Red-flag recall {_pct(dev['red_flag_recall'])}, false alarms "
                  f"{_pct(dev['red_flag_false_alarm_rate'])}; match time median "
                  f"{dev['match_ms_median']:.3f} ms, p95 {dev['match_ms_p95']:.3f} ms."]
    if holdout is not None:
        lines.append(f"Unseen questions (holdout, {holdout['overall']['items']}): "
                     f"{_pct(holdout['overall']['accuracy'])}, red-flag recall {_pct(holdout['red_flag_recall'])}.")
    return lines + [""]


def _recall(summary: dict) -> str:
    """Red-flag recall with its counts: on a few items a percentage alone overstates what is known."""
    recall = summary.get("red_flag_recall")
    items = summary.get("red_flag_items") or (summary.get("categories") or {}).get("red_flag", {}).get("items")
    if recall is None or not items:
        return _pct(recall)
    return f"{_pct(recall)} ({round(recall * items)}/{items})"


def speech_section(speech: dict | None) -> list[str]:
    if speech is None:
        return ["_Spoken benchmark not run._", ""]
    lines = ["| voice | condition | utterances | WER | correct answers | red-flag recall | red-flag false alarms "
             "| off-topic declined | decode RTF (median) |", "|---|---|---|---|---|---|---|---|---|"]
    for group in speech["groups"]:
        s = group["summary"]
        rtf_value = s.get("rtf_cpu_median", s.get("rtf_median"))
        rtf = "-" if rtf_value is None else f"{rtf_value:.2f}"
        lines.append(f"| {group['voice']} | {group['condition']} | {s['utterances']} | {_pct(s['wer'])} | "
                     f"{_pct(s['correct'])} | {_recall(s)} | "
                     f"{_pct(s.get('red_flag_false_alarm_rate'))} | {_pct(s['off_topic_declined'])} | {rtf} |")
    lines += ["", f"Decode real-time factor: decoding time over audio length, from CPU time where measured. "
                  f"Model load {speech.get('load_s_first', 0):.2f} s; peak memory of a decoding process "
                  f"{speech.get('peak_rss_mb', 0):.0f} MB."]
    settings = speech.get("settings") or {}
    noise_voices = settings.get("noise_voices") or []
    if noise_voices and settings.get("noise_utterances") != settings.get("utterances"):
        shown = ", ".join(f"{voice} {_pct(clean_on_noise_subset(speech, voice))}" for voice in noise_voices
                          if any(g["voice"] == voice and g["condition"] == "clean" for g in speech["groups"]))
        lines.append(f"Noisy conditions use {settings.get('noise_utterances')} of the utterances; clean, those "
                     f"same utterances score {shown} (the plot's clean point).")
    if "utterances" in settings:
        lines.append(f"Command: `python bench/bench_speech.py --limit {settings['utterances']} --noise-limit "
                     f"{settings.get('noise_utterances', settings['utterances'])} --json bench/out/speech.json`")
    return lines + [""]


ENGINES = ("whisper", "pocketsphinx")


def engine_section(out_dir: Path) -> list[str]:
    """Whisper against PocketSphinx on phrasings the PocketSphinx language model was not built from
    (the paraphrase tuning set), voice by voice, clean and in noise (bench/out/engine_<name>.json)."""
    runs = {name: _load(out_dir / f"engine_{name}.json") for name in ENGINES}
    runs = {name: run for name, run in runs.items() if run is not None}
    if not runs:
        return ["_Engine comparison not run._", ""]
    header = " | ".join(f"{name} right (WER)" for name in runs)  # typed: the clean rows' texts, typed
    lines = [f"| voice | condition | utterances | typed | {header} | red flags caught ({' / '.join(runs)}) |",
             "|---|---|---|---|" + "---|" * len(runs) + "---|"]
    first = next(iter(runs.values()))
    typed = next((g["summary"] for g in first["groups"] if g["voice"] == "typed"), None)
    for group in first["groups"]:
        if group["voice"] == "typed":
            continue
        cells, flags = [], []
        for run in runs.values():
            match = next((g["summary"] for g in run["groups"]
                          if g["voice"] == group["voice"] and g["condition"] == group["condition"]), None)
            cells.append("-" if match is None else f"{_pct(match['correct'])} ({_pct(match['wer'])})")
            flags.append("-" if match is None else _recall(match))
        lines.append(f"| {group['voice']} | {group['condition']} | {group['summary']['utterances']} | "
                     f"{_pct(typed['correct']) if typed and group['condition'] == 'clean' else '-'} | "
                     f"{' | '.join(cells)} | {' / '.join(flags)} |")
    lines.append("")
    for name, run in runs.items():
        rtfs = [g["summary"].get("rtf_cpu_median") for g in run["groups"] if g["voice"] != "typed"]
        rtfs = [r for r in rtfs if r is not None]
        overall = run["all_spoken"]
        lines.append(f"{name}: {_pct(overall['correct'])} of {overall['utterances']} spoken right overall, "
                     f"decode RTF median {statistics.median(rtfs):.2f} (CPU), model load "
                     f"{run.get('load_s_first', 0):.2f} s, peak memory of a decoding process "
                     f"{run.get('peak_rss_mb', 0):.0f} MB.")
    settings = first.get("settings") or {}
    lines += ["", "Command (each engine): `python bench/bench_speech.py tests/data/dev_paraphrases.yaml --limit "
                  f"{settings.get('utterances')} --noise-limit {settings.get('noise_utterances')} --voices "
                  f"{','.join(settings.get('voices') or [])} --noise-voices {','.join(settings.get('noise_voices') or [])} "
                  "--engine ENGINE --json bench/out/engine_ENGINE.json`", ""]
    return lines


def whisper_loop_line(out_dir: Path) -> list[str]:
    """The loop with Whisper, the default engine (bench/out/loop_whisper.json)."""
    run = _load(out_dir / "loop_whisper.json")
    if run is None:
        return []
    f = run["figures"]
    startup = (f.get("startup") or {}).get("warm_median_s")
    memory = (f.get("memory") or {}).get("peak_mb")
    parts = [f"endpoint -> first audio p50 {_ms(f['endpoint_to_audio_s']['p50'])}, p95 "
             f"{_ms(f['endpoint_to_audio_s']['p95'])}",
             f"early finalize p95 {_ms(f['early_finalize_s']['p95'])} (inside the 0.45 s before the endpoint)",
             f"{f['answered']} of {f['utterances']} answered"]
    if "end_of_speech_to_audio_s" in f:  # what a person waits: the end-of-speech silence included
        speech_end = f["end_of_speech_to_audio_s"]
        parts.insert(1, f"end of speech -> first audio p50 {_ms(speech_end['p50'])}, p95 {_ms(speech_end['p95'])}")
    if startup is not None:
        parts.append(f"start-up to listening {startup:.2f} s")
    if memory is not None:
        parts.append(f"peak memory of the running loop {memory:.0f} MB")
    return [f"With Whisper tiny.en (the default engine): {'; '.join(parts)}.",
            f"Command: `{run.get('command', 'bench/bench_loop.py --engine whisper')}`", ""]


def loop_section(loop: dict | None, noisy: dict | None = None) -> list[str]:
    if loop is None:
        return ["_Loop benchmark not run._", ""]
    f = loop["figures"]
    lines = ["| from the endpoint | p50 | p95 |", "|---|---|---|"]
    for key, label in (("lag_at_endpoint_s", "loop still busy (behind the microphone)"),
                       ("finalize_s", "recognizer finalize"), ("match_s", "match and dialogue"),
                       ("tts_s", "first TTS chunk"), ("endpoint_to_audio_s", "**to first audio**"),
                       ("early_finalize_s", "_early finalize, in the end-of-speech silence (not on the path)_")):
        if key in f:
            lines.append(f"| {label} | {_ms(f[key]['p50'])} | {_ms(f[key]['p95'])} |")
    startup = (f.get("startup") or {}).get("warm_median_s")
    memory = (f.get("memory") or {}).get("peak_mb")
    extra = []
    if startup is not None:
        extra.append(f"start-up to listening {startup:.2f} s (median, language-model cache warm)")
    if memory is not None:
        extra.append(f"peak memory of the running loop {memory:.0f} MB")
    lines += ["", "; ".join(extra) + "." if extra else "", f"Command: `{loop.get('command', 'bench/bench_loop.py')}`"]
    if noisy is not None:
        n, quiet = noisy["figures"], f
        lines += ["", f"In a noisy room (white noise {n['noise_snr_db']:g} dB under the speech, the whole session): "
                      f"endpoint -> first audio p50 {_ms(n['endpoint_to_audio_s']['p50'])}, "
                      f"p95 {_ms(n['endpoint_to_audio_s']['p95'])}; early finalize p95 "
                      f"{_ms(n['early_finalize_s']['p95'])} (quiet: {_ms(quiet['early_finalize_s']['p95'])}); "
                      f"{n['answered']} of {n['utterances']} answered, {n['reply_kind_as_expected']} of the kind "
                      f"expected (quiet: {quiet['reply_kind_as_expected']} of {quiet['utterances']}); "
                      f"{n['barge_ins']} barge-ins taken from the noise (quiet: {quiet['barge_ins']}); "
                      f"noise taken for speech, heard as nothing and ignored: {n.get('empty_endpoints', 0)} "
                      "time(s).",
                  f"Command: `{noisy.get('command', 'bench/bench_loop.py --noise-snr')}`"]
    return lines + [""]


def barge_in_section(barge: dict | None) -> list[str]:
    if barge is None or "utterances" not in barge:
        return ["_Barge-in benchmark not run._", ""]

    def rate(row: dict, key: str) -> str:
        cell = row.get(key) or {}
        return _pct(cell["hit"] / cell["n"]) if cell.get("n") else "-"

    lines = ["| said over the assistant | detected alone | assistant at -6 dB | assistant at -12 dB |",
             "|---|---|---|---|"]
    for text, row in barge["utterances"].items():
        lines.append(f"| {text} | {rate(row, 'clean')} | {rate(row, '-6 dB')} | {rate(row, '-12 dB')} |")
    selves = ", ".join(f"{intent} {row.get('self', 0) + row.get('runs', 0)}"
                       for intent, row in barge.get("intents", {}).items())
    lines += ["", f"Self-triggers (the assistant's own voice taken for a command) over "
                  f"{barge.get('sentence_items', 0)} sentences and {barge.get('runs', 0)} runs of sentences: "
                  f"{selves}."]
    return lines + [""]


def tts_section(tts: dict | None) -> list[str]:
    """The two voices side by side (bench/bench_tts.py): heard by Whisper, first audio, speed, load, memory."""
    if tts is None or "voices" not in tts:
        return ["_Voice benchmark not run._", ""]
    voices = tts["voices"]

    def key_words(v: dict) -> str:
        words = v["pronunciation"].values()
        alone = v.get("carrier") or {}
        return (f"{sum(p['hits'] for p in words)}/{sum(p['sentences'] for p in words)}; "
                f"{sum(c['hit'] for c in alone.values())}/{len(alone)}")

    rows = [(f"word error rate (Whisper tiny.en, {tts['sentences']} sentences)", lambda v: _pct(v["wer"])),
            ("key words heard: in the pack's sentences; alone", key_words),
            ("an answer's first piece made when chosen, p50 / p95",
             lambda v: f"{_ms(v['first_audio']['p50_s'])} / {_ms(v['first_audio']['p95_s'])}"),
            (f"first audio of an answer, prepared at start-up, p50 / p95 (target p95 <= "
             f"{_ms(next(iter(voices.values()))['first_audio']['target_p95_s'])})",
             lambda v: (f"{_ms(v['speaker_first_audio']['p50_s'])} / {_ms(v['speaker_first_audio']['p95_s'])}"
                        if "speaker_first_audio" in v else "-")),
            ("synthesis real-time factor (median)", lambda v: f"{v['rtf']['median']:.3f}"),
            ("load (import + construct), then first synthesis",
             lambda v: f"{_ms(v['load']['load_s'])}, {_ms(v['load']['first_synthesis_s'])}"),
            ("peak memory of a process with the voice", lambda v: f"{v['load']['vm_hwm_mb']:.0f} MB")]
    lines = [f"| | {' | '.join(voices)} |", "|---|" + "---|" * len(voices)]
    lines += [f"| {label} | {' | '.join(cell(v) for v in voices.values())} |" for label, cell in rows]
    missed = []
    for name, v in voices.items():
        words = [f"{word} {p['sentences'] - p['hits']}/{p['sentences']}" for word, p in v["pronunciation"].items()
                 if p["hits"] < p["sentences"]]
        missed.append(f"{name}: {', '.join(words) or 'none'}")
    lines += ["", f"Key words misheard in the pack's sentences: {'; '.join(missed)}.",
              f"Command: `{tts.get('command', 'python bench/bench_tts.py')}`"]
    return lines + [""]


def clean_on_noise_subset(speech: dict, voice: str) -> float:
    """Clean accuracy of ``voice`` on the utterances its noisy conditions used (the plot's 'clean' point)."""
    groups = [g for g in speech["groups"] if g["voice"] == voice]
    clean = next(g for g in groups if g["condition"] == "clean")
    noisy_texts = {r["text"] for g in groups if g["condition"] != "clean" for r in g.get("records", [])}
    records = [r for r in clean.get("records", []) if r["text"] in noisy_texts]
    return sum(r["correct"] for r in records) / len(records) if records else clean["summary"]["correct"]


def plots(speech: dict | None, loop: dict | None, folder: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["_Plots need matplotlib: `pip install .[bench]`._"]
    made = []
    if speech is not None:
        figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for axis, noise in zip(axes, ("white", "babble")):
            by_voice: dict[str, dict[float, float]] = {}
            for group in speech["groups"]:
                condition = group["condition"]
                if condition == "clean":
                    by_voice.setdefault(group["voice"], {})[40.0] = clean_on_noise_subset(speech, group["voice"])
                elif condition.startswith(noise):
                    by_voice.setdefault(group["voice"], {})[float(condition[len(noise):])] = group["summary"]["correct"]
            for voice, points in sorted(by_voice.items()):
                if len(points) > 1:
                    xs = sorted(points)
                    axis.plot(xs, [points[x] * 100 for x in xs], marker="o", label=voice)
            axis.set_title(f"{noise} noise")
            axis.set_xlabel("SNR (dB; 40 = clean, same utterances)")
            axis.grid(alpha=0.3)
        axes[0].set_ylabel("correct answers (%)")
        axes[0].legend()
        figure.tight_layout()
        figure.savefig(folder / "accuracy_vs_snr.png", dpi=110)
        plt.close(figure)
        made.append("![answer accuracy against SNR](accuracy_vs_snr.png)")
    if loop is not None:
        f = loop["figures"]
        stages = [("lag_at_endpoint_s", "loop busy"), ("finalize_s", "recognizer finalize"), ("match_s", "match"),
                  ("tts_s", "first TTS chunk")]
        figure, axis = plt.subplots(figsize=(6, 3.5))
        for column, quantile in enumerate(("p50", "p95")):
            bottom = 0.0
            for index, (key, label) in enumerate(stages):
                value = max(0.0, f.get(key, {}).get(quantile) or 0.0) * 1000
                axis.bar(column, value, bottom=bottom, color=f"C{index}", label=label if column == 0 else None)
                bottom += value
            total = (f.get("endpoint_to_audio_s") or {}).get(quantile)
            if total is not None:  # stage percentiles do not add up exactly: show the measured total too
                axis.scatter(column, total * 1000, marker="_", s=900, color="black", zorder=3,
                             label="measured end to end" if column == 0 else None)
        axis.axhline(150, color="red", linestyle="--", label="target p95")
        axis.set_xticks([0, 1], ["p50", "p95"])
        axis.set_ylabel("ms from the endpoint to first audio")
        axis.legend()
        figure.tight_layout()
        figure.savefig(folder / "latency_split.png", dpi=110)
        plt.close(figure)
        made.append("![latency split](latency_split.png)")
    return made


def write_report(out_dir: Path, report: Path, plot_dir: Path, info: dict | None = None) -> str:
    dev, holdout, speech, loop, loop_noisy, barge = load_figures(out_dir)
    info = info or machine()
    plot_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Benchmark report", "",
             f"Generated {info['date']} at revision `{info['revision']}` on {info['machine']}, by "
             "`bench/run_all`. Every figure below is read from the benchmarks' JSON output "
             f"(`{out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}`).", "",
             "## Typed questions: understanding by meaning", "",
             *understanding_section(_load(out_dir / "matcher_suite.json")),
             "## Typed questions (dev set)", "", *typed_section(dev, holdout),
             "## Spoken questions: Whisper against PocketSphinx, on unseen phrasings", "", *engine_section(out_dir),
             "## Spoken questions (PocketSphinx, synthetic voices)", "", *speech_section(speech),
             "## Hands-free loop: latency, start-up, memory", "", *loop_section(loop, loop_noisy),
             *whisper_loop_line(out_dir),
             "## Barge-in while the assistant speaks", "", *barge_in_section(barge),
             "## Voices: espeak-ng against Piper's joe", "", *tts_section(_load(out_dir / "tts.json")),
             "## Plots", "", *plots(speech, loop, plot_dir), ""]
    text = "\n".join(lines)
    report.write_text(text, encoding="utf-8")
    return text


README_START, README_END = "<!-- figures:start -->", "<!-- figures:end -->"


def readme_block(out_dir: Path, info: dict) -> str:
    """README's headline figures: the report's tables, without its plots section."""
    dev, holdout, speech, loop, loop_noisy, barge = load_figures(out_dir)
    lines = [f"Written {info['date']} at revision `{info['revision']}` on {info['machine']} by "
             "`bench/run_all`, which writes these tables here and in "
             "[bench/REPORT.md](bench/REPORT.md) from the same JSON.", "",
             "**Typed questions, every set** (`python bench/bench_matcher.py --suite`):", "",
             *understanding_section(_load(out_dir / "matcher_suite.json")),
             "**Typed questions** (`python bench/bench_matcher.py`, dev set):", "", *typed_section(dev, holdout),
             "**Spoken questions, by engine**, on phrasings the PocketSphinx language model was not built from:", "",
             *engine_section(out_dir),
             "**Spoken questions** through PocketSphinx (`python bench/bench_speech.py`):", "",
             *speech_section(speech),
             "![answer accuracy against SNR](bench/accuracy_vs_snr.png)", "",
             "**Hands-free loop** on virtual devices (`python bench/bench_loop.py`):", "",
             *loop_section(loop, loop_noisy), *whisper_loop_line(out_dir),
             "![latency split](bench/latency_split.png)", "",
             "**Barge-in** (`python bench/bench_barge_in.py`):", "", *barge_in_section(barge),
             "**Voices** (`python bench/bench_tts.py`):", "", *tts_section(_load(out_dir / "tts.json"))]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme: Path, block: str) -> None:
    """Replace the text between the markers; everything else in README stays as it is."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: no '{README_START}' ... '{README_END}' block to fill")
    head, tail = text[:start + len(README_START)], text[end:]
    readme.write_text(f"{head}\n{block}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "REPORT.md")
    parser.add_argument("--plots", type=Path, default=ROOT / "bench")
    parser.add_argument("--readme", type=Path, help="also fill this README's figures block")
    args = parser.parse_args()
    info = machine()
    write_report(args.out_dir.resolve(), args.report, args.plots, info)
    print(f"wrote {args.report}")
    if args.readme:
        update_readme(args.readme, readme_block(args.out_dir.resolve(), info))
        print(f"updated the figures in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
