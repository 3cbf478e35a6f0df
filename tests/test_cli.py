"""The CLI contract through a subprocess, as benchmarks and other tools use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

KINDS = {"answer", "red_flag", "command", "decline", "clarify"}
COMMANDS = {"next", "previous", "repeat", "start_over", "stop", "slower", "faster", "help"}


def _cli(*args, stdin=None):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "voice_assistant", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env=env)


def test_ask_prints_the_answer(pack):
    result = _cli("ask", "what's causing this?")
    assert result.returncode == 0
    assert result.stdout.strip().startswith(pack.entry("causes_overview").chunks[0])


def test_ask_json_reads_stdin_one_object_per_line():
    lines = ["what causes back spasms", "next", "I can't feel my left leg", "how long should I ice it",
             "what is the weather", "say that slower", "help"]
    result = _cli("ask", "--json", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objects] == lines
    for obj in objects:
        assert obj["kind"] in KINDS and 0 <= obj["confidence"] <= 1 and isinstance(obj["answer"], str)
        if obj["kind"] == "command":
            assert obj["intent"] in COMMANDS
    assert [o["kind"] for o in objects[:5]] == ["answer", "command", "red_flag", "decline", "decline"]
    # Each stdin line is answered independently: 'next' has no topic to continue.
    assert "not started" in objects[1]["answer"]


def test_chat_keeps_state():
    result = _cli("chat", "--json", stdin="what causes back spasms\nnext\n")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert objects[0]["intent"] == "help"  # the opening
    assert objects[2]["intent"] == "next" and objects[2]["answer"].startswith("Five")


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: [\n")
    result = _cli("ask", "--knowledge", str(bad), "hello")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "bad.yaml:" in result.stderr
    debug = _cli("ask", "--debug", "--knowledge", str(bad), "hello")
    assert "Traceback" in debug.stderr


@pytest.mark.parametrize("argv, expected", [
    (["--json", "ask", "x"], {"json": True}),
    (["ask", "--json", "x"], {"json": True}),
    (["--engine", "pocketsphinx", "transcribe", "f.wav"], {"engine": "pocketsphinx"}),
    (["--engine", "vosk", "transcribe", "--engine", "pocketsphinx", "f.wav"], {"engine": "pocketsphinx"}),
    (["--debug", "--log", "talk.jsonl", "chat"], {"debug": True, "log": "talk.jsonl"}),
    (["chat"], {"debug": False, "log": None, "json": False}),
    (["--rate", "0.8", "listen", "--volume", "0.5"], {"rate": 0.8, "volume": 0.5, "speed": 4.0}),
])
def test_shared_options_count_before_or_after_the_command(argv, expected):
    from voice_assistant.cli import build_parser

    args = build_parser().parse_args(argv)
    assert {name: getattr(args, name) for name in expected} == expected


def test_listen_json_is_one_object_per_line_while_two_threads_report(tmp_path):
    """The loop's and the speaker's threads both report events: no two may share a line."""
    import json
    import os
    import subprocess
    import sys

    import numpy as np

    from speech import require, synthesize
    from voice_assistant.audio.wav import WavFileSource, write_wav

    require("espeak-us-130")
    question = np.frombuffer(WavFileSource(synthesize("what causes back spasms", "espeak-us-130", tmp_path))
                             .read_all(), dtype="<i2")
    recording = tmp_path / "session.wav"
    write_wav(recording, np.concatenate([np.zeros(8000, "<i2"), question, np.zeros(16000 * 25, "<i2")]).tobytes())
    result = subprocess.run([sys.executable, "-m", "voice_assistant", "--input-wav", str(recording), "--json",
                             "--engine", "pocketsphinx", "--no-greeting", "--output-wav", str(tmp_path / "out.wav")],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert {"speaking", "state", "matched"} <= {event["event"] for event in events}
