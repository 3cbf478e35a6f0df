"""``voice-assistant listen`` (the default command): build the devices and run the loop.

Falls back gracefully: no microphone -> typed chat; no speaker or no TTS ->
captions only; each with a one-line notice.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path

from voice_assistant.app import build_core, build_recognizer, build_spotter, build_synthesizer
from voice_assistant.audio.memory import MemorySink
from voice_assistant.audio.segmenter import SegmenterSettings
from voice_assistant.audio.wav import WavFileSource, write_wav
from voice_assistant.captions import Captions
from voice_assistant.config import UserSettings, default_path, load_settings, save_settings
from voice_assistant.conversation_log import ConversationLog
from voice_assistant.errors import DeviceError, SynthesisError, UsageError
from voice_assistant.events import Event, EventBus, log_events
from voice_assistant.loop import ConversationLoop, LoopSettings
from voice_assistant.tts.base import VoiceSettings
from voice_assistant.tts.speaker import Speaker

log = logging.getLogger(__name__)


def listen(args: argparse.Namespace) -> int:
    if args.speed < 0:
        raise UsageError(f"--speed {args.speed} is out of range", "use 0 (unpaced) or more")
    if not 0 <= args.echo <= 1:
        raise UsageError(f"--echo {args.echo} is out of range", "use 0 to 1")
    events = EventBus()
    events.subscribe(log_events)
    events.subscribe(_json_printer if args.json else Captions())
    record = ConversationLog(args.log) if args.log else None
    if record is not None:
        events.subscribe(record)
    try:
        return _listen(args, events)
    finally:
        if record is not None:
            record.close()


def _listen(args: argparse.Namespace, events: EventBus) -> int:

    def notice(message: str) -> None:
        events.emit("notice", message)

    settings_path = default_path()
    saved = load_settings(settings_path)
    rate = args.rate if args.rate is not None else saved.rate
    core = build_core(args.knowledge, getattr(args, "encoder", None), not getattr(args, "words_only", False),
                      notify=notice)

    virtual = None
    if args.input_wav:
        from voice_assistant.audio.virtual import VirtualDevices

        virtual = VirtualDevices(WavFileSource(args.input_wav).read_all(), speed=args.speed, echo=args.echo)
        source = virtual.microphone
    else:
        from voice_assistant.audio.devices import MicrophoneSource

        try:
            source = MicrophoneSource(args.input_device)
        except DeviceError as exc:
            print(f"{exc.message}: switching to the typed conversation (Ctrl-D to quit).", file=sys.stderr)
            from voice_assistant.cli import run_chat

            return run_chat(args)

    recording = None
    sink = None
    if not args.captions_only:
        if virtual is not None:
            sink = virtual.speaker
        elif args.output_wav:
            sink = recording = MemorySink()
        else:
            from voice_assistant.audio.devices import SpeakerSink

            try:
                sink = SpeakerSink(args.output_device)
            except DeviceError as exc:
                notice(f"{exc.message}: showing captions only")
    synthesizer, espeak_voice = None, "en-us"
    if sink is not None:
        try:
            synthesizer, espeak_voice = build_synthesizer(args.tts, args.voice, notify=notice)
        except SynthesisError as exc:
            notice(f"{exc.message}: showing captions only")
    voice = VoiceSettings(voice=espeak_voice, rate=rate, volume=args.volume)

    wake = (args.wake_word.lower(),) if args.wake_word else ()
    recognizer = build_recognizer(args.engine, core.pack, args.model, notify=notice, extra_phrases=wake)
    spotter = build_spotter(notify=notice)

    def remember_rate(rate: float) -> None:
        save_settings(settings_path, UserSettings(rate=rate))

    speaker = Speaker(synthesizer, sink, voice, events)
    speaker.prefetch(core.dialogue.first_lines())  # a neural voice's first words then start at once
    segmenter = SegmenterSettings.relaxed() if args.slow_speech else SegmenterSettings()
    loop = ConversationLoop(core, recognizer, source, speaker, events,
                            LoopSettings(segmenter=segmenter, wake_word=args.wake_word, greet=not args.no_greeting,
                                         # a slow speaker's pause may follow a whole-sounding half
                                         answer_complete_confidence=None if args.slow_speech
                                         else LoopSettings.answer_complete_confidence),
                            spotter=spotter, on_rate_change=remember_rate, rate=voice.rate)
    try:
        loop.run()
    except KeyboardInterrupt:
        loop.request_stop()
        loop.close()
        print("\nGoodbye.", file=sys.stderr)
    finally:
        speaker.close()
        recognizer.close()
    if args.output_wav:
        if virtual is not None:
            virtual.save(args.output_wav)
        elif recording is not None:
            _save_recording(recording, Path(args.output_wav))
    return 0


def _save_recording(sink: MemorySink, path: Path) -> None:
    import numpy as np
    import soxr

    pieces = []
    for pcm, rate in sink.played:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        pieces.append(soxr.resample(samples, rate, 16000) if rate != 16000 else samples)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    write_wav(path, np.clip(audio, -32768, 32767).astype("<i2").tobytes(), 16000)


_PRINTING = threading.Lock()


def _json_printer(event: Event) -> None:
    # Events come from the loop's and the speaker's threads: one lock, one write per line, or two
    # objects could share a line (seen: a 'speaking' event and a 'state' event run together).
    if event.kind in ("heard", "matched", "speaking", "audio", "spoken", "interrupted", "barge_in", "error", "notice",
                      "state"):
        line = json.dumps({"event": event.kind, "text": event.text, **_plain(event.data)}) + "\n"
        with _PRINTING:
            sys.stdout.write(line)
            sys.stdout.flush()


def _plain(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, type(None)))}
