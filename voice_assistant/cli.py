"""Command-line entry point: ``voice-assistant [COMMAND] [OPTIONS]``.

Parses arguments and hands over to the module that does the work. Every
:class:`~voice_assistant.errors.AssistantError` becomes one line on stderr and
its exit code; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

from voice_assistant import __version__
from voice_assistant.dialogue import Dialogue, DialogueState, Reply
from voice_assistant.app import Core, build_core, build_recognizer
from voice_assistant.audio.wav import WavFileSource
from voice_assistant.conversation_log import ConversationLog
from voice_assistant.errors import AssistantError, AudioFormatError, UsageError
from voice_assistant.knowledge import load_pack
from voice_assistant.nlu.spoken import interpret
from voice_assistant.stt.base import Transcript
from voice_assistant.stt.download import KNOWN_MODELS
from voice_assistant.stt.selection import DEFAULT_VOSK_MODEL, ENGINES
from voice_assistant.tts.selection import TTS_ENGINES

log = logging.getLogger(__name__)


def _option_groups(inherit: bool) -> tuple[argparse.ArgumentParser, ...]:
    """The shared options (common, speech, voice, conversation) as parent parsers.

    With ``inherit`` (for the commands' own parsers) an option left out has no
    default, so a value given before the command ('--json ask ...') is kept
    rather than reset by the command's parser.
    """
    groups = [argparse.ArgumentParser(add_help=False) for _ in range(4)]
    common, speech, voice, conversation = groups

    def option(group: argparse.ArgumentParser, *flags: str, **settings) -> None:
        if inherit:
            settings["default"] = argparse.SUPPRESS
        group.add_argument(*flags, **settings)

    option(common, "--knowledge", metavar="PATH", help="knowledge pack YAML (default: the built-in pack)")
    option(common, "--debug", action="store_true", help="verbose logs and tracebacks")
    option(common, "--json", action="store_true", help="one JSON object per reply")
    option(common, "--encoder", metavar="PATH",
           help="sentence-encoder folder for understanding by meaning (default: the installed all-MiniLM-L6-v2)")
    option(common, "--words-only", action="store_true",
           help="understand questions by their words alone, without the sentence encoder")

    option(speech, "--engine", choices=ENGINES, default="auto",
           help="speech recognizer (auto: Whisper when its model is installed, else Vosk when a model is "
                "present, else PocketSphinx)")
    option(speech, "--model", metavar="PATH", help="model folder of the engine (Whisper or Vosk)")

    option(conversation, "--log", metavar="FILE",
           help="append what you said and what was answered to FILE (JSON lines); without it nothing is recorded")

    option(voice, "--input-device", metavar="NAME|INDEX", help="microphone (see 'devices')")
    option(voice, "--output-device", metavar="NAME|INDEX", help="speaker (see 'devices')")
    option(voice, "--input-wav", metavar="FILE", help="run the loop on a recording instead of a microphone")
    option(voice, "--output-wav", metavar="FILE", help="write what the assistant says to a WAV file")
    option(voice, "--speed", type=float, default=4.0,
           help="with --input-wav: how many times faster than real time to run (0: unpaced)")
    option(voice, "--echo", type=float, default=0.0,
           help="with --input-wav: mix this share of the assistant's voice back into the input")
    option(voice, "--tts", choices=TTS_ENGINES, default="auto",
           help="voice engine (auto: the Piper neural voice when installed, else espeak-ng)")
    option(voice, "--voice", metavar="NAME|PATH",
           help="a Piper voice (.onnx file or folder) or an espeak-ng voice name such as en-gb "
                "(default: the installed en_US-joe-medium Piper voice)")
    option(voice, "--rate", type=float, help="speaking rate, 1 is normal (remembered when changed by voice)")
    option(voice, "--volume", type=float, default=1.0, help="0 to 1")
    option(voice, "--wake-word", metavar="PHRASE", help="only answer after this phrase")
    option(voice, "--slow-speech", action="store_true",
           help="wait longer for the end of a sentence (for slow or interrupted speech)")
    option(voice, "--captions-only", action="store_true", help="show the answers, do not speak them")
    option(voice, "--no-greeting", action="store_true", help="skip the disclaimer and greeting")
    return common, speech, voice, conversation


def build_parser() -> argparse.ArgumentParser:
    top = _option_groups(inherit=False)
    common, speech, voice, conversation = _option_groups(inherit=True)

    parser = argparse.ArgumentParser(prog="voice-assistant", parents=list(top),
                                     description="Offline voice assistant for back muscle spasm.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common, speech], help="answer one question (or one per stdin line)")
    ask.add_argument("text", nargs="*", help="the question; without it, read one question per line from stdin")
    ask.add_argument("--wav", nargs="+", metavar="FILE", help="transcribe these recordings and answer each")
    ask.set_defaults(run=run_ask)

    transcribe = commands.add_parser("transcribe", parents=[common, speech], help="print what was said in WAV files")
    transcribe.add_argument("files", nargs="+", metavar="FILE")
    transcribe.set_defaults(run=run_transcribe)

    chat = commands.add_parser("chat", parents=[common, conversation], help="typed conversation that keeps its place")
    chat.set_defaults(run=run_chat)

    listen = commands.add_parser("listen", parents=[common, speech, voice, conversation],
                                 help="hands-free conversation (the default command)")
    listen.set_defaults(run=run_listen)
    parser.set_defaults(run=run_listen)

    devices = commands.add_parser("devices", parents=[common], help="list microphones and speakers")
    devices.set_defaults(run=run_devices)

    download = commands.add_parser("download-model", parents=[common], help="download a Vosk model (needs internet)")
    download.add_argument("name", nargs="?", default=DEFAULT_VOSK_MODEL, choices=sorted(KNOWN_MODELS))
    download.add_argument("--dest", metavar="DIR", help="install folder (default: your user data folder)")
    download.set_defaults(run=run_download)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # binary or mis-encoded input is text, not a crash
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except AssistantError as exc:
        if args.debug:
            log.exception("failed")
        print(f"voice-assistant: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def make_core(args: argparse.Namespace) -> Core:
    """The text side, as the common options ask (notices go to stderr: stdout may be JSON)."""
    return build_core(args.knowledge, getattr(args, "encoder", None), not getattr(args, "words_only", False),
                      notify=lambda text: print(text, file=sys.stderr))


def make_dialogue(args: argparse.Namespace) -> Dialogue:
    return make_core(args).dialogue


def run_ask(args: argparse.Namespace) -> int:
    if args.wav:
        return _ask_wav(args)
    dialogue = make_dialogue(args)
    if args.text:
        questions: Iterable[str] = [" ".join(args.text)]
    elif sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no question given", 'try: voice-assistant ask "what causes back spasms?"')
    else:
        questions = (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        reply, _ = dialogue.step(DialogueState(), question)
        _print_reply(question, reply, args.json)
    return 0


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def _transcripts(args: argparse.Namespace, paths: list[str], pack) -> Iterator[tuple[str, Transcript]]:
    """Each readable file's transcript; unreadable files are reported and counted in ``args.failures``."""
    recognizer = build_recognizer(args.engine, pack, args.model, notify=_notice)
    args.failures = 0
    for path in paths:
        try:
            yield path, recognizer.transcribe(WavFileSource(path).chunks())
        except AudioFormatError as exc:
            print(f"voice-assistant: error: {exc}", file=sys.stderr)
            args.failures += 1


def _ask_wav(args: argparse.Namespace) -> int:
    core = make_core(args)
    for path, transcript in _transcripts(args, args.wav, core.pack):
        chosen = interpret(core.matcher, transcript)
        reply, _ = core.dialogue.respond(DialogueState(), chosen.text, chosen.match)
        if args.json:
            print(json.dumps({**reply.to_json(chosen.text), "file": path, "transcript": transcript.text,
                              "alternatives": list(transcript.alternatives)}, ensure_ascii=False), flush=True)
        else:
            print(f"{path}: heard {chosen.text!r}")
            _print_reply(chosen.text, reply, False)
    return AudioFormatError.exit_code if args.failures else 0


def run_transcribe(args: argparse.Namespace) -> int:
    for path, transcript in _transcripts(args, args.files, load_pack(args.knowledge)):
        if args.json:
            print(json.dumps({"file": path, "transcript": transcript.text, "confidence": transcript.confidence,
                              "alternatives": list(transcript.alternatives)}, ensure_ascii=False), flush=True)
        else:
            print(f"{path}\t{transcript.text}", flush=True)
    return AudioFormatError.exit_code if args.failures else 0


def run_chat(args: argparse.Namespace, read: Callable[[str], str] = input) -> int:
    dialogue = make_dialogue(args)
    record = ConversationLog(args.log) if args.log else None
    opening = dialogue.opening()
    _print_reply("", opening, args.json)
    state = DialogueState()
    try:
        while True:
            try:
                line = read("" if args.json else "you> ")
            except EOFError:
                return 0
            if not line.strip():
                continue
            reply, state = dialogue.step(state, line)
            _print_reply(line, reply, args.json)
            if record is not None:
                record.write("heard", line)
                record.write("matched", reply.text, kind=reply.kind, intent=reply.intent)
            if any(action.name == "end_session" for action in reply.actions):
                return 0
    finally:
        if record is not None:
            record.close()


def run_listen(args: argparse.Namespace) -> int:
    from voice_assistant.listen import listen

    return listen(args)


def run_devices(args: argparse.Namespace) -> int:
    from voice_assistant.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        print("No audio devices found. Use --input-wav/--output-wav, or the typed 'chat'.")
        return 0
    for device in devices:
        kinds = ", ".join(k for k, n in (("in", device.inputs), ("out", device.outputs)) if n)
        print(f"{device.index:3d}  {device.name}  ({kinds}, {device.default_rate:.0f} Hz)")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voice_assistant.stt.download import download_model
    from voice_assistant.stt.selection import user_models_dir

    dest = Path(args.dest) if args.dest else user_models_dir()
    target = download_model(KNOWN_MODELS[args.name], dest, progress=sys.stderr.isatty())
    print(f"Installed {args.name} at {target}")
    return 0


def _print_reply(question: str, reply: Reply, as_json: bool) -> None:
    if as_json:
        print(json.dumps(reply.to_json(question), ensure_ascii=False), flush=True)
    elif reply.chunks:
        print("\n".join(reply.chunks), flush=True)
    else:
        print(f"({reply.intent})", flush=True)
