"""Barge-in: does the command spotter ignore the assistant's own voice and catch a person over it?

Usage: python bench/bench_barge_in.py [--workers 2] [--mixes 3] [--seed 7] [--rates 0.8,1.0,1.25]
                                      [--latency 0.1] [--keyphrases JSON] [--json PATH]
       python bench/bench_barge_in.py --tune [--add "stop it,please stop"] [--drop "be quiet"]
                                      [--margin 0]

1. Self-triggers. Every sentence the assistant can say (answer chunks, the
   'say next' hint, greeting, disclaimer, emergency and red-flag replies,
   declines, and the dialogue's fixed command replies, enumerated by driving
   the real Dialogue) is synthesized with EspeakSynthesizer at each rate,
   resampled to 16 kHz with soxr and fed, 30 ms (960 bytes) at a time, through
   a reset CommandSpotter, followed by 0.3 s of silence (a late detection
   still belongs to that sentence). A detection whose command is not a word of
   the sentence (normalized, exactly as ConversationLoop._spot checks) is a
   self-trigger: it would cut the assistant off. One whose command is in the
   sentence is counted apart as 'echo ignored'. A second pass plays whole
   replies the way the loop does (sentences back to back, the spotter not
   reset between them) and blames a detection on the sentence that is
   current --latency seconds after the audio that caused it (the microphone
   lags the speaker), which catches echo that spills into the next sentence.

2. Commands over the assistant. Each command utterance is synthesized the way
   a user might say it (espeak-ng en-us at 175 and 130 wpm, en-gb; festival
   kal, ked, slt) and mixed over a random assistant sentence at a random rate
   that does not contain the command (clean, and the assistant at -6 dB and
   -12 dB relative to the command, RMS over active 20 ms windows). Detected:
   the right command between the start of the command and 1.5 s after the
   end of its non-silent samples; the delay runs from that end to the end of
   the frame at which the spotter reported it. Other commands reported during
   a mix (not words of the echo sentence) count as 'wrong'.

3. --tune searches each keyphrase's threshold alone (a one-keyphrase
   spotter), from 1e-40 (most permissive) towards 1e-5 (strictest), for the
   most permissive threshold with zero self-triggers in both passes; then the
   whole table is measured together. PocketSphinx keeps a keyphrase when its
   score beats the threshold, so 1e-5 is strict and 1e-40 permissive.

The decoder's live cepstral mean is reset to its initial value before every
sentence, reply and mix, so results do not depend on how work is split
across processes. Not a test: figures go to the KEYPHRASES comment.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_assistant.audio.base import SAMPLE_RATE, to_int16  # noqa: E402
from voice_assistant.nlu.normalize import normalize  # noqa: E402
from voice_assistant.tts.base import VoiceSettings, split_sentences  # noqa: E402

FRAME_SAMPLES = 480  # 30 ms at 16 kHz = 960 bytes, as the loop feeds the spotter
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
SENTENCE_TAIL = 0.3  # silence after a sentence: a detection there still belongs to it
DETECT_WINDOW = 1.5  # a command must be reported within this long after it ends
LEVELS = (None, -6.0, -12.0)  # assistant level relative to the command; None = clean
LOUD = 300  # |sample| above this is 'non-silent' (as tests/speech.py)

#: What a user says -> the command intent it must trigger.
UTTERANCES: dict[str, str] = {
    "stop": "stop", "stop it": "stop", "please stop": "stop", "be quiet": "stop",
    "next": "next", "repeat": "repeat", "slower": "slower", "faster": "faster",
}

#: voice -> espeak-ng argv (text appended) or a festival voice for text2wave (text on stdin).
USER_VOICES: dict[str, list[str] | str] = {
    "espeak-us175": ["espeak-ng", "-v", "en-us", "-s", "175", "--stdout"],
    "espeak-us130": ["espeak-ng", "-v", "en-us", "-s", "130", "--stdout"],
    "espeak-gb": ["espeak-ng", "-v", "en-gb", "--stdout"],
    "kal": "(voice_kal_diphone)",
    "ked": "(voice_ked_diphone)",
    "slt": "(voice_cmu_us_slt_arctic_hts)",
}

#: Thresholds tried by --tune, most permissive first.
GRID = [10.0 ** -e for e in range(40, 4, -1)]


# -- what the assistant says ------------------------------------------------------------------

def assistant_replies() -> list[tuple[str, ...]]:
    """Every reply (its chunks) the assistant can give, found by driving the real Dialogue."""
    from dataclasses import replace

    from voice_assistant.app import build_core
    from voice_assistant.dialogue import DialogueState
    from voice_assistant.dialogue.state import MAX_RATE, MIN_RATE
    from voice_assistant.loop import REPROMPT
    from voice_assistant.nlu.commands import COMMAND_PHRASES
    from voice_assistant.nlu.matcher import Match

    core = build_core(None)
    dialogue, pack = core.dialogue, core.pack
    replies: list[tuple[str, ...]] = [dialogue.opening().chunks, (REPROMPT,), ("Yes?",)]

    def add(reply) -> None:
        if reply.chunks:
            replies.append(reply.chunks)

    start = DialogueState()
    for phrases in COMMAND_PHRASES.values():  # before any topic
        add(dialogue.step(start, phrases[0])[0])
    for entry in pack.entries:
        reply, state = dialogue.respond(start, entry.examples[0], Match("answer", entry.id, 1.0, entry.id))
        add(reply)
        add(dialogue.step(state, "previous")[0])
        add(dialogue.step(state, "start over")[0])
        add(dialogue.step(state, "repeat")[0])
        add(dialogue.step(replace(state, rate=MIN_RATE), "slower")[0])
        add(dialogue.step(replace(state, rate=MAX_RATE), "faster")[0])
        add(dialogue.step(state, "faster")[0])
        add(dialogue.step(state, "slower")[0])
        for _ in range(50):  # walk to the end of the group
            reply, after = dialogue.step(state, "next")
            add(reply)
            if after == state:
                break
            state = after
    for decline in pack.declines:
        add(dialogue.respond(start, decline.examples[0], Match("decline", decline.id, 1.0, "x"))[0])
    add(dialogue.respond(start, "", Match("decline", None, 0.0, ""))[0])
    add(dialogue.respond(start, "what is the capital of peru", Match("decline", "off_topic", 0.1, "x"))[0])
    for first, second in zip(pack.entries, pack.entries[1:]):
        add(dialogue.respond(start, "x", Match("clarify", None, 0.5, "x", choices=(first.id, second.id)))[0])
    for flag in pack.red_flags:
        for example in flag.examples[:2]:
            add(dialogue.step(start, example)[0])
    hits = core.matcher.match(pack.red_flags[0].examples[0]).red_flags
    for entry in pack.entries:  # a red flag and a question: the warning, then 'About your question: ...'
        add(dialogue.respond(start, "x", Match("red_flag", pack.red_flags[0].id, 1.0, "x", red_flags=hits,
                                               topic=entry.id))[0])
    return list(dict.fromkeys(replies))


def assistant_sentences(replies: list[tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(s for reply in replies for chunk in reply for s in split_sentences(chunk)))


def words_of(sentence: str) -> set[str]:
    """The words ConversationLoop._spot compares a spotted command with."""
    return set(normalize(sentence).split())


# -- audio ------------------------------------------------------------------------------------

def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    if samples.dtype == np.int16:
        samples = samples / 32768.0
    samples = samples.astype(np.float32)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE)
    return to_int16(samples)


def synthesize_assistant(sentences: list[str], rates: list[float]) -> dict[tuple[float, str], np.ndarray]:
    from voice_assistant.tts.espeak import EspeakSynthesizer

    synthesizer = EspeakSynthesizer()
    audio = {}
    for rate in rates:
        settings = VoiceSettings(rate=rate)
        for sentence in sentences:
            pcm, native = synthesizer.synthesize(sentence, settings)
            audio[(rate, sentence)] = to_16k(np.frombuffer(pcm, dtype="<i2"), native)
    return audio


def synthesize_user(text: str, voice: str) -> np.ndarray:
    spec = USER_VOICES[voice]
    if isinstance(spec, list):
        wav = subprocess.run([*spec, text], check=True, capture_output=True).stdout
        samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    else:
        with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
            subprocess.run(["text2wave", "-eval", spec, "-o", handle.name], input=text.encode(), check=True,
                           capture_output=True)
            samples, rate = soundfile.read(handle.name, dtype="float32", always_2d=True)
    samples = to_16k(samples.mean(axis=1), rate)
    loud = np.nonzero(np.abs(samples) > LOUD)[0]
    return samples[max(0, loud[0] - 800):loud[-1] + 1600] if len(loud) else samples  # trim to +-50/100 ms


def active_rms(samples: np.ndarray) -> float:
    """RMS over the 20 ms windows within 30 dB of the loudest one."""
    x = samples.astype(np.float64)
    n = len(x) // 320
    windows = np.sqrt((x[:n * 320].reshape(n, 320) ** 2).mean(axis=1) + 1e-9)
    active = windows[windows > windows.max() * 10 ** (-30 / 20)]
    return float(np.sqrt((active ** 2).mean()))


def speech_end(samples: np.ndarray) -> float:
    loud = np.nonzero(np.abs(samples) > LOUD)[0]
    return (loud[-1] + 1) / SAMPLE_RATE if len(loud) else 0.0


def make_mixes(sentence_audio: dict, sentences: list[str], rates: list[float], voices: list[str],
               per_cell: int, seed: int) -> list[dict]:
    """Command utterances over random assistant sentences, deterministic for a seed."""
    rng = random.Random(seed)
    commands = {(text, voice): synthesize_user(text, voice) for text in UTTERANCES for voice in voices}
    mixes = []
    for (text, voice), command in commands.items():
        intent = UTTERANCES[text]
        command_seconds = len(command) / SAMPLE_RATE
        pool = [s for s in sentences if intent not in words_of(s)]
        for level in LEVELS:
            for _ in range(per_cell):
                if level is None:
                    onset, echo_text, rate = 0.5, "", None
                    total = np.zeros(int((onset + command_seconds + DETECT_WINDOW + 0.2) * SAMPLE_RATE), "<i2")
                    mixed = total.astype(np.float64)
                else:
                    while True:
                        echo_text, rate = rng.choice(pool), rng.choice(rates)
                        echo = sentence_audio[(rate, echo_text)]
                        room = len(echo) / SAMPLE_RATE - command_seconds - 0.6
                        if room > 0:
                            break
                    onset = round(0.3 + rng.random() * room, 3)
                    length = max(len(echo), int((onset + command_seconds + DETECT_WINDOW + 0.2) * SAMPLE_RATE))
                    mixed = np.zeros(length)
                    gain = active_rms(command) / active_rms(echo) * 10 ** (level / 20)
                    mixed[:len(echo)] += echo * gain
                start = int(onset * SAMPLE_RATE)
                mixed[start:start + len(command)] += command
                peak = np.abs(mixed).max()
                if peak > 32000:  # keep the ratio, avoid clipping
                    mixed *= 32000 / peak
                mixes.append(dict(text=text, intent=intent, voice=voice, level=level, echo=echo_text, rate=rate,
                                  onset=onset, end=onset + speech_end(command),
                                  audio=np.round(mixed).astype("<i2")))
    return mixes


# -- the spotter in worker processes ----------------------------------------------------------

_DATA: dict = {}  # filled before the pool forks: sentence audio, replies, mixes
_WORKER: dict = {}


def _spotter(keyphrases: dict[str, list]):
    from voice_assistant.stt.spotter import CommandSpotter

    key = json.dumps(keyphrases, sort_keys=True)
    cache = _WORKER.setdefault("spotters", {})
    if key not in cache:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))[0].reset()
        spotter = CommandSpotter({k: (v[0], float(v[1])) for k, v in keyphrases.items()})
        cache[key] = (spotter, spotter.decoder.get_cmn())
    spotter, cmn = cache[key]
    spotter.reset()
    spotter.decoder.set_cmn(cmn)  # every item starts from the same cepstral mean
    return spotter


def detections(keyphrases: dict[str, list], samples: np.ndarray) -> list[tuple[str, float]]:
    """(intent, seconds at the end of the frame that reported it) for ``samples`` fed in 30 ms frames."""
    spotter = _spotter(keyphrases)
    pad = (-len(samples)) % FRAME_SAMPLES
    pcm = np.concatenate([samples, np.zeros(pad, "<i2")]).astype("<i2").tobytes()
    found = []
    for n, offset in enumerate(range(0, len(pcm), FRAME_SAMPLES * 2)):
        intent = spotter.feed(pcm[offset:offset + FRAME_SAMPLES * 2])
        if intent is not None:
            found.append((intent, (n + 1) * FRAME_SECONDS))
    spotter.reset()
    return found


def run_item(args: tuple) -> dict:
    kind, index, keyphrases = args
    if kind == "sentence":
        rate, sentence = _DATA["sentence_items"][index]
        audio = np.concatenate([_DATA["audio"][(rate, sentence)], np.zeros(int(SENTENCE_TAIL * SAMPLE_RATE), "<i2")])
        words = words_of(sentence)
        hits = detections(keyphrases, audio)
        return dict(kind=kind, index=index, rate=rate, sentence=sentence,
                    self=[(i, t) for i, t in hits if i not in words], ignored=[(i, t) for i, t in hits if i in words])
    if kind == "reply":
        rate, reply = _DATA["reply_items"][index]
        sentences = [s for chunk in reply for s in split_sentences(chunk)]
        parts = [_DATA["audio"][(rate, s)] for s in sentences]
        ends = np.cumsum([len(p) for p in parts]) / SAMPLE_RATE
        latency = _DATA["latency"]
        selfs, ignored = [], []
        for intent, t in detections(keyphrases, np.concatenate(parts)):
            current = sentences[min(int(np.searchsorted(ends, t + latency, side="right")), len(sentences) - 1)]
            (ignored if intent in words_of(current) else selfs).append((intent, t, current))
        return dict(kind=kind, index=index, rate=rate, self=selfs, ignored=ignored)
    mix = _DATA["mixes"][index]
    echo_words = words_of(mix["echo"])
    hit, wrong = None, []
    for intent, t in detections(keyphrases, mix["audio"]):
        if intent == mix["intent"] and hit is None and mix["onset"] <= t <= mix["end"] + DETECT_WINDOW:
            hit = t - mix["end"]
        elif intent not in echo_words and intent != mix["intent"]:
            wrong.append((intent, t))
    return dict(kind=kind, index=index, delay=hit, wrong=wrong)


# -- measuring --------------------------------------------------------------------------------

def evaluate(pool, keyphrases: dict[str, list], with_mixes: bool = True) -> list[dict]:
    items = [("sentence", i, keyphrases) for i in range(len(_DATA["sentence_items"]))]
    items += [("reply", i, keyphrases) for i in range(len(_DATA["reply_items"]))]
    if with_mixes:
        items += [("mix", i, keyphrases) for i in range(len(_DATA["mixes"]))]
    return list(pool.imap(run_item, items, chunksize=4))


def self_triggers(pool, phrase: str, intent: str, threshold: float, suspects: list[tuple]) -> tuple[int, list]:
    """Self-triggers of one keyphrase alone; returns (count, items that triggered). Stops at the first."""
    keyphrases = {phrase: [intent, threshold]}
    relevant = [("sentence", i) for i, (_, s) in enumerate(_DATA["sentence_items"]) if intent not in words_of(s)]
    relevant += [("reply", i) for i in range(len(_DATA["reply_items"]))]
    order = list(dict.fromkeys(suspects + relevant))
    batch = 4 * _DATA["workers"]
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        results = pool.map(run_item, [(k, i, keyphrases) for k, i in chunk], chunksize=1)
        triggered = [item for item, result in zip(chunk, results) if result["self"]]
        if triggered:
            return len(triggered), triggered
    return 0, []


def tune(pool, candidates: dict[str, str], margin: int) -> dict[str, list]:
    table = {}
    for phrase, intent in candidates.items():
        started = time.perf_counter()
        suspects: list[tuple] = []
        chosen, tried = None, []
        # coarse (every 5 decades) from permissive to strict, then single decades inside the step
        coarse = [t for t in GRID if round(-np.log10(t)) % 5 == 0]
        lax_bad = None
        for threshold in coarse:
            count, found = self_triggers(pool, phrase, intent, threshold, suspects)
            tried.append((threshold, count))
            if count == 0:
                chosen = threshold
                break
            lax_bad, suspects = threshold, found + suspects
        if chosen is None:
            chosen = GRID[-1]
        if lax_bad is not None:
            for threshold in [t for t in GRID if lax_bad < t < chosen]:
                count, found = self_triggers(pool, phrase, intent, threshold, suspects)
                tried.append((threshold, count))
                if count == 0:
                    chosen = threshold
                    break
                suspects = found + suspects
        chosen = min(chosen * 10.0 ** margin, 1e-5)
        table[phrase] = [intent, chosen]
        shown = ", ".join(f"{t:.0e}:{'ok' if c == 0 else 'x'}" for t, c in tried)
        print(f"  {phrase:<12} -> {chosen:.0e}   ({shown}; {time.perf_counter() - started:.0f} s)", flush=True)
    return table


def summarize(results: list[dict], keyphrases: dict[str, list]) -> dict:
    sentences = [r for r in results if r["kind"] == "sentence"]
    replies = [r for r in results if r["kind"] == "reply"]
    mixes = [(r, _DATA["mixes"][r["index"]]) for r in results if r["kind"] == "mix"]
    intents = list(dict.fromkeys(v[0] for v in keyphrases.values()))
    summary = {"keyphrases": keyphrases, "sentences": len(sentences), "replies": len(replies), "intents": {},
               "self_trigger_examples": [], "utterances": {}, "voices": {}}
    for intent in intents:
        row = summary["intents"].setdefault(intent, {})
        row["self"] = sum(i == intent for r in sentences for i, _ in r["self"])
        row["ignored"] = sum(i == intent for r in sentences for i, _ in r["ignored"])
        row["self_replies"] = sum(i == intent for r in replies for i, _, _ in r["self"])
        for level in LEVELS:
            cell = [(r, m) for r, m in mixes if m["intent"] == intent and m["level"] == level]
            delays = [r["delay"] for r, _ in cell if r["delay"] is not None]
            row[str(level)] = dict(n=len(cell), hit=len(delays),
                                   delay=statistics.median(delays) if delays else None)
        row["wrong"] = sum(len(r["wrong"]) for r, m in mixes if m["intent"] == intent)
    for r in sentences:
        for intent, t in r["self"]:
            summary["self_trigger_examples"].append(f"{intent} @{t:.2f}s rate {r['rate']}: {r['sentence']}")
    for r in replies:
        for intent, t, current in r["self"]:
            summary["self_trigger_examples"].append(f"{intent} @{t:.2f}s in a reply, rate {r['rate']}: {current}")
    for key, field in (("utterances", "text"), ("voices", "voice")):
        for r, m in mixes:
            cell = summary[key].setdefault(m[field], {})
            level = cell.setdefault(str(m["level"]), [0, 0])
            level[0] += 1
            level[1] += r["delay"] is not None
    summary["all_delays"] = sorted(r["delay"] for r, _ in mixes if r["delay"] is not None)
    return summary


def print_table(summary: dict, rates: list[float]) -> None:
    def pct(cell) -> str:
        return f"{100 * cell['hit'] / cell['n']:5.1f}%" if cell["n"] else "    -"

    def ms(value) -> str:
        return f"{value * 1000:5.0f}" if value is not None else "    -"

    print(f"\nSelf-triggers: {summary['sentences']} sentence x rate items (rates {rates}), "
          f"{summary['replies']} replies played whole")
    print("Detection: % of mixes, median delay in ms from the end of the command word\n")
    print(f"{'command':<8} {'threshold(s)':<26} {'self':>4} {'self/rep':>8} {'echo-ign':>8} | "
          f"{'clean':>6} {'ms':>5} | {'-6 dB':>6} {'ms':>5} | {'-12 dB':>6} {'ms':>5} | {'wrong':>5}")
    for intent, row in summary["intents"].items():
        phrases = ", ".join(f"{p}={v[1]:.0e}" for p, v in summary["keyphrases"].items() if v[0] == intent)
        cells = " | ".join(f"{pct(row[str(level)])} {ms(row[str(level)]['delay'])}" for level in LEVELS)
        print(f"{intent:<8} {phrases:<26} {row['self']:>4} {row['self_replies']:>8} {row['ignored']:>8} | "
              f"{cells} | {row['wrong']:>5}")
    for key in ("utterances", "voices"):
        print(f"\nDetection by {key[:-1]} (clean / -6 dB / -12 dB):")
        for name, cell in summary[key].items():
            shown = " / ".join(f"{100 * cell[str(l)][1] / cell[str(l)][0]:5.1f}%" for l in LEVELS if str(l) in cell)
            print(f"  {name:<14} {shown}")
    delays = summary["all_delays"]
    if delays:
        print(f"\nDelay over all detections: median {statistics.median(delays) * 1000:.0f} ms, "
              f"90th percentile {delays[int(0.9 * (len(delays) - 1))] * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms")
    if summary["self_trigger_examples"]:
        print("\nSelf-triggers:")
        for line in summary["self_trigger_examples"][:30]:
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mixes", type=int, default=3, help="mixes per utterance x voice x level")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rates", default="0.8,1.0,1.25", help="assistant speaking rates")
    parser.add_argument("--voices", default=",".join(USER_VOICES))
    parser.add_argument("--latency", type=float, default=0.1, help="speaker-to-microphone lag in the reply pass")
    parser.add_argument("--keyphrases", help="JSON {phrase: [intent, threshold]} instead of KEYPHRASES")
    parser.add_argument("--tune", action="store_true", help="search thresholds, then measure the result")
    parser.add_argument("--add", default="", help="with --tune: extra keyphrases 'phrase[:intent],...'")
    parser.add_argument("--drop", default="", help="with --tune: keyphrases to leave out, comma-separated")
    parser.add_argument("--margin", type=int, default=0, help="with --tune: decades stricter than the edge")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from voice_assistant.stt.spotter import KEYPHRASES

    started = time.perf_counter()
    rates = [float(r) for r in args.rates.split(",")]
    voices = [v for v in args.voices.split(",") if v]
    keyphrases = ({k: list(v) for k, v in json.loads(args.keyphrases).items()} if args.keyphrases
                  else {k: list(v) for k, v in KEYPHRASES.items()})
    replies = assistant_replies()
    sentences = assistant_sentences(replies)
    audio = synthesize_assistant(sentences, rates)
    mixes = make_mixes(audio, sentences, rates, voices, args.mixes, args.seed)
    _DATA.update(audio=audio, mixes=mixes, latency=args.latency, workers=args.workers,
                 sentence_items=[(r, s) for r in rates for s in sentences],
                 reply_items=[(r, reply) for r in rates for reply in replies if len(reply) > 1
                              or len(split_sentences(reply[0])) > 1])
    seconds = sum(len(a) for a in audio.values()) / SAMPLE_RATE
    print(f"{len(replies)} replies, {len(sentences)} sentences, {seconds / 60:.1f} min of assistant speech "
          f"at rates {rates}; {len(mixes)} command mixes; prepared in {time.perf_counter() - started:.0f} s",
          flush=True)

    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        if args.tune:
            candidates = {k: v[0] for k, v in keyphrases.items()}
            for spec in filter(None, (s.strip() for s in args.add.split(","))):
                phrase, _, intent = spec.partition(":")
                candidates[phrase.strip()] = intent.strip() or UTTERANCES.get(phrase.strip(), phrase.split()[-1])
            for phrase in filter(None, (s.strip() for s in args.drop.split(","))):
                candidates.pop(phrase, None)
            print(f"Tuning {len(candidates)} keyphrases, each alone (threshold: ok = no self-trigger, "
                  f"x = self-triggers):", flush=True)
            keyphrases = tune(pool, candidates, args.margin)
        results = evaluate(pool, keyphrases)
    summary = summarize(results, keyphrases)
    print_table(summary, rates)
    print("\nThresholds: " + json.dumps({k: [v[0], f"{v[1]:.0e}"] for k, v in keyphrases.items()}))
    print(f"Total time {time.perf_counter() - started:.0f} s with {args.workers} workers")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
