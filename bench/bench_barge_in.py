"""Barge-in: does the command spotter ignore the assistant's own voice and catch a person over it?

Usage: python bench/bench_barge_in.py [--workers 2] [--mixes 2] [--seed 7] [--rates 0.8,1.0,1.25]
                                      [--assistant-voices espeak,piper] [--room-noise 15]
                                      [--confirm-engine whisper|pocketsphinx|none]
                                      [--levels -6,-12] [--latency 0.1] [--keyphrases JSON] [--json PATH]
       python bench/bench_barge_in.py --tune [PHRASE,...] [--add "stop it,please stop"] [--drop "be quiet"]
       python bench/bench_barge_in.py --tighten --rates 0.512,0.64,1.562,1.6

1. Self-triggers. Every sentence the assistant can say (answer chunks, the
   'say next' hint, greeting, disclaimer, emergency and red-flag replies,
   declines and the dialogue's own command replies, found by driving the real
   Dialogue) is synthesized in each of the assistant's voices (--assistant-voices: espeak-ng and
   Piper's joe) at each rate, and over steady room noise (--room-noise dB under it), resampled to
   16 kHz with soxr, and fed 30 ms (960 bytes) at a time through a reset
   CommandSpotter, then 0.3 s of silence (a late detection still belongs to
   the sentence). A detection whose command is not a word of the sentence
   (normalized, as ConversationLoop._spot checks) is a self-trigger: it would
   cut the assistant off; one whose command is in the sentence is counted
   apart ('echo-ign'). The spotter starts from a 'warm' cepstral mean, adapted
   to a minute of the assistant's voice (in the loop it has been listening to
   it); at the rate nearest 1 every sentence is also run from the model's
   initial mean (a fresh spotter). Then 'runs', at that rate: the sentences of
   replies played back to back as the loop plays them (warm, the spotter not
   reset between sentences, every adjacent sentence pair of every reply once),
   a detection blamed on the sentence current --latency seconds after the
   audio that caused it (the microphone lags the speaker).

2. Commands over the assistant. Each command utterance (UTTERANCES) is
   synthesized as a user might say it (espeak-ng en-us at 175 and 130 wpm,
   en-gb; festival kal, ked, slt) and mixed over a random assistant sentence,
   at a random rate, that does not contain the command (--mixes of each per
   utterance, voice and echo level): clean (once; a fresh and a warm
   spotter), and the assistant at -6 dB and -12 dB (--levels) relative to
   the command (RMS over active 20 ms windows; a warm spotter, its
   log-energy mean moved to the echo's level, as it would have adapted).
   Detected: the right command between the start of the command and 1.5 s
   after the end of its non-silent samples; the delay runs from that end to
   the end of the 30 ms frame after which the spotter reported it. Another
   command reported in a mix (not a word of the echo sentence) counts as
   'wrong': it would act on the wrong command, and its reset of the decoder
   usually loses the right one.

   Confirmation, as ConversationLoop does it: a command spotted in a word the
   assistant was not saying counts only if the recognizer (--confirm-engine,
   default Whisper, the app's) hears one of its keyphrases in the 2 s of audio
   before the spot (Recognizer.hear_once). Refuted spots are counted apart
   ('refuted'); a command mix counts as detected only when confirmed. The
   delay is the spotter's; the confirming decode's time is reported beside it.

3. --tune searches each keyphrase's threshold alone (a one-keyphrase
   spotter), from 1e-40 (permissive) towards 1e+10 (strict), in steps of five
   decades and then one, for the most permissive threshold with no
   self-trigger in any of the self-trigger passes; then the whole table is
   measured together. (PocketSphinx reports a keyphrase when its score beats
   the threshold, so 1e-5 is stricter than 1e-40.) --tighten then checks the
   table at other --rates and makes a keyphrase stricter, a decade at a time,
   while it still fires on the assistant there.

Every sentence, run and mix starts from a set cepstral mean, so results do
not depend on how work is split across processes. Not a test.
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
from concurrent.futures import ThreadPoolExecutor
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
#: Mix conditions: name -> (assistant level relative to the command in dB or None, starting cepstral mean).
#: --levels sets the echo levels.
CONDITIONS: dict[str, tuple[float | None, str]] = {
    "clean/fresh": (None, "fresh"), "clean": (None, "warm"), "-6 dB": (-6.0, "warm"), "-12 dB": (-12.0, "warm"),
}


def set_levels(levels: list[float]) -> None:
    for name in [c for c, (level, _) in CONDITIONS.items() if level is not None]:
        del CONDITIONS[name]
    CONDITIONS.update({f"{level:g} dB": (level, "warm") for level in levels})
LOUD = 300  # |sample| above this is 'non-silent' (as tests/speech.py)

#: What a user says -> the command intent it must trigger.
UTTERANCES: dict[str, str] = {
    "stop": "stop", "stop it": "stop", "please stop": "stop", "stop talking": "stop", "be quiet": "stop",
    "next": "next", "repeat": "repeat", "slower": "slower", "slow down": "slower", "faster": "faster",
    "speed up": "faster",
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

#: Thresholds tried by --tune, most permissive first. PocketSphinx takes thresholds above 1 too
#: (the keyphrase must then beat the phone loop outright); single words may need them.
GRID = [10.0 ** e for e in range(-40, 11)]


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


#: The assistant's voices (--assistant-voices): the thresholds must hold for each one it can speak with.
ASSISTANT_VOICES = ("espeak", "piper")


def assistant_synthesizer(voice: str):
    if voice == "piper":
        from voice_assistant.tts.piper import PiperSynthesizer
        from voice_assistant.tts.selection import packaged_piper_voice

        return PiperSynthesizer(packaged_piper_voice())
    from voice_assistant.tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer()


def synthesize_assistant(sentences: list[str], styles: list[tuple[str, float]]) -> dict[tuple, np.ndarray]:
    """Every sentence in every style (assistant voice, rate), keyed by ((voice, rate), sentence)."""
    audio = {}
    for voice in dict.fromkeys(v for v, _ in styles):
        synthesizer = assistant_synthesizer(voice)
        for style in [st for st in styles if st[0] == voice]:
            settings = VoiceSettings(rate=style[1])
            for sentence in sentences:
                pcm, native = synthesizer.synthesize(sentence, settings)
                audio[(style, sentence)] = to_16k(np.frombuffer(pcm, dtype="<i2"), native)
    return audio


def steady_noise(length: int, rms: float, seed: int) -> np.ndarray:
    """A fan or air conditioner: seeded white noise, low-passed (as tests/test_loop.py's room)."""
    white = np.random.default_rng(seed).normal(0.0, 1.0, length)
    hum = np.convolve(white, np.ones(8) / 8, mode="same")
    return hum * rms / hum.std()


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


def make_mixes(sentence_audio: dict, sentences: list[str], styles: list[tuple[str, float]], voices: list[str],
               per_cell: int, seed: int) -> list[dict]:
    """Command utterances over random assistant sentences, deterministic for a seed."""
    rng = random.Random(seed)
    pairs = [(text, voice) for text in UTTERANCES for voice in voices]
    with ThreadPoolExecutor(4) as threads:
        commands = dict(zip(pairs, threads.map(lambda pair: synthesize_user(*pair), pairs)))
    mixes = []
    for (text, voice), command in commands.items():
        intent = UTTERANCES[text]
        command_seconds = len(command) / SAMPLE_RATE
        pool = [s for s in sentences if intent not in words_of(s)]
        base = dict(text=text, intent=intent, voice=voice)
        word_end = speech_end(command)
        # clean: the command alone (once: it would be the same every time), heard by a fresh and a warm spotter
        onset = 0.5
        audio = np.zeros(int((onset + command_seconds + DETECT_WINDOW + 0.2) * SAMPLE_RATE), "<i2")
        audio[int(onset * SAMPLE_RATE):int(onset * SAMPLE_RATE) + len(command)] = command
        for condition in ("clean/fresh", "clean"):
            mixes.append(dict(base, condition=condition, cmn=CONDITIONS[condition][1], echo="", rate=None,
                              onset=onset, end=onset + word_end, audio=audio))
        for condition, (level, cmn) in CONDITIONS.items():
            if level is None:
                continue
            for _ in range(per_cell):
                while True:
                    echo_text, rate = rng.choice(pool), rng.choice(styles)
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
                    gain *= 32000 / peak
                mixes.append(dict(base, condition=condition, cmn=cmn, echo=echo_text, rate=rate, onset=onset,
                                  end=onset + word_end, echo_gain=gain, audio=np.round(mixed).astype("<i2")))
    return mixes


def reply_runs(replies: list[tuple[str, ...]]) -> list[list[str]]:
    """Stretches of replies, played back to back, that hold every adjacent sentence pair once."""
    covered: set[tuple[str, str]] = set()
    runs: list[list[str]] = []
    for reply in replies:
        sentences = [s for chunk in reply for s in split_sentences(chunk)]
        current: list[str] | None = None
        for first, second in zip(sentences, sentences[1:]):
            if (first, second) in covered:
                current = None
                continue
            covered.add((first, second))
            if current is None:
                current = [first]
                runs.append(current)
            current.append(second)
    return runs


def warm_cmn(sentence_audio: dict, styles: list[tuple[str, float]]) -> tuple[list[float], float]:
    """The cepstral mean after the spotter has heard a minute of the assistant, and how far its first
    coefficient (log energy) moves per unit of ln(gain): scaling the audio shifts c0 alone."""
    from voice_assistant.stt.spotter import CommandSpotter

    decoder = CommandSpotter().decoder
    initial = decoder.get_cmn()
    normal = {v: min((st for st in styles if st[0] == v), key=lambda st: abs(st[1] - 1.0)) for v, _ in styles}
    per_voice = [np.concatenate([a for (st, _), a in sentence_audio.items() if st == style])[:60 * SAMPLE_RATE]
                 for style in normal.values()]
    audio = np.concatenate([part[:len(part) // len(per_voice)] for part in per_voice])
    means = []
    for gain in (1.0, 0.25):
        decoder.set_cmn(initial)
        decoder.start_utt()
        decoder.process_raw(np.round(audio * gain).astype("<i2").tobytes(), False, True)
        decoder.end_utt()
        means.append([float(v) for v in decoder.get_cmn().split(",")])
    return means[0], (means[0][0] - means[1][0]) / np.log(4.0)


# -- the spotter in worker processes ----------------------------------------------------------

_DATA: dict = {}  # filled before the pool forks: audio, items, mixes, the warm cepstral mean
_WORKER: dict = {}


def _spotter(keyphrases: dict[str, list], cmn: str, gain: float = 1.0):
    from voice_assistant.stt.spotter import CommandSpotter

    key = json.dumps(keyphrases, sort_keys=True)
    cache = _WORKER.setdefault("spotters", {})
    if key not in cache:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))[0].reset()
        spotter = CommandSpotter({k: (v[0], float(v[1])) for k, v in keyphrases.items()})
        cache[key] = (spotter, spotter.decoder.get_cmn())
    spotter, fresh = cache[key]
    spotter.reset()
    if cmn == "fresh":
        spotter.decoder.set_cmn(fresh)
    else:  # warm, for the assistant heard at ``gain`` times the level the mean was measured at
        mean, slope = _DATA["warm_cmn"]
        spotter.decoder.set_cmn(",".join(f"{v:g}" for v in [mean[0] + slope * np.log(gain), *mean[1:]]))
    return spotter


def detections(keyphrases: dict[str, list], samples: np.ndarray, cmn: str,
               gain: float = 1.0) -> list[tuple[str, float]]:
    """(intent, seconds at the end of the frame that reported it) for ``samples`` fed in 30 ms frames."""
    spotter = _spotter(keyphrases, cmn, gain)
    pad = (-len(samples)) % FRAME_SAMPLES
    pcm = np.concatenate([samples, np.zeros(pad, "<i2")]).astype("<i2").tobytes()
    step = FRAME_SAMPLES * 2
    found = []
    for n, offset in enumerate(range(0, len(pcm), step)):
        intent = spotter.feed(pcm[offset:offset + step])
        if intent is not None:
            found.append((intent, (n + 1) * FRAME_SECONDS))
    spotter.reset()
    return found


def _recognizer():
    """The worker's recognizer for confirming a spotted command, as the loop does (None: not confirmed)."""
    if _DATA["confirm_engine"] is None:
        return None
    if "recognizer" not in _WORKER:
        from voice_assistant.app import build_recognizer
        from voice_assistant.knowledge import load_pack

        _WORKER["recognizer"] = build_recognizer(_DATA["confirm_engine"], load_pack(), notify=lambda message: None)
    return _WORKER["recognizer"]


def confirmed(keyphrases: dict[str, list], intent: str, samples: np.ndarray, t: float, said: str) -> tuple[bool, float]:
    """ConversationLoop._confirmed: does the recognizer hear a keyphrase of ``intent`` in the
    ``confirm_seconds`` before ``t``, in words the assistant (``said``) was not saying? And how long
    the decode took."""
    recognizer = _recognizer()
    if recognizer is None:
        return True, 0.0
    end = int(t * SAMPLE_RATE)
    start = max(0, end - int(_DATA["confirm_seconds"] * SAMPLE_RATE))
    began = time.perf_counter()
    heard = f" {normalize(recognizer.hear_once(samples[start:end].astype('<i2').tobytes()).text)} "
    took = time.perf_counter() - began
    spoken = f" {normalize(said)} "
    phrases = [p for p, (i, _) in keyphrases.items() if i == intent]
    return any(f" {p} " in heard and f" {p} " not in spoken for p in phrases), took


def run_item(args: tuple) -> dict:
    kind, index, keyphrases = args
    if kind == "sentence":
        rate, sentence, cmn, snr = _DATA["sentence_items"][index]
        audio = np.concatenate([_DATA["audio"][(rate, sentence)], np.zeros(int(SENTENCE_TAIL * SAMPLE_RATE), "<i2")])
        if snr is not None:  # the assistant heard over a steady room noise ``snr`` dB under its voice
            noise = steady_noise(len(audio), active_rms(audio) * 10 ** (-snr / 20), seed=index)
            audio = np.clip(np.round(audio + noise), -32768, 32767).astype("<i2")
        words = words_of(sentence)
        hits = detections(keyphrases, audio, cmn)
        spotted = [(i, t) for i, t in hits if i not in words]
        checks = [confirmed(keyphrases, i, audio, t, sentence) for i, t in spotted]
        return dict(kind=kind, index=index, self=[h for h, (ok, _) in zip(spotted, checks) if ok],
                    refuted=[h for h, (ok, _) in zip(spotted, checks) if not ok],
                    confirm_s=[took for _, took in checks], ignored=[(i, t) for i, t in hits if i in words])
    if kind == "run":
        rate, sentences = _DATA["run_items"][index]
        parts = [_DATA["audio"][(rate, s)] for s in sentences]
        audio = np.concatenate(parts)
        ends = np.cumsum([len(p) for p in parts]) / SAMPLE_RATE
        selfs, ignored, refuted, confirm_s = [], [], [], []
        for intent, t in detections(keyphrases, audio, "warm"):
            at = min(int(np.searchsorted(ends, t + _DATA["latency"], side="right")), len(sentences) - 1)
            said = " ".join(sentences[max(0, at - 1):at + 1])  # the loop checks the one before too
            if intent in words_of(said):
                ignored.append((intent, t, sentences[at]))
                continue
            ok, took = confirmed(keyphrases, intent, audio, t, said)
            confirm_s.append(took)
            (selfs if ok else refuted).append((intent, t, sentences[at]))
        return dict(kind=kind, index=index, self=selfs, ignored=ignored, refuted=refuted, confirm_s=confirm_s)
    mix = _DATA["mixes"][index]
    echo_words = words_of(mix["echo"])
    hit, wrong, spotted, confirm_s = None, [], 0, []
    for intent, t in detections(keyphrases, mix["audio"], mix["cmn"], mix.get("echo_gain", 1.0)):
        right = intent == mix["intent"] and mix["onset"] <= t <= mix["end"] + DETECT_WINDOW
        if intent in echo_words or (right and hit is not None):
            continue
        ok, took = confirmed(keyphrases, intent, mix["audio"], t, mix["echo"])
        confirm_s.append(took)
        if right:
            spotted += 1
            if ok:
                hit = t - mix["end"]
        elif ok and intent != mix["intent"]:
            wrong.append((intent, t))
    return dict(kind=kind, index=index, delay=hit, wrong=wrong, spotted=spotted, confirm_s=confirm_s)


# -- measuring --------------------------------------------------------------------------------

def evaluate(pool, keyphrases: dict[str, list]) -> list[dict]:
    items = [("mix", i, keyphrases) for i in range(len(_DATA["mixes"]))]
    items += [("run", i, keyphrases) for i in range(len(_DATA["run_items"]))]
    items += [("sentence", i, keyphrases) for i in range(len(_DATA["sentence_items"]))]
    return list(pool.imap(run_item, items, chunksize=2))


def self_triggers(pool, phrase: str, intent: str, threshold: float, suspects: list[tuple]) -> list[tuple]:
    """Items on which one keyphrase alone self-triggers; stops at the first batch that has any."""
    keyphrases = {phrase: [intent, threshold]}
    order = suspects + [("run", i) for i in range(len(_DATA["run_items"]))]
    order += [("sentence", i) for i, (_, s, _, _) in enumerate(_DATA["sentence_items"]) if intent not in words_of(s)]
    order = list(dict.fromkeys(order))
    batch = 4 * _DATA["workers"]
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        results = pool.map(run_item, [(k, i, keyphrases) for k, i in chunk], chunksize=1)
        triggered = [item for item, result in zip(chunk, results) if result["self"]]
        if triggered:
            return triggered
    return []


def tune(pool, candidates: dict[str, str]) -> dict[str, list]:
    """Per keyphrase, the most permissive threshold on GRID with no self-trigger (coarse, then fine)."""
    table = {}
    for phrase, intent in candidates.items():
        started = time.perf_counter()
        suspects: list[tuple] = []
        tried: list[tuple[float, bool]] = []
        chosen, lax_bad = GRID[-1], None
        for threshold in [t for t in GRID if round(np.log10(t)) % 5 == 0]:  # 1e-40, 1e-35 ... 1e+10
            found = self_triggers(pool, phrase, intent, threshold, suspects)
            tried.append((threshold, not found))
            if not found:
                chosen = threshold
                break
            lax_bad, suspects = threshold, found + suspects
        if lax_bad is not None:
            for threshold in [t for t in GRID if lax_bad < t < chosen]:
                found = self_triggers(pool, phrase, intent, threshold, suspects)
                tried.append((threshold, not found))
                if not found:
                    chosen = threshold
                    break
                suspects = found + suspects
        table[phrase] = [intent, chosen]
        shown = " ".join(f"{t:.0e}:{'ok' if ok else 'x'}" for t, ok in tried)
        print(f"  {phrase:<12} -> {chosen:.0e}   ({shown}; {time.perf_counter() - started:.0f} s)", flush=True)
    return table


def tighten(pool, keyphrases: dict[str, list]) -> dict[str, list]:
    """Per keyphrase, from its threshold, ten times stricter until it alone has no self-trigger."""
    table = {}
    for phrase, (intent, threshold) in keyphrases.items():
        started, suspects, tried = time.perf_counter(), [], []
        while True:
            found = self_triggers(pool, phrase, intent, threshold, suspects)
            tried.append((threshold, not found))
            if not found or threshold >= GRID[-1]:
                break
            threshold, suspects = threshold * 10, found + suspects
        table[phrase] = [intent, float(f"{threshold:.0e}")]
        shown = " ".join(f"{t:.0e}:{'ok' if ok else 'x'}" for t, ok in tried)
        print(f"  {phrase:<12} -> {threshold:.0e}   ({shown}; {time.perf_counter() - started:.0f} s)", flush=True)
    return table


def summarize(results: list[dict], keyphrases: dict[str, list]) -> dict:
    sentences = [r for r in results if r["kind"] == "sentence"]
    runs = [r for r in results if r["kind"] == "run"]
    mixes = [(r, _DATA["mixes"][r["index"]]) for r in results if r["kind"] == "mix"]
    intents = list(dict.fromkeys([v[0] for v in keyphrases.values()] + list(UTTERANCES.values())))
    summary: dict = {"keyphrases": keyphrases, "sentence_items": len(sentences), "runs": len(runs),
                     "intents": {}, "utterances": {}, "voices": {}}
    for intent in intents:
        summary["intents"][intent] = dict(
            self=sum(i == intent for r in sentences for i, _ in r["self"]),
            runs=sum(i == intent for r in runs for i, _, _ in r["self"]),
            ignored=sum(i == intent for r in sentences for i, _ in r["ignored"]),
            refuted=sum(i == intent for r in sentences + runs for i, *_ in r["refuted"]))
    for key, field in (("utterances", "text"), ("voices", "voice")):
        for name in dict.fromkeys(m[field] for _, m in mixes):
            row = summary[key][name] = {}
            for condition in CONDITIONS:
                cell = [r for r, m in mixes if m[field] == name and m["condition"] == condition]
                delays = [r["delay"] for r in cell if r["delay"] is not None]
                row[condition] = dict(n=len(cell), hit=len(delays), spotted=sum(r["spotted"] > 0 for r in cell),
                                      delay=statistics.median(delays) if delays else None)
            row["wrong"] = sum(len(r["wrong"]) for r, m in mixes if m[field] == name)
    examples = []
    for r in sentences:
        style, sentence, cmn, snr = _DATA["sentence_items"][r["index"]]
        room = "" if snr is None else f", room noise {snr:g} dB under"
        examples += [f"{intent} @{t:.2f}s, {style[0]} at rate {style[1]}, {cmn}{room}: {sentence}"
                     for intent, t in r["self"]]
    for r in runs:
        style = _DATA["run_items"][r["index"]][0]
        examples += [f"{intent} @{t:.2f}s in a run, {style[0]} at rate {style[1]}: {current}"
                     for intent, t, current in r["self"]]
    summary["self_trigger_examples"] = examples
    summary["wrong_examples"] = [f"{m['text']!r} ({m['voice']}, {m['condition']}) -> {w} @{t:.2f}s"
                                 for r, m in mixes for w, t in r["wrong"]]
    summary["delays"] = sorted(r["delay"] for r, m in mixes if r["delay"] is not None)
    confirm = sorted(t for r in results for t in r.get("confirm_s", []))
    summary["confirm"] = {"engine": _DATA["confirm_engine"], "seconds": _DATA["confirm_seconds"],
                          "decodes": len(confirm),
                          "median_s": statistics.median(confirm) if confirm else None,
                          "p95_s": confirm[int(0.95 * (len(confirm) - 1))] if confirm else None,
                          "spotted": sum(r["spotted"] > 0 for r, _ in mixes if "spotted" in r),
                          "confirmed": sum(r["delay"] is not None for r, _ in mixes), "mixes": len(mixes)}
    return summary


def print_table(summary: dict, rates: list[float], voices: list[str]) -> None:
    def cell(c) -> str:
        hit = f"{100 * c['hit'] / c['n']:3.0f}%" if c["n"] else "   -"
        return f"{hit} {c['delay'] * 1000:4.0f}" if c["delay"] is not None else f"{hit}    -"

    print(f"\nSelf-triggers ('self': {summary['sentence_items']} sentence items, warm spotter at rates {rates} "
          f"and fresh at the rate nearest 1; 'runs': {summary['runs']} runs of sentences played back to back)")
    print(f"{'command':<8} {'self':>4} {'runs':>4} {'echo-ign':>8} {'refuted':>7}  keyphrases")
    for intent, row in summary["intents"].items():
        phrases = ", ".join(f"{p} {v[1]:.0e}" for p, v in summary["keyphrases"].items() if v[0] == intent)
        print(f"{intent:<8} {row['self']:>4} {row['runs']:>4} {row['ignored']:>8} {row['refuted']:>7}  {phrases}")
    c = summary["confirm"]
    if c["engine"]:
        print(f"('refuted': spotted, then not heard by {c['engine']} in the {c['seconds']:g} s before: ignored, as "
              f"the loop does.) {c['decodes']} confirming decodes, median {c['median_s'] * 1000:.0f} ms, "
              f"p95 {c['p95_s'] * 1000:.0f} ms; of {c['mixes']} command mixes, {c['spotted']} spotted, "
              f"{c['confirmed']} confirmed")
    print(f"\nDetection (% of mixes over {len(voices)} voices, median ms from the end of the command word)")
    header = " | ".join(f"{c:>9}" for c in CONDITIONS)
    for key in ("utterances", "voices"):
        print(f"{'by ' + key[:-1]:<14} | {header} | wrong")
        for name, row in summary[key].items():
            print(f"{name:<14} | " + " | ".join(f"{cell(row[c]):>9}" for c in CONDITIONS) + f" | {row['wrong']:>5}")
        print()
    delays = summary["delays"]
    if delays:
        print(f"Delay over all {len(delays)} detections: median {statistics.median(delays) * 1000:.0f} ms, "
              f"90th percentile {delays[int(0.9 * (len(delays) - 1))] * 1000:.0f} ms, "
              f"max {delays[-1] * 1000:.0f} ms")
    for title, key in (("Self-triggers", "self_trigger_examples"), ("Wrong commands", "wrong_examples")):
        if summary[key]:
            print(f"\n{title} ({len(summary[key])}):")
            for line in summary[key][:25]:
                print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mixes", type=int, default=2, help="mixes per utterance x voice x condition")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rates", default="0.8,1.0,1.25", help="assistant speaking rates")
    parser.add_argument("--assistant-voices", default=",".join(ASSISTANT_VOICES),
                        help="the assistant's voices whose sentences must not trigger a command")
    parser.add_argument("--confirm-engine", default="whisper", choices=("whisper", "pocketsphinx", "none"),
                        help="the recognizer that confirms a spotted command, as the loop's (none: spotter alone)")
    parser.add_argument("--room-noise", default="15",
                        help="also run every sentence (at the rate nearest 1) over steady room noise this many "
                             "dB under it; '' for none")
    parser.add_argument("--voices", default=",".join(USER_VOICES))
    parser.add_argument("--latency", type=float, default=0.1, help="speaker-to-microphone lag in the runs")
    parser.add_argument("--levels", default="-6,-12", help="assistant levels in dB relative to the command")
    parser.add_argument("--keyphrases", help="JSON {phrase: [intent, threshold]} instead of KEYPHRASES")
    parser.add_argument("--tune", nargs="?", const="*", metavar="PHRASES",
                        help="search thresholds (of these keyphrases, default all), then measure the result")
    parser.add_argument("--tighten", action="store_true",
                        help="make each keyphrase stricter, a decade at a time, until it has no self-trigger "
                             "(e.g. at other --rates), then measure the result")
    parser.add_argument("--add", default="", help="with --tune: extra keyphrases 'phrase[:intent],...'")
    parser.add_argument("--drop", default="", help="with --tune: keyphrases to leave out, comma-separated")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from voice_assistant.stt.spotter import KEYPHRASES

    started = time.perf_counter()
    rates = [float(r) for r in args.rates.split(",")]
    set_levels([float(level) for level in args.levels.split(",") if level])
    voices = [v for v in args.voices.split(",") if v]
    keyphrases = ({k: list(v) for k, v in json.loads(args.keyphrases).items()} if args.keyphrases
                  else {k: list(v) for k, v in KEYPHRASES.items()})
    replies = assistant_replies()
    sentences = assistant_sentences(replies)
    assistant_voices = [v for v in args.assistant_voices.split(",") if v]
    styles = [(v, r) for v in assistant_voices for r in rates]
    audio = synthesize_assistant(sentences, styles)
    mixes = make_mixes(audio, sentences, styles, voices, args.mixes, args.seed)
    runs = reply_runs(replies)
    normal = min(rates, key=lambda r: abs(r - 1.0))
    snrs = [float(v) for v in args.room_noise.split(",") if v]
    sentence_items = [(st, s, "warm", None) for st in styles for s in sentences]
    for voice in assistant_voices:
        sentence_items += [((voice, normal), s, "fresh", None) for s in sentences]
        sentence_items += [((voice, normal), s, "warm", snr) for snr in snrs for s in sentences]
    from voice_assistant.loop import LoopSettings

    _DATA.update(confirm_engine=None if args.confirm_engine == "none" else args.confirm_engine,
                 confirm_seconds=LoopSettings().barge_in_confirm_seconds)
    _DATA.update(audio=audio, mixes=mixes, latency=args.latency, workers=args.workers,
                 warm_cmn=warm_cmn(audio, styles), sentence_items=sentence_items,
                 run_items=[((voice, normal), run) for voice in assistant_voices for run in runs])
    seconds = sum(len(a) for a in audio.values()) / SAMPLE_RATE
    print(f"{len(replies)} replies, {len(sentences)} sentences ({seconds / 60:.1f} min in voices "
          f"{assistant_voices} at rates {rates}, and over room noise {snrs} dB under), "
          f"{len(runs)} runs; {len(mixes)} command mixes; prepared in {time.perf_counter() - started:.0f} s",
          flush=True)

    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        if args.tune:
            for spec in filter(None, (s.strip() for s in args.add.split(","))):
                phrase, _, intent = (part.strip() for part in spec.partition(":"))
                known = [w for w in phrase.split() if w in UTTERANCES.values()]
                keyphrases[phrase] = [intent or UTTERANCES.get(phrase) or known[0], None]
            for phrase in filter(None, (s.strip() for s in args.drop.split(","))):
                keyphrases.pop(phrase, None)
            chosen = set(keyphrases) if args.tune == "*" else {p.strip() for p in args.tune.split(",")}
            candidates = {k: v[0] for k, v in keyphrases.items() if k in chosen or v[1] is None}
            print(f"Tuning {', '.join(candidates)}, each alone (ok: no self-trigger, x: self-triggers):",
                  flush=True)
            keyphrases.update(tune(pool, candidates))
        if args.tighten:
            print("Tightening each keyphrase alone (ok: no self-trigger, x: self-triggers):", flush=True)
            keyphrases = tighten(pool, keyphrases)
        results = evaluate(pool, keyphrases)
    summary = summarize(results, keyphrases)
    print_table(summary, rates, voices)
    print("\nThresholds: " + json.dumps({k: [v[0], f"{v[1]:.0e}"] for k, v in keyphrases.items()}))
    print(f"Total time {time.perf_counter() - started:.0f} s with {args.workers} workers")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
