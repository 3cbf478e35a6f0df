"""Soak: thousands of turns through the real loop, checking memory, threads and open files stay flat.

Usage: python bench/soak.py [--turns 10000] [--real-turns 0]

The microphone is a generator that repeats spoken questions and commands with
silence between them (no big buffer); the speaker synthesizes every answer with
espeak-ng and throws the audio away. ``--real-turns`` of them go through
PocketSphinx; the rest use a scripted recognizer (same interface) so ten
thousand turns fit in minutes. Prints memory (VmRSS) and thread / file counts
at the start, every 10%, and at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from voice_assistant.app import build_core, build_recognizer  # noqa: E402
from voice_assistant.audio.base import AudioSink, AudioSource  # noqa: E402
from voice_assistant.audio.wav import WavFileSource  # noqa: E402
from voice_assistant.events import EventBus  # noqa: E402
from voice_assistant.loop import ConversationLoop, LoopSettings  # noqa: E402
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript  # noqa: E402
from voice_assistant.tts.base import VoiceSettings  # noqa: E402
from voice_assistant.tts.espeak import EspeakSynthesizer  # noqa: E402
from voice_assistant.tts.speaker import Speaker  # noqa: E402

TURNS = ["what causes back spasms", "next", "should I use ice or heat", "say that again",
         "I can't feel my left leg", "how long should I ice it", "slower", "faster", "what's the weather"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


class RepeatingMicrophone(AudioSource):
    """Yields each spoken turn then silence, round robin, for ``turns`` turns."""

    def __init__(self, clips: list[bytes], turns: int, gap_seconds: float) -> None:
        self.clips, self.turns = clips, turns
        self.gap = b"\x00\x00" * int(16000 * gap_seconds)
        self.done = 0
        self.position = 0  # samples delivered: the clock the speaker plays against
        self.moved = threading.Condition()
        self.busy = lambda: False  # the person waits while the assistant is speaking
        self._closed = False

    def chunks(self):
        for clip in itertools.islice(itertools.cycle(self.clips), self.turns):
            for part in (clip, self.gap):
                for start in range(0, len(part), 960):
                    if self._closed:
                        return
                    while self.busy() and not self._closed:
                        time.sleep(0.001)
                    with self.moved:
                        self.position += len(part[start:start + 960]) // 2
                        self.moved.notify_all()
                    yield part[start:start + 960]
            self.done += 1
        self.close()

    def close(self) -> None:
        self._closed = True
        with self.moved:
            self.moved.notify_all()


class DiscardingSink(AudioSink):
    """Throws the audio away at once (the microphone waits while the assistant speaks)."""

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        return True

    def stop(self) -> None:
        pass


class ScriptedRecognizer(Recognizer):
    """Returns the scripted transcripts in turn: exercises everything but acoustic decoding."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self._texts = itertools.cycle(texts)

    def session(self) -> RecognizerSession:
        text = next(self._texts)

        class Session(RecognizerSession):
            def accept(self, pcm: bytes) -> str:
                return ""

            def finish(self) -> Transcript:
                return Transcript(text, 1.0)

        return Session()


def clips_for(texts: list[str]) -> list[bytes]:
    clips = []
    with tempfile.TemporaryDirectory() as folder:
        for text in texts:
            path = Path(folder) / "clip.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
            clips.append(WavFileSource(path).read_all())
    return clips


def soak(core, recognizer: Recognizer, clips: list[bytes], turns: int, label: str) -> dict:
    events = EventBus()
    answered = []
    events.subscribe(lambda e: e.kind == "matched" and answered.append(1))
    microphone = RepeatingMicrophone(clips, turns, gap_seconds=1.5)
    speaker = Speaker(EspeakSynthesizer(), DiscardingSink(), VoiceSettings(), events)
    loop = ConversationLoop(core, recognizer, microphone, speaker, events, LoopSettings(greet=False,
                            reprompt_seconds=1e9))
    microphone.busy = lambda: loop._speaking() or bool(loop._pending)
    samples = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append((microphone.done, rss_mb(), threading.active_count(), open_files()))

    watcher = threading.Thread(target=sample, daemon=True)
    start = (rss_mb(), threading.active_count(), open_files())
    started = time.monotonic()
    watcher.start()
    loop.run()
    stop.set()
    watcher.join()
    speaker.close()
    end = (rss_mb(), threading.active_count(), open_files())
    after_warmup = [s for s in samples if s[0] >= turns // 10] or samples
    result = {"label": label, "turns": microphone.done, "answered": len(answered),
              "seconds": round(time.monotonic() - started, 1), "rss_start_mb": round(start[0], 1),
              "rss_after_10pct_mb": round(after_warmup[0][1], 1) if after_warmup else None,
              "rss_end_mb": round(end[0], 1), "threads_start": start[1], "threads_end": end[1],
              "open_files_start": start[2], "open_files_end": end[2]}
    print(result, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10_000, help="turns with the scripted recognizer")
    parser.add_argument("--real-turns", type=int, default=0, help="turns through PocketSphinx")
    args = parser.parse_args()
    core = build_core()
    clips = clips_for(TURNS)
    print(f"command: python bench/soak.py --turns {args.turns} --real-turns {args.real_turns}")
    if args.real_turns:
        recognizer = build_recognizer("pocketsphinx", core.pack, notify=lambda message: None)
        soak(core, recognizer, clips, args.real_turns, "pocketsphinx")
    if args.turns:
        soak(core, ScriptedRecognizer(TURNS), clips, args.turns, "scripted recognizer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
