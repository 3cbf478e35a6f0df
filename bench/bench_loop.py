"""Latency, start-up and memory of the hands-free loop, on virtual devices.

Usage: python bench/bench_loop.py [--limit 40] [--speed 1.0] [--gap-speed 5] [--startup-runs 5]
                                  [--no-cold] [--noise-snr DB] [--json PATH]
                                  [--engine E] [--tts T] [--wait-for-endpoint] [--whisper-window SECONDS|None]
                                  [--no-speculation] [--finalize-ahead SECONDS]

1. A recorded session: ``--limit`` utterances from tests/data/dev_set.yaml
   (the same deterministic, stratified pick as bench_speech.py; empty texts
   and 'stop' / 'goodbye' commands skipped, since they get no spoken answer),
   synthesized with ``espeak-ng -v en-us -s 150`` and cached under
   bench/out/loop/. Each utterance is followed by silence for its whole spoken
   answer: the expected reply (Dialogue.step over the true texts, state
   carried from turn to turn) is synthesized with the app's own voice, and the
   gap is 0.7 s endpoint + 1 s + 1.2 x max(that reply, 15 s) + 2.5 s: a
   misheard question often gets another, longer reply (a 4 s clarifying
   question becomes a 12 s answer), and the next utterance must not land
   while the assistant is still talking (the loop would drop it). Utterances
   that did are counted.

   With ``--noise-snr DB``, a noisy room: seeded white noise runs under the
   whole session, DB under the utterances' mean active-speech power
   (bench_speech.active_power, the measure bench_speech.py mixes noise by).

2. The real ConversationLoop (PocketSphinx recognizer from
   build_recognizer('pocketsphinx', ...), EspeakSynthesizer, Speaker,
   CommandSpotter; default LoopSettings but greet=False and the one-time
   silence reprompt off, since it would talk over an utterance) runs on
   VirtualDevices in a fresh subprocess, with an EventRecorder subscribed.

   Pacing: every utterance, from 0.5 s before it until 1.5 s after its
   endpoint, is fed at ``--speed`` (1.0 = real time, the default). The rest of
   each gap, where the assistant is reading its answer to an empty room, is
   fed at ``--gap-speed`` (default 5x): nothing is measured there, and it keeps
   the default run of 40 utterances (about 17 minutes of audio) to about six.
   ``--gap-speed 1`` paces the whole session in real time. The loop's lag
   behind the microphone clock is measured at every utterance start and
   endpoint, to show it has caught up before each measured window. Caveat on
   ``--speed``: above 1 the loop's wall-clock work (decoding, synthesis) takes
   the same time while audio runs faster, so audio-time latency is distorted;
   every latency here is wall-clock (time.monotonic).

3. Per answered utterance (wall clock): endpoint -> first audio = time of the
   first 'audio' event after the utterance's 'matched' event minus the time
   the endpoint's audio reached the loop (the microphone clock: when the chunk
   holding the endpoint frame was delivered, so time the loop spent catching
   up counts); split into loop lag at the endpoint (still busy, e.g. with an
   early finalize), recognizer finalize at the endpoint (finalize_s; ~0 when
   the loop finalized early, during the end-of-speech silence; that early
   finalize is reported apart, early_finalize_s), match (match_s) and first
   TTS chunk (the rest; of which espeak-ng synthesis of the first sentence,
   timed by a thin EspeakSynthesizer subclass). Also end of speech -> first
   audio, which adds the segmenter's end-of-speech silence (0.7 s).

4. Start-up to listening: a fresh ``python -c`` subprocess that imports the
   app, builds core + recognizer + spotter + synthesizer + speaker + loop on
   1 s of silence and runs it until the first 'listening' state; timed from
   Popen to that line, median of ``--startup-runs`` with the LM cache warm,
   and once with an empty cache (XDG_CACHE_HOME pointed at a temporary folder:
   the domain LM is rebuilt; the OS page cache is still warm). Also the CLI
   (``python -m voice_assistant --input-wav silence --no-greeting
   --captions-only --json --engine pocketsphinx``) once, for comparison.

5. Peak memory of the subprocess running the loop (over the whole session)
   and of the start-up subprocess at 'listening': the kernel's resident-set
   high-water mark, VmHWM in /proc/self/status. Not ru_maxrss: Linux carries a
   process's ru_maxrss across fork + exec, so a child started by this (much
   larger) bench process reports the bench's peak instead of its own; ru_maxrss
   is still recorded in the JSON. The microphone here builds its chunks from
   the utterances on the fly and the speaker's output track is not kept, so
   bench-only buffers are a few MB (reported).

Targets: <= 150 ms p95 endpoint -> first audio, start-up <= 1.5 s, peak memory <= 150 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_assistant.audio.base import CHUNK_SECONDS  # noqa: E402
from voice_assistant.audio.virtual import Timeline, VirtualMicrophone  # noqa: E402
from voice_assistant.audio.wav import WavFileSource  # noqa: E402
from bench_speech import active_power, whisper_window  # noqa: E402  (the SNR measure, the window setting)

OUT = ROOT / "bench" / "out" / "loop"
SAMPLE_RATE = 16_000
ESPEAK = ["espeak-ng", "-v", "en-us", "-s", "150"]
SKIP_INTENTS = ("stop", "goodbye")

LEAD_IN_S = 1.0
PRE_WINDOW_S = 0.5  # real-time pacing starts this long before each utterance
POST_ENDPOINT_S = 1.5  # ... and ends this long after its endpoint
ENDPOINT_S = 0.7  # SegmenterSettings.end_silence_seconds
GAP_FACTOR, GAP_EXTRA_S = 1.2, 2.5
#: A misheard question often gets a longer reply than the true text would (a clarifying
#: question becomes a full answer), so every gap allows at least this long a reply.
GAP_FLOOR_S = 15.0
REPROMPT_OFF_S = 1e6
TARGETS = {"endpoint_to_audio_p95_ms": 150.0, "startup_s": 1.5, "peak_memory_mb": 150.0}

# The start-up probe: only what the app itself imports, timed by the parent from Popen.
STARTUP_PROBE = r"""
import time
t0 = time.perf_counter()
import json, os, resource, threading
from voice_assistant.app import build_core, build_recognizer, build_spotter, build_synthesizer
from voice_assistant.audio.virtual import VirtualDevices
from voice_assistant.events import EventBus
from voice_assistant.loop import ConversationLoop, LoopSettings
from voice_assistant.tts.base import VoiceSettings
from voice_assistant.tts.speaker import Speaker
def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}
marks = {"imports": time.perf_counter()}
memory = {"imports": status()}
core = build_core(); marks["core"] = time.perf_counter(); memory["core"] = status()
recognizer = build_recognizer(os.environ.get("BENCH_ENGINE", "pocketsphinx"), core.pack, notify=lambda m: None)
marks["recognizer"] = time.perf_counter(); memory["recognizer"] = status()
spotter = build_spotter(); marks["spotter"] = time.perf_counter(); memory["spotter"] = status()
synthesizer, _ = build_synthesizer(os.environ.get("BENCH_TTS", "auto"), notify=lambda m: None)
marks["synthesizer"] = time.perf_counter(); memory["synthesizer"] = status()
devices = VirtualDevices(bytes(32000), speed=1.0, tail_seconds=0.0)
events = EventBus()
speaker = Speaker(synthesizer, devices.speaker, VoiceSettings(), events)
speaker.prefetch(core.dialogue.first_lines())
loop = ConversationLoop(core, recognizer, devices.microphone, speaker, events, LoopSettings(greet=False),
                        spotter=spotter)
marks["loop"] = time.perf_counter()
ready = threading.Event()
def on_state(event):
    if event.kind == "state" and event.text == "listening" and not ready.is_set():
        marks["listening"] = time.perf_counter()
        memory["listening"] = status()
        print("READY " + json.dumps({"stages": {k: v - t0 for k, v in marks.items()}, "memory_mb": memory,
                                     "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
        ready.set()
        loop.request_stop()
events.subscribe(on_state)
loop.run()
speaker.close(); recognizer.close()
"""


# -- the recorded session ------------------------------------------------------------------

def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(ESPEAK + [text]).encode("utf-8")).hexdigest()[:16]


def utterance_path(text: str) -> Path:
    return OUT / "utterances" / f"{text_key(text)}.wav"


def utterance_pcm(text: str) -> np.ndarray:
    """``text`` spoken by espeak-ng at 150 wpm, 16 kHz int16 (cached under bench/out/loop/)."""
    path = utterance_path(text)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".synth-", suffix=".wav")
        os.close(handle)
        try:
            subprocess.run([*ESPEAK, "-w", temp, text], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
    return np.frombuffer(WavFileSource(path).read_all(), dtype="<i2")


def speech_extent(pcm: np.ndarray, frame: int = 160, floor_db: float = -40.0) -> tuple[int, int]:
    """(first, last) sample of the frames within ``floor_db`` of the loudest 10 ms frame."""
    n = max(1, len(pcm) // frame)
    power = (pcm[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)
    active = np.flatnonzero(power >= power.max() * 10 ** (floor_db / 10))
    return int(active[0]) * frame, int(active[-1] + 1) * frame


def pick_cases(limit: int) -> list[dict]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_speech import load_cases, stratified_subset  # the same pick as the speech benchmark

    cases = [c for c in load_cases() if c.get("intent") not in SKIP_INTENTS]
    return stratified_subset(cases, limit)


def expected_replies(cases: list[dict]) -> list[dict]:
    """The reply each true text gets (state carried over) and how long it takes to say."""
    from voice_assistant.app import build_core
    from voice_assistant.dialogue.state import DialogueState
    from voice_assistant.tts.base import VoiceSettings, split_sentences
    from voice_assistant.tts.espeak import EspeakSynthesizer

    core = build_core()
    synthesizer = EspeakSynthesizer()
    state = DialogueState()
    out = []
    for case in cases:
        reply, state = core.dialogue.step(state, case["text"])
        seconds = 0.0
        voice = VoiceSettings(rate=state.rate)
        for chunk in reply.chunks:
            for sentence in split_sentences(chunk):
                pcm, rate = synthesizer.synthesize(sentence, voice)
                seconds += len(pcm) / 2 / rate
        out.append({"kind": reply.kind, "intent": reply.intent, "seconds": round(seconds, 3),
                    "first_sentence": next((s for c in reply.chunks for s in split_sentences(c)), "")})
    return out


def build_session(limit: int, noise_snr: float | None = None) -> tuple[Path, Path, dict]:
    """Write the session WAV (16 kHz int16) and its plan; return their paths and the plan."""
    from voice_assistant.audio.wav import write_wav

    cases = pick_cases(limit)
    replies = expected_replies(cases)
    pieces = [np.zeros(int(LEAD_IN_S * SAMPLE_RATE), dtype="<i2")]
    position = len(pieces[0])
    utterances, powers = [], []
    for case, reply in zip(cases, replies):
        pcm = utterance_pcm(case["text"])
        first, last = speech_extent(pcm)
        powers.append(active_power(pcm.astype(np.float64)))
        gap = ENDPOINT_S + 1.0 + GAP_FACTOR * max(reply["seconds"], GAP_FLOOR_S) + GAP_EXTRA_S
        silence = np.zeros(int(gap * SAMPLE_RATE), dtype="<i2")
        utterances.append({"text": case["text"], "category": case["category"], "kind": case["kind"],
                           "intent": case["intent"], "wav": str(utterance_path(case["text"])),
                           "start": position, "speech_start": position + first,
                           "speech_end": position + last, "end": position + len(pcm) + len(silence),
                           "expected_reply": reply})
        pieces += [pcm, silence]
        position += len(pcm) + len(silence)
    audio = np.concatenate(pieces)
    # The noise is added on the fly, but the plan records it: a quiet and a noisy run need their own.
    key = hashlib.sha256(audio.tobytes() + repr(noise_snr).encode()).hexdigest()[:12]
    wav, plan_path = OUT / f"session-{key}.wav", OUT / f"session-{key}.json"
    OUT.mkdir(parents=True, exist_ok=True)
    if not wav.is_file():
        write_wav(wav, audio.tobytes(), SAMPLE_RATE)
    noise_rms = None if noise_snr is None else float(np.sqrt(np.mean(powers) / 10 ** (noise_snr / 10)))
    plan = {"wav": str(wav), "samples": len(audio), "utterances": utterances,
            "noise_snr_db": noise_snr, "noise_rms": noise_rms,
            "gap": {"endpoint_s": ENDPOINT_S, "factor": GAP_FACTOR, "floor_s": GAP_FLOOR_S,
                    "extra_s": GAP_EXTRA_S}}
    plan_path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return wav, plan_path, plan


def realtime_windows(plan: dict) -> list[tuple[int, int]]:
    """Sample ranges fed at --speed: each utterance from just before it until after its endpoint."""
    return [(max(0, u["speech_start"] - int(PRE_WINDOW_S * SAMPLE_RATE)),
             u["speech_end"] + int((ENDPOINT_S + POST_ENDPOINT_S) * SAMPLE_RATE)) for u in plan["utterances"]]


# -- the loop run (in its own process) -----------------------------------------------------

def proc_status() -> dict:
    """Peak and current resident memory, anonymous and file-backed, in MB (Linux)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return {k: int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}
    except (OSError, KeyError, ValueError):
        return {}


class PacedMicrophone(VirtualMicrophone):
    """The session's microphone, paced at ``speed`` inside the windows and ``gap_speed`` outside.

    Same chunks as VirtualMicrophone over the session WAV (echo 0), but built
    on the fly from the utterances and silence, so the bench does not hold
    the whole recording as float32 in the process being measured.
    """

    def __init__(self, plan: dict, timeline: Timeline, speed: float, gap_speed: float) -> None:
        # No super().__init__: that would hold the whole session as float32.
        self.timeline = timeline
        self.speed = speed
        self.echo_gain = 0.0
        self.noise_rms = plan.get("noise_rms")
        self._closed = threading.Event()
        self.length = plan["samples"] + SAMPLE_RATE // 2
        step = self.step = int(SAMPLE_RATE * CHUNK_SECONDS)
        self.parts = [(u["start"], np.frombuffer(WavFileSource(u["wav"]).read_all(), dtype="<i2"))
                      for u in plan["utterances"]]
        starts = np.arange(0, self.length, step)
        inside = np.zeros(len(starts), dtype=bool)
        for a, b in realtime_windows(plan):
            inside[(starts >= a) & (starts < b)] = True
        pace = np.where(inside, speed, max(speed, gap_speed))
        self.offsets = np.concatenate([[0.0], np.cumsum(step / SAMPLE_RATE / pace)])  # due, s after start
        self.started = 0.0

    def due(self, position: int) -> float:
        return self.started + float(self.offsets[min(len(self.offsets) - 1, max(0, position) // self.step)])

    def _frame(self, start: int) -> np.ndarray:
        frame = np.zeros(min(self.step, self.length - start), dtype=np.float64)
        for begin, pcm in self.parts:
            lo, hi = max(start, begin), min(start + len(frame), begin + len(pcm))
            if lo < hi:
                frame[lo - start:hi - start] = pcm[lo - begin:hi - begin]
        if self.noise_rms:
            frame += np.random.default_rng(start).normal(0.0, self.noise_rms, len(frame))
        return np.clip(np.round(frame), -32768, 32767).astype("<i2")

    def chunks(self):
        self.started = time.monotonic()
        for index, start in enumerate(range(0, self.length, self.step)):
            if self._closed.is_set():
                return
            delay = self.started + self.offsets[index] - time.monotonic()
            if delay > 0:
                self._closed.wait(delay)
            frame = self._frame(start)
            with self.timeline.moved:
                self.timeline.position = start + len(frame)
                self.timeline.moved.notify_all()
            yield frame.tobytes()
        with self.timeline.moved:
            self.timeline.ended = True
            self.timeline.moved.notify_all()


def run_session(plan_path: Path, speed: float, gap_speed: float, result_path: Path) -> None:
    from voice_assistant.app import build_core, build_recognizer, build_spotter, build_synthesizer
    from voice_assistant.audio.virtual import VirtualDevices
    from voice_assistant.events import EventBus, EventRecorder
    from voice_assistant.loop import ConversationLoop, LoopSettings
    from voice_assistant.tts.base import Synthesizer, VoiceSettings
    from voice_assistant.tts.speaker import Speaker

    plan = json.loads(plan_path.read_text(encoding="utf-8"))

    class TimedSynthesizer(Synthesizer):
        """The app's synthesizer, noting when each synthesis started and ended."""

        def __init__(self, inner: Synthesizer) -> None:
            self.inner = inner
            self.log: list[tuple[str, float, float]] = []

        def synthesize(self, text, settings):
            started = time.monotonic()
            result = self.inner.synthesize(text, settings)
            self.log.append((text, started, time.monotonic()))
            return result

    t0 = time.monotonic()
    core = build_core()
    from voice_assistant.stt.whisper_engine import WhisperSettings

    recognizer = build_recognizer(os.environ.get("BENCH_ENGINE", "pocketsphinx"), core.pack,
                                  notify=lambda message: None,
                                  whisper_settings=WhisperSettings(window_seconds=whisper_window()))
    spotter = build_spotter()
    synthesizer = TimedSynthesizer(build_synthesizer(os.environ.get("BENCH_TTS", "auto"),
                                                     notify=lambda message: None)[0])
    devices = VirtualDevices(b"", speed=speed, tail_seconds=0.0)
    devices.microphone = PacedMicrophone(plan, devices.timeline, speed, gap_speed)
    # The output track is not kept (nothing saves it; echo is 0): VirtualSpeaker still
    # resamples and times every sentence on the timeline and records its segment.
    devices.timeline.write = lambda start, samples: None
    events = EventBus()
    recorder = EventRecorder()
    events.subscribe(recorder)
    speaker = Speaker(synthesizer, devices.speaker, VoiceSettings(), events)
    speaker.prefetch(core.dialogue.first_lines())  # as listen.py does
    # Default settings except: no greeting, and no 'I am still listening' reprompt (it comes once, after
    # 8 s of silence; the gaps here are sized for the longest plausible reply, so it would talk over
    # the next utterance and lose it).
    settings = LoopSettings(greet=False, reprompt_seconds=REPROMPT_OFF_S)
    if os.environ.get("BENCH_WAIT_FOR_ENDPOINT"):
        settings = replace(settings, answer_complete_confidence=None)
    if os.environ.get("BENCH_NO_SPECULATION"):
        settings = replace(settings, speculate_after_seconds=None)
    if os.environ.get("BENCH_FINALIZE_AHEAD"):
        settings = replace(settings, finalize_ahead_seconds=float(os.environ["BENCH_FINALIZE_AHEAD"]))
    loop = ConversationLoop(core, recognizer, devices.microphone, speaker, events, settings, spotter=spotter)
    build_s = time.monotonic() - t0
    rss_ready_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status_ready = proc_status()
    mic = devices.microphone
    probes: list[dict] = []

    def probe(event) -> None:  # runs on the loop thread, synchronously with the emit
        if event.kind == "state" and event.text in ("hearing", "thinking"):
            with devices.timeline.lock:
                position = devices.timeline.position
            now = loop.endpoint_time if event.text == "thinking" else event.time
            probes.append({"state": event.text, "time": now, "position": position,
                           "lag": now - mic.due(position - 1), "frames": loop._frames})

    events.subscribe(probe)

    redecodes: list[float] = []

    class RedecodeCounter(logging.Handler):
        """Notes when the recognizer decodes an utterance a second time (its debug message)."""

        def emit(self, record: logging.LogRecord) -> None:
            if "decoding the utterance again" in record.getMessage():
                redecodes.append(time.monotonic())

    engine_log = logging.getLogger("voice_assistant.stt.pocketsphinx_engine")
    engine_log.setLevel(logging.DEBUG)
    engine_log.addHandler(RedecodeCounter(logging.DEBUG))
    cpu0 = time.process_time()
    started = time.monotonic()
    try:
        loop.run()
    finally:
        speaker.close()
        recognizer.close()
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu0

    buffers = sum(pcm.nbytes for _, pcm in mic.parts) + devices.timeline.output.nbytes
    result = {
        "build_s": build_s, "session_wall_s": wall, "cpu_s": cpu, "mic_started": mic.started,
        "audio_s": mic.length / SAMPLE_RATE, "frame_seconds": loop._frame_seconds,
        "maxrss_ready_kb": rss_ready_kb, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "status_ready_mb": status_ready, "status_end_mb": proc_status(),
        "virtual_buffers_bytes": int(buffers), "probes": probes, "redecodes": redecodes,
        "speech_end_due": [mic.due(u["speech_end"]) for u in plan["utterances"]],
        "segments": list(devices.timeline.segments),
        "synth_log": synthesizer.log,
        "events": [{"kind": e.kind, "text": e.text, "time": e.time,
                    "data": {k: v for k, v in e.data.items() if isinstance(v, (str, int, float, bool, type(None)))}}
                   for e in recorder.events],
    }
    result_path.write_text(json.dumps(result), encoding="utf-8")


# -- analysis ------------------------------------------------------------------------------

def analyse(plan: dict, run: dict) -> list[dict]:
    """One record per planned utterance: what the loop heard, said and how long it took."""
    utterances = plan["utterances"]
    starts = [u["start"] for u in utterances]
    events = run["events"]
    audio_events = [i for i, e in enumerate(events) if e["kind"] == "audio"]
    thinking = [p for p in run["probes"] if p["state"] == "thinking"]
    hearing = [p for p in run["probes"] if p["state"] == "hearing"]
    records = [{"index": n, "text": u["text"], "category": u["category"], "expected_kind": u["kind"],
                "expected_intent": u["intent"], "endpoints": 0} for n, u in enumerate(utterances)]
    # When the pacing windows ended, to flag first audio that came after real-time pacing stopped.
    window_end = {n: w[1] for n, w in enumerate(realtime_windows(plan))}

    def owner(position: int) -> int:
        return max(0, int(np.searchsorted(starts, position, side="right")) - 1)

    for record, u in zip(records, utterances):
        record["assistant_speaking_over_it"] = any(a < u["speech_end"] and b > u["speech_start"]
                                                   for a, b in run["segments"])

    for probe in hearing:
        record = records[owner(probe["position"])]
        record.setdefault("lag_at_start_s", probe["lag"])

    thinking_index = [i for i, e in enumerate(events) if e["kind"] == "state" and e["text"] == "thinking"]
    for probe, at in zip(thinking, thinking_index):
        n = owner(probe["position"])
        record = records[n]
        nxt = next((i for i in thinking_index if i > at), len(events))
        heard = next((events[i] for i in range(at, nxt) if events[i]["kind"] == "heard"), None)
        if heard is not None and not heard["text"] and not any(events[i]["kind"] == "matched"
                                                                 for i in range(at, nxt)):
            # Noise taken for speech (the VAD adapting to a noisy room) and decoded as nothing:
            # the loop ignores it silently, so it neither answers nor splits the question.
            record["empty_endpoints"] = record.get("empty_endpoints", 0) + 1
            continue
        record["endpoints"] += 1
        if record["endpoints"] > 1:
            continue  # a second endpoint inside one utterance (a pause): the first one is measured
        # The endpoint is when its audio reached the loop (the microphone clock), not when the loop got
        # to it: a loop still busy with an early finalize is behind, and that wait counts as latency.
        endpoint = probe["time"] - max(0.0, probe["lag"])
        record["lag_at_endpoint_s"] = probe["lag"]
        record["endpoint_audio_s"] = probe["position"] / SAMPLE_RATE
        matched = next((i for i in range(at, nxt) if events[i]["kind"] == "matched"), None)
        record["heard"] = heard["text"] if heard else None
        record["transcript"] = heard["data"].get("transcript") if heard else None
        if matched is None:
            continue
        m = events[matched]
        # A second decode runs in the finalize: early (in the end-of-speech silence) or at the endpoint.
        record["redecoded"] = any(run["speech_end_due"][n] <= t <= m["time"] for t in run["redecodes"])
        record.update(reply_kind=m["data"].get("kind"), reply_intent=m["data"].get("intent"),
                      finalize_s=m["data"]["finalize_s"], match_s=m["data"]["match_s"],
                      early_finalize_s=m["data"].get("early_finalize_s"))
        first_audio = next((i for i in audio_events if i > matched), None)
        if first_audio is None or first_audio > nxt:
            continue
        a = events[first_audio]
        e2a = a["time"] - endpoint
        synth = [s for s in run["synth_log"] if s[0] == a["text"] and s[2] <= a["time"] + 1e-6]
        played = audio_events.index(first_audio)  # each 'audio' event is followed by one play()
        segment = run["segments"][played] if played < len(run["segments"]) else None
        speech_end = utterances[n]["speech_end"]
        record.update(
            answered=True, first_sentence=a["text"], endpoint_to_audio_s=e2a,
            tts_s=e2a - max(0.0, probe["lag"]) - record["finalize_s"] - record["match_s"],
            synth_s=(synth[-1][2] - synth[-1][1]) if synth else None,
            end_of_speech_to_audio_s=a["time"] - run["speech_end_due"][n],
            audio_clock_latency_s=(segment[0] - speech_end) / SAMPLE_RATE if segment else None,
            within_realtime_window=bool(segment and segment[0] <= window_end[n]))
    return records


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "max": max(values) if values else None}


# -- start-up --------------------------------------------------------------------------------

def startup_once(env_extra: dict | None = None) -> dict:
    env = {**os.environ, **(env_extra or {})}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", STARTUP_PROBE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready = None
    for line in proc.stdout:
        if line.startswith("READY "):
            ready = time.perf_counter() - started
            info = json.loads(line[6:])
            break
    _, err = proc.communicate(timeout=120)
    if ready is None:
        raise RuntimeError(f"start-up probe failed (exit {proc.returncode}): {err[-2000:]}")
    return {"to_listening_s": ready, **info}


def startup_cli(silence_wav: Path) -> float:
    argv = [sys.executable, "-m", "voice_assistant", "listen", "--input-wav", str(silence_wav), "--no-greeting",
            "--captions-only", "--json", "--engine", "pocketsphinx"]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = None
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "state" and event.get("text") == "listening":
            ready = time.perf_counter() - started
            break
    _, err = proc.communicate(timeout=120)
    if ready is None:
        raise RuntimeError(f"CLI did not reach 'listening' (exit {proc.returncode}): {err[-2000:]}")
    return ready


def measure_startup(runs: int, cold: bool) -> dict:
    startup_once()  # make sure the LM cache exists and the files are in the page cache
    warm = [startup_once() for _ in range(runs)]
    out = {"warm_runs_s": [w["to_listening_s"] for w in warm],
           "warm_median_s": statistics.median(w["to_listening_s"] for w in warm),
           "warm_stages_s": {k: statistics.median(w["stages"][k] for w in warm) for k in warm[0]["stages"]},
           "peak_mb_at_listening": statistics.median(w["memory_mb"]["listening"]["VmHWM"] for w in warm),
           "ru_maxrss_mb_inherited": statistics.median(w["maxrss_kb"] for w in warm) / 1024,
           "warm_memory_mb": [w["memory_mb"] for w in warm]}
    if cold:
        with tempfile.TemporaryDirectory(prefix="va-cold-cache-") as cache:
            c = startup_once({"XDG_CACHE_HOME": cache})
        out.update(cold_s=c["to_listening_s"], cold_stages_s=c["stages"])
    silence = OUT / "silence-1s.wav"
    if not silence.is_file():
        from voice_assistant.audio.wav import write_wav

        OUT.mkdir(parents=True, exist_ok=True)
        write_wav(silence, bytes(2 * SAMPLE_RATE), SAMPLE_RATE)
    try:
        out["cli_to_listening_s"] = startup_cli(silence)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        out["cli_error"] = str(exc)
    return out


# -- main --------------------------------------------------------------------------------------

def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=40, help="utterances in the session (default 40)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="microphone pace around each utterance (1 = real time, the default)")
    parser.add_argument("--gap-speed", type=float, default=5.0,
                        help="pace while the assistant reads its answer to the empty room (1 = real time)")
    parser.add_argument("--startup-runs", type=int, default=5, help="warm start-up runs (median reported)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache start-up run")
    parser.add_argument("--skip-startup", action="store_true", help="only the loop session")
    parser.add_argument("--noise-snr", type=float, metavar="DB",
                        help="a noisy room: white noise this many dB under the speech, all session long")
    parser.add_argument("--json", metavar="PATH", help="write the figures (and per-utterance records) here")
    parser.add_argument("--engine", default="pocketsphinx", choices=("pocketsphinx", "whisper", "vosk"),
                        help="recognizer of the loop (default pocketsphinx)")
    parser.add_argument("--tts", default="auto", choices=("auto", "piper", "espeak"),
                        help="the voice, as the app's --tts (default auto: Piper's joe)")
    parser.add_argument("--wait-for-endpoint", action="store_true",
                        help="never answer a whole question at the early finalize (LoopSettings."
                             "answer_complete_confidence=None)")
    parser.add_argument("--whisper-window", default=None, metavar="SECONDS|None",
                        help="window a question is encoded in (WhisperSettings.window_seconds; None: 30 s)")
    parser.add_argument("--no-speculation", action="store_true",
                        help="decode a whole-utterance recognizer (Whisper) at the early finalize only, not in "
                             "the background from the first silent frame (LoopSettings.speculate_after_seconds=None)")
    parser.add_argument("--finalize-ahead", type=float, metavar="SECONDS",
                        help="finalize (and answer a whole question) this long before the 0.7 s endpoint "
                             "(LoopSettings.finalize_ahead_seconds, default 0.45: after 0.25 s of silence)")
    parser.add_argument("--child-session", nargs=2, metavar=("PLAN", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["BENCH_ENGINE"] = args.engine  # the session and start-up subprocesses inherit it
    os.environ["BENCH_TTS"] = args.tts
    if args.wait_for_endpoint:
        os.environ["BENCH_WAIT_FOR_ENDPOINT"] = "1"
    if args.whisper_window is not None:
        os.environ["BENCH_WHISPER_WINDOW"] = args.whisper_window
    if args.no_speculation:
        os.environ["BENCH_NO_SPECULATION"] = "1"
    if args.finalize_ahead is not None:
        os.environ["BENCH_FINALIZE_AHEAD"] = str(args.finalize_ahead)
    if args.child_session:
        run_session(Path(args.child_session[0]), args.speed, args.gap_speed, Path(args.child_session[1]))
        return 0
    if args.speed <= 0 or args.gap_speed <= 0:
        parser.error("--speed and --gap-speed must be positive")

    command = shlex.join([Path(sys.executable).name, *sys.argv])
    print(f"command: {command}", flush=True)
    bench_started = time.monotonic()
    load_before = os.getloadavg()

    t = time.monotonic()
    wav, plan_path, plan = build_session(args.limit, args.noise_snr)
    session_prep_s = time.monotonic() - t
    audio_s = plan["samples"] / SAMPLE_RATE
    print(f"session: {len(plan['utterances'])} utterances, {audio_s:.0f} s of audio ({wav.name}"
          f"{'' if args.noise_snr is None else f', white noise {args.noise_snr:g} dB under the speech'}); "
          f"prepared in {session_prep_s:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-loop-") as temp:
        result_path = Path(temp) / "run.json"
        child = [sys.executable, str(Path(__file__).resolve()), "--speed", str(args.speed), "--gap-speed",
                 str(args.gap_speed), "--engine", args.engine, "--tts", args.tts, "--child-session", str(plan_path), str(result_path)]
        subprocess.run(child, cwd=ROOT, check=True)
        run = json.loads(result_path.read_text(encoding="utf-8"))
    run.update(speed=args.speed, gap_speed=args.gap_speed)
    records = analyse(plan, run)
    answered = [r for r in records if r.get("answered")]

    figures: dict = {
        "engine": args.engine, "tts": args.tts, "noise_snr_db": args.noise_snr, "utterances": len(records), "answered": len(answered),
        "heard_not_answered": sum(1 for r in records if r["endpoints"] and not r.get("answered")),
        "missed": sum(1 for r in records if not r["endpoints"]),
        "missed_while_assistant_spoke": sum(1 for r in records if not r["endpoints"]
                                            and r["assistant_speaking_over_it"]),
        "split_endpoints": sum(max(0, r["endpoints"] - 1) for r in records),
        "empty_endpoints": sum(r.get("empty_endpoints", 0) for r in records),
        "reply_kind_as_expected": sum(1 for r in answered if r.get("reply_kind") == r["expected_kind"]),
        "first_audio_outside_realtime_window": sum(1 for r in answered if not r.get("within_realtime_window")),
        "reprompts": sum(1 for e in run["events"] if e["kind"] == "speaking" and e["text"].startswith(
            "I am still listening")),
        "barge_ins": sum(1 for e in run["events"] if e["kind"] == "barge_in"),
        "errors": [e["text"] for e in run["events"] if e["kind"] == "error"],
    }
    for name in ("endpoint_to_audio_s", "finalize_s", "early_finalize_s", "match_s", "tts_s", "synth_s", "end_of_speech_to_audio_s",
                 "audio_clock_latency_s", "lag_at_endpoint_s", "lag_at_start_s"):
        figures[name] = summary([r[name] for r in answered if r.get(name) is not None])
    figures["redecoded"] = sum(1 for r in answered if r.get("redecoded"))
    def finalize_time(r: dict) -> float:  # wherever the finalize ran: early, or at the endpoint
        return r["early_finalize_s"] if r.get("early_finalize_s") is not None else r["finalize_s"]

    figures["finalize_redecoded_s"] = summary([finalize_time(r) for r in answered if r.get("redecoded")])
    figures["finalize_single_pass_s"] = summary([finalize_time(r) for r in answered if not r.get("redecoded")])
    figures["session"] = {"audio_s": run["audio_s"], "wall_s": run["session_wall_s"], "cpu_s": run["cpu_s"],
                          "build_s": run["build_s"]}
    figures["memory"] = {"peak_mb": run["status_end_mb"].get("VmHWM"),
                         "peak_at_ready_mb": run["status_ready_mb"].get("VmHWM"),
                         "status_ready_mb": run["status_ready_mb"], "status_end_mb": run["status_end_mb"],
                         "ru_maxrss_mb_inherited": run["maxrss_kb"] / 1024,
                         "virtual_buffers_mb": run["virtual_buffers_bytes"] / 2 ** 20}
    if not args.skip_startup:
        print("measuring start-up...", flush=True)
        figures["startup"] = measure_startup(args.startup_runs, not args.no_cold)
    figures["bench_wall_s"] = time.monotonic() - bench_started
    figures["load_average"] = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}

    # -- report
    print()
    print(f"{'per answered utterance (wall clock, ms)':44} {'p50':>6} {'p95':>6} {'max':>6}")
    rows = [("endpoint -> first audio", "endpoint_to_audio_s"),
            ("  loop lag behind microphone at endpoint", "lag_at_endpoint_s"),
            ("  recognizer finalize at the endpoint", "finalize_s"),
            ("  match + dialogue", "match_s"), ("  first TTS chunk", "tts_s"),
            ("    of which synthesis (not prepared ahead)", "synth_s"),
            ("early finalize (during end-of-speech silence)", "early_finalize_s"),
            ("  finalize, decoded twice (cepstral mean moved)", "finalize_redecoded_s"),
            ("  finalize, decoded once", "finalize_single_pass_s"),
            ("end of speech -> first audio", "end_of_speech_to_audio_s"),
            ("loop lag behind microphone at speech start", "lag_at_start_s")]
    for label, key in rows:
        s = figures[key]
        print(f"{label:44} {ms(s['p50']):>6} {ms(s['p95']):>6} {ms(s['max']):>6}")
    print(f"answered {figures['answered']}/{figures['utterances']} (reply kind as expected "
          f"{figures['reply_kind_as_expected']}); missed {figures['missed']}, heard but not answered "
          f"{figures['heard_not_answered']}, extra endpoints {figures['split_endpoints']}, heard as nothing "
          f"{figures['empty_endpoints']}, reprompts "
          f"{figures['reprompts']}, barge-ins {figures['barge_ins']}, errors {len(figures['errors'])}; "
          f"decoded twice {figures['redecoded']}/{figures['answered']}")
    sess, mem = figures["session"], figures["memory"]
    print(f"session: {sess['audio_s']:.0f} s of audio in {sess['wall_s']:.0f} s wall "
          f"(speed {args.speed:g}, gaps {max(args.speed, args.gap_speed):g}x), loop process CPU {sess['cpu_s']:.0f} s")
    if args.speed != 1:
        print(f"caveat: --speed {args.speed:g} feeds audio faster than real time while the loop's work takes the "
              "same wall time; 'end of speech -> first audio' includes the 0.7 s end-of-speech silence at that "
              "speed, and the CPU is busier than with a real microphone")
    print()
    p95 = figures["endpoint_to_audio_s"]["p95"]
    table = [("endpoint -> first audio p95", f"{ms(p95)} ms", "<= 150 ms",
              p95 is not None and p95 * 1000 <= TARGETS["endpoint_to_audio_p95_ms"])]
    if "startup" in figures:
        st = figures["startup"]
        table.append((f"start-up to listening, median of {args.startup_runs} (warm LM cache)",
                      f"{st['warm_median_s']:.2f} s", "<= 1.5 s", st["warm_median_s"] <= TARGETS["startup_s"]))
        if "cold_s" in st:
            table.append(("start-up to listening, cold LM cache (once)", f"{st['cold_s']:.2f} s", "(first start)",
                          None))
        if "cli_to_listening_s" in st:
            table.append(("CLI 'listen' to listening (captions-only, once)", f"{st['cli_to_listening_s']:.2f} s",
                          "", None))
        table.append(("peak memory at listening (start-up probe, VmHWM)", f"{st['peak_mb_at_listening']:.0f} MB",
                      "<= 150 MB", st["peak_mb_at_listening"] <= TARGETS["peak_memory_mb"]))
    table.append(("peak memory of the loop process, whole session (VmHWM)", f"{mem['peak_mb']:.0f} MB",
                  "<= 150 MB", mem["peak_mb"] <= TARGETS["peak_memory_mb"]))
    table.append(("  of which bench-only virtual-device buffers", f"{mem['virtual_buffers_mb']:.1f} MB", "", None))
    width = max(len(row[0]) for row in table)
    print(f"{'figure':{width}}  {'measured':>9}  {'target':>13}")
    for label, value, target, ok in table:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"{label:{width}}  {value:>9}  {target:>13}  {verdict}")
    if "startup" in figures:
        probe_memory = figures["startup"]["warm_memory_mb"][0]
        print("resident memory after each start-up stage (MB): "
              + ", ".join(f"{k} {v['VmRSS']}" for k, v in probe_memory.items()))
        stages = figures["startup"]["warm_stages_s"]
        print("start-up stages, warm (median, s after the probe's first line): "
              + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
        if "cold_stages_s" in figures["startup"]:
            print("start-up stages, cold LM cache: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in figures["startup"]["cold_stages_s"].items()))
    print(f"\nbenchmark took {figures['bench_wall_s']:.0f} s; 1-min load average {load_before[0]:.1f} before, "
          f"{figures['load_average']['after'][0]:.1f} after, on {os.cpu_count()} CPUs")

    if args.json:
        payload = {"command": command, "settings": {"limit": args.limit, "speed": args.speed,
                                                    "gap_speed": args.gap_speed,
                                                    "startup_runs": args.startup_runs},
                   "targets": TARGETS, "figures": figures, "utterances": records}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
