"""Privacy: health questions never leave the machine, and nothing said or heard is written to disk.

Every test here runs the real code in-process with the network cut (any
socket connection fails and is recorded) and the user's folders moved into
``tmp_path``; a Python audit hook records every file opened for writing,
renamed, created or removed. Only ``download-model`` may use the network,
and it is not run here.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from speech import available, pcm_of, silence, synthesize
from voice_assistant import cli
from voice_assistant.audio.wav import write_wav
from voice_assistant.config import default_path
from voice_assistant.errors import KnowledgeError
from voice_assistant.knowledge.loader import from_yaml
from voice_assistant.stt import pocketsphinx_engine

VOICE = "festival-kal" if available("festival-kal") else "espeak-us-130"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_watch: dict | None = None  # what the audit hook is recording, while a test is sealed


def _audit(event: str, args: tuple) -> None:
    record = _watch
    if record is None:
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            record["writes"].append(os.fsdecode(path))
    elif event in ("os.rename", "os.mkdir", "os.remove", "os.rmdir", "os.truncate", "os.symlink", "os.link",
                   "tempfile.mkstemp", "tempfile.mkdtemp", "shutil.copyfile", "shutil.move"):
        paths = [os.fsdecode(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        # A name relative to a directory descriptor (TemporaryDirectory's clean-up) lies inside
        # a folder whose creation was already recorded.
        record["writes"] += [p for p in paths if os.path.isabs(p) or not any(isinstance(a, int) for a in args)]
    elif event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.bind"):
        record["network"].append((event, repr(args[1:])[:120]))


sys.addaudithook(_audit)  # hooks cannot be removed: it records only while ``_watch`` is set


@pytest.fixture(scope="module")
def lm_cache():
    """The pack's language model, built (once, in the real cache) before anything is sealed."""
    from voice_assistant.knowledge import load_pack

    arpa, dictionary = pocketsphinx_engine.ensure_domain_model(load_pack(), pocketsphinx_engine.LanguageModelSettings())
    return arpa, dictionary


@pytest.fixture(scope="module")
def embedding_cache():
    """The pack's phrase embeddings and classifier, built (once, in the real cache) before anything is sealed."""
    from voice_assistant.app import build_core, embedding_cache_dir

    build_core()
    return sorted(embedding_cache_dir().glob("*.npy"))


@pytest.fixture
def sealed(tmp_path, monkeypatch, lm_cache, embedding_cache):
    """Network cut, user folders under tmp_path; yields what was written and what tried the network."""
    global _watch
    home = tmp_path / "home"
    folders = {"HOME": home, "XDG_CONFIG_HOME": home / ".config", "XDG_CACHE_HOME": home / ".cache",
               "XDG_DATA_HOME": home / ".local" / "share", "XDG_STATE_HOME": home / ".local" / "state",
               "TMPDIR": tmp_path / "tmp"}
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folders["TMPDIR"]))
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    # The cached language model, where the assistant will look for it (copied before sealing).
    cache = pocketsphinx_engine.cache_dir()
    assert str(cache).startswith(str(home))
    cache.mkdir(parents=True)
    for built in lm_cache:
        shutil.copy(built, cache / built.name)
    from voice_assistant.app import embedding_cache_dir

    embeddings = embedding_cache_dir()
    assert str(embeddings).startswith(str(home))
    embeddings.mkdir(parents=True)
    for built in embedding_cache:
        shutil.copy(built, embeddings / built.name)

    record: dict = {"writes": [], "network": [], "blocked": []}

    def refuse(name):
        def blocked(*args, **kwargs):
            record["blocked"].append((name, repr(args[1:] if name.startswith("socket.socket") else args)[:120]))
            raise OSError(f"network access is not allowed in this test ({name})")
        return blocked

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.socket.{name}"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))

    before = {p for p in tmp_path.rglob("*")}
    _watch = record
    try:
        yield SimpleRecord(record, tmp_path, before)
    finally:
        _watch = None


class SimpleRecord:
    def __init__(self, record: dict, root: Path, before: set[Path]) -> None:
        self.record, self.root, self.before = record, root.resolve(), before

    def outside(self) -> list[str]:
        """Files written outside tmp_path (the settings path lies inside it)."""
        allowed = (str(self.root) + os.sep, "/dev/null")
        return [path for path in self.record["writes"]
                if not os.path.realpath(path).startswith(allowed) and os.path.realpath(path) != "/dev/null"]

    def new_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p not in self.before)

    def assert_private(self) -> None:
        assert self.record["blocked"] == [], self.record["blocked"]
        assert self.record["network"] == [], self.record["network"]
        assert self.outside() == [], self.outside()


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    """Spoken questions, made before any test is sealed (module fixtures are set up first)."""
    folder = tmp_path_factory.mktemp("voices")
    paths = {}
    for text in ("what causes back spasms", "say that slower"):
        pcm = np.concatenate([silence(0.5), pcm_of(synthesize(text, VOICE, folder)), silence(1.0)])
        paths[text] = folder / ("_".join(text.split()) + ".wav")
        write_wav(paths[text], pcm.tobytes())
    return paths


def test_the_guard_itself_catches_a_connection(sealed):
    """The seal works: without it a test here could pass by not noticing anything."""
    with pytest.raises(OSError, match="not allowed"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    with socket.socket() as raw, pytest.raises(OSError, match="not allowed"):
        raw.connect(("192.0.2.1", 80))
    outside = Path(tempfile.gettempdir()).parent.parent / "outside.txt"  # tmp_path's parent: not allowed
    outside.write_text("x")
    outside.unlink()
    assert len(sealed.record["blocked"]) == 2 and sealed.outside()
    sealed.record["blocked"].clear()
    sealed.record["writes"].clear()


def test_the_guard_catches_download_model(sealed, capsys):
    """The one command that is meant to use the network is stopped by the seal, with a one-line error."""
    code = cli.main(["download-model", "--dest", str(sealed.root / "models")])
    assert code == 7, capsys.readouterr().err
    assert sealed.record["blocked"] or sealed.record["network"]
    sealed.record["blocked"].clear()
    sealed.record["network"].clear()


def test_ask_stays_on_the_machine(sealed, capsys, caplog):
    caplog.set_level(logging.INFO)
    assert cli.main(["ask", "--json", "I can't feel my left leg and my back is in spasm"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "red_flag"
    sealed.assert_private()
    assert sealed.new_files() == []
    assert not any("left leg" in record.getMessage() for record in caplog.records)


def test_chat_stays_on_the_machine(sealed, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("what causes back spasms\nnext\nI wet myself\ngoodbye\n"))
    assert cli.main(["chat", "--json"]) == 0
    kinds = [json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()]
    assert kinds == ["command", "answer", "command", "red_flag", "command"]
    sealed.assert_private()
    assert sealed.new_files() == []


def test_transcribe_and_ask_wav_stay_on_the_machine(wavs, sealed, capsys, caplog):
    caplog.set_level(logging.INFO)
    wav = wavs["what causes back spasms"]
    assert cli.main(["transcribe", "--engine", "pocketsphinx", str(wav)]) == 0
    assert cli.main(["ask", "--json", "--engine", "pocketsphinx", "--wav", str(wav)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "back spasm" in out[0] and json.loads(out[1])["intent"] == "causes_overview"
    sealed.assert_private()
    assert sealed.new_files() == []
    assert not any("back spasm" in record.getMessage() for record in caplog.records)


def test_auto_engine_without_a_model_stays_on_the_machine(wavs, sealed, capsys):
    """No Vosk model: 'auto' takes the installed Whisper model; it must not try to fetch any model."""
    wav = wavs["what causes back spasms"]
    assert cli.main(["transcribe", str(wav)]) == 0
    assert "back spasm" in capsys.readouterr().out.lower()
    sealed.assert_private()
    assert sealed.new_files() == []


def test_whisper_stays_on_the_machine(wavs, sealed, capsys):
    wav = wavs["what causes back spasms"]
    assert cli.main(["ask", "--json", "--engine", "whisper", "--wav", str(wav)]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "causes_overview"
    sealed.assert_private()
    assert sealed.new_files() == []


def test_a_conversation_writes_only_the_settings_file(wavs, sealed, capsys, caplog):
    caplog.set_level(logging.INFO)
    wav = wavs["say that slower"]
    code = cli.main(["listen", "--engine", "pocketsphinx", "--input-wav", str(wav), "--speed", "0",
                     "--no-greeting"])
    out = capsys.readouterr().out
    assert code == 0, out
    sealed.assert_private()
    settings = default_path()
    assert str(settings).startswith(str(sealed.root))
    assert sealed.new_files() == [settings], sealed.new_files()  # temporary files were removed
    assert json.loads(settings.read_text()) == {"rate": 0.8}
    assert not any("say that slower" in record.getMessage() for record in caplog.records)


def test_a_conversation_log_is_written_only_when_asked_for_and_only_for_its_owner(wavs, sealed, capsys,
                                                                                  monkeypatch):
    log_file = sealed.root / "my-log.jsonl"
    monkeypatch.setattr(sys, "stdin", io.StringIO("what causes back spasms\nI wet myself\n"))
    log_file.touch(mode=0o644)
    assert cli.main(["--log", str(log_file), "chat"]) == 0  # given before the command, too
    assert cli.main(["listen", "--engine", "pocketsphinx", "--input-wav", str(wavs["what causes back spasms"]),
                     "--speed", "0", "--no-greeting", "--captions-only", "--log", str(log_file)]) == 0
    capsys.readouterr()
    sealed.assert_private()
    assert sealed.new_files() == [log_file]  # no settings changed, nothing else written
    assert log_file.stat().st_mode & 0o777 == 0o600
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(r["event"], r.get("kind")) for r in records] == [
        ("heard", None), ("matched", "answer"), ("heard", None), ("matched", "red_flag"),  # chat
        ("heard", None), ("matched", "answer")]                                            # listen, appended
    assert records[0]["text"] == "what causes back spasms" and records[-1]["intent"] == "causes_overview"


def test_a_log_that_cannot_be_written_is_a_clear_error(sealed, capsys):
    assert cli.main(["chat", "--log", str(sealed.root / "no-such-folder" / "log.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the conversation log" in err and "Traceback" not in err
    assert sealed.new_files() == []


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:pathlib.Path.touch [{marker}]",
    "!!python/object/new:pathlib.Path [{marker}]",
    "!!python/name:os.system",
    "!!python/module:os",
    "pack: !!python/object/apply:pathlib.Path.touch [{marker}]",
    "entries:\n  - !!python/object/apply:pathlib.Path.touch [{marker}]",
])
def test_knowledge_loader_refuses_python_tags(tmp_path, tag):
    marker = tmp_path / "created-by-yaml"
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        from_yaml(tag.format(marker=json.dumps(str(marker))) + "\n", "evil.yaml")
    assert not marker.exists()
