"""Bad input at the command line: exit code and one line on stderr, never a traceback.

Everything runs ``python -m voice_assistant`` in a subprocess, as a user would.
The unit-level loader and WAV checks live in test_knowledge_loader.py and
test_audio.py; here the question is what the *person at the terminal* sees.
PocketSphinx-heavy cases share a few ``transcribe`` / ``ask --wav`` calls
(both accept several files) to keep the suite quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
import yaml

from speech import available, pcm_of, synthesize
from voice_assistant.knowledge import DEFAULT_PACK
from voice_assistant.knowledge.loader import MAX_PACK_BYTES

ROOT = Path(__file__).resolve().parent.parent
GOOD_PACK = DEFAULT_PACK.read_text(encoding="utf-8")
PREFIX = "voice-assistant: error: "
QUESTION = "what causes back spasms"
#: festival's diphone voice is heard reliably by PocketSphinx; espeak-ng is the fallback where
#: festival is not installed (macOS).
VOICE = "festival-kal" if available("festival-kal") else "espeak-us-130"


@pytest.fixture(scope="module")
def config_home(tmp_path_factory):
    """A private config folder, so no real user settings file changes what is tested."""
    return tmp_path_factory.mktemp("config")


def _cli(*args: str, stdin: bytes | None = None, config_home: Path | None = None, extra_env=None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if config_home is not None:
        env["XDG_CONFIG_HOME"] = str(config_home)
    env.update(extra_env or {})
    result = subprocess.run([sys.executable, "-m", "voice_assistant", *map(str, args)], input=stdin,
                            capture_output=True, timeout=timeout, env=env)
    result.stdout = result.stdout.decode("utf-8", "replace")
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit ``code``, exactly one stderr line in the CLI's format, containing every fragment."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(PREFIX), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -- knowledge packs (--knowledge) ------------------------------------------------------------


def _pack_with(change) -> str:
    data = yaml.safe_load(GOOD_PACK)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _alias_bomb() -> str:
    """'Billion laughs': nine levels of ten aliases, 10^9 leaves from a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


PACKS = {
    "empty": ("", ["the file is empty"]),
    "not_yaml": ("pack:\n  id: x\n  title: [unclosed\n", ["pack.yaml:", "not valid YAML"]),
    "wrong_shape": ("- just\n- a list\n", ["top level: expected a mapping, got list"]),
    "missing_key": (GOOD_PACK.replace("    title: what a back muscle spasm is\n", "", 1),
                    ["entries[0]: missing key 'title'", "required keys:"]),
    "unknown_key": (GOOD_PACK.replace("    group: about\n", "    group: about\n    colour: blue\n", 1),
                    ["entries[0].colour: unknown key 'colour'", "allowed keys:"]),
    "duplicate_ids": (GOOD_PACK.replace("- id: about_women", "- id: about_spasm", 1),
                      ["duplicate id 'about_spasm'"]),
    "empty_answer": (_pack_with(lambda d: d["entries"][0].update(answer="   ")),
                     ["entries[0].answer", "expected non-empty text"]),
    "non_utf8": (b"pack:\n  id: caf\xe9\n", ["pack.yaml:2:", "not UTF-8"]),
    "huge": (b"#" * (MAX_PACK_BYTES + 1), ["too large", f"{MAX_PACK_BYTES:,}"]),
    "python_tag": ("!!python/object/apply:os.system ['echo owned']\n", ["not valid YAML", "no tags"]),
    "alias_bomb": (_alias_bomb(), ["aliases are not allowed"]),
    "nested_too_deep": ("[" * 5000 + "]" * 5000 + "\n", ["nested too deeply"]),
}


@pytest.mark.parametrize("case", sorted(PACKS))
def test_bad_knowledge_pack(tmp_path, case):
    content, fragments = PACKS[case]
    path = tmp_path / "pack.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    result = _cli("ask", "--knowledge", path, QUESTION, timeout=30)
    assert_one_line_error(result, 3, *fragments)
    assert result.stdout == "" and "owned" not in result.stdout


def test_knowledge_path_missing_or_folder(tmp_path):
    assert_one_line_error(_cli("ask", "--knowledge", tmp_path / "absent.yaml", QUESTION), 3, "no such file")
    assert_one_line_error(_cli("ask", "--knowledge", tmp_path, QUESTION), 3, "is a folder")


# -- WAV files (transcribe, ask --wav) --------------------------------------------------------


def _write(path: Path, samples: np.ndarray, rate: int, subtype: str) -> Path:
    soundfile.write(path, samples, rate, subtype=subtype)
    return path


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    """The same spoken question in many formats, plus broken and empty files."""
    folder = tmp_path_factory.mktemp("wavs")
    spoken = synthesize(QUESTION, VOICE, folder)
    voice = pcm_of(spoken).astype(np.float32) / 32768
    at = {rate: soxr.resample(voice, 16000, rate) for rate in (8000, 44100, 48000)}
    files = {
        # Converted formats, in an order that keeps PocketSphinx's live cepstral mean sane
        # (see test_transcripts_do_not_depend_on_the_previous_file).
        "stereo": _write(folder / "stereo.wav", np.stack([voice, voice], axis=1), 16000, "PCM_16"),
        "8-bit": _write(folder / "u8.wav", voice, 16000, "PCM_U8"),
        "24-bit": _write(folder / "p24.wav", voice, 16000, "PCM_24"),
        "32-bit float": _write(folder / "f32.wav", voice, 16000, "FLOAT"),
        "44.1 kHz": _write(folder / "r44100.wav", at[44100], 44100, "PCM_16"),
        "48 kHz": _write(folder / "r48000.wav", at[48000], 48000, "PCM_16"),
        "8 kHz": _write(folder / "r8000.wav", at[8000], 8000, "PCM_16"),
        "silent": _write(folder / "silent.wav", np.zeros(32000, np.float32), 16000, "PCM_16"),
        "noise": _write(folder / "noise.wav", np.random.default_rng(1).uniform(-0.5, 0.5, 48000), 16000,
                        "PCM_16"),
    }
    raw = spoken.read_bytes()
    bad = {
        "empty": b"",
        "truncated header": raw[:30],
        "not WAV": b"this is a text file, not a recording\n" * 10,
    }
    for name, content in bad.items():
        files[name] = folder / (name.replace(" ", "_") + ".wav")
        files[name].write_bytes(content)
    files["truncated data"] = folder / "truncated_data.wav"
    files["truncated data"].write_bytes(raw[: len(raw) * 2 // 3])  # header promises more than is there
    nan = np.zeros(16000, np.float32)
    nan[::3] = np.nan
    nan[1::7] = np.inf
    files["NaN float"] = _write(folder / "nan.wav", nan, 16000, "FLOAT")
    files["directory"] = folder / "a_folder"
    files["directory"].mkdir()
    files["missing"] = folder / "missing.wav"
    return files


GOOD_WAVS = ["stereo", "8-bit", "24-bit", "32-bit float", "44.1 kHz", "48 kHz", "8 kHz", "truncated data",
             "silent", "NaN float"]
BAD_WAVS = {"empty": "the file is empty", "truncated header": "a damaged WAV file", "not WAV": "not a WAV file",
            "directory": "is a folder", "missing": "no such file"}


@pytest.fixture(scope="module")
def transcribed(wavs, recognizer):
    """One ``transcribe --json`` over every file: (objects by case, stderr lines, exit code).

    ``recognizer`` builds the language-model cache in-process first, so the subprocess
    never pays the (cold) build inside its timeout.
    """
    order = GOOD_WAVS + list(BAD_WAVS)
    result = _cli("transcribe", "--engine", "pocketsphinx", "--json", *[wavs[name] for name in order],
                  timeout=600)
    names = {str(wavs[name]): name for name in order}
    objects = {names[obj["file"]]: obj for obj in map(json.loads, result.stdout.splitlines())}
    return objects, result.stderr.splitlines(), result.returncode


@pytest.mark.parametrize("case", ["stereo", "8-bit", "24-bit", "32-bit float", "44.1 kHz", "48 kHz"])
def test_wav_formats_are_converted_and_transcribed(transcribed, case):
    objects, _, _ = transcribed
    assert "causes back" in objects[case]["transcript"], objects[case]


def test_8khz_wav_is_converted(transcribed):
    # Telephone-band audio loses what the 16 kHz acoustic model listens to: the words
    # may be wrong, but the file is read, converted and decoded.
    objects, _, _ = transcribed
    assert "8 kHz" in objects and isinstance(objects["8 kHz"]["transcript"], str)


def test_wav_truncated_mid_data_is_decoded_as_far_as_it_goes(transcribed):
    objects, _, _ = transcribed
    assert objects["truncated data"]["transcript"].startswith("what")


def test_silent_wav_gives_an_empty_transcript(transcribed):
    objects, _, _ = transcribed
    assert objects["silent"]["transcript"] == ""


def test_float_wav_with_nan_and_infinity_is_read_quietly(transcribed):
    objects, stderr, _ = transcribed
    assert objects["NaN float"]["transcript"] == ""
    assert not any("RuntimeWarning" in line or "invalid value" in line for line in stderr), stderr


@pytest.mark.parametrize("case", sorted(BAD_WAVS))
def test_bad_wav_is_one_error_line_and_the_rest_go_on(transcribed, wavs, case):
    objects, stderr, code = transcribed
    assert code == 4
    assert case not in objects
    [line] = [line for line in stderr if str(wavs[case]) + ":" in line]
    assert line.startswith(PREFIX) and BAD_WAVS[case] in line, line
    assert all(line.startswith(PREFIX) for line in stderr), stderr  # nothing but error lines
    assert len(objects) == len(GOOD_WAVS)  # every readable file was still transcribed


def test_ask_wav(wavs):
    files = ["48 kHz", "silent", "noise", "empty", "directory", "missing"]
    result = _cli("ask", "--engine", "pocketsphinx", "--json", "--wav", *[wavs[name] for name in files])
    assert result.returncode == 4 and "Traceback" not in result.stderr
    objects = {Path(obj["file"]).name: obj for obj in map(json.loads, result.stdout.splitlines())}
    assert objects["r48000.wav"]["intent"] == "causes_overview"
    assert objects["silent.wav"]["kind"] == "decline" and "did not catch" in objects["silent.wav"]["answer"]
    assert objects["noise.wav"]["transcript"] is not None  # answered or declined: see the next test
    errors = result.stderr.splitlines()
    assert len(errors) == 3 and all(line.startswith(PREFIX) for line in errors), errors


def test_ask_wav_pure_noise_is_declined(wavs):
    result = _cli("ask", "--engine", "pocketsphinx", "--json", "--wav", wavs["noise"])
    assert result.returncode == 0
    assert json.loads(result.stdout)["kind"] == "decline", result.stdout


def test_transcripts_do_not_depend_on_the_previous_file(wavs):
    # espeak-ng's voice sits closer to the decision boundary than festival's, so the drift shows.
    question = synthesize(QUESTION, "espeak-us-175", wavs["noise"].parent)
    alone = _cli("transcribe", "--engine", "pocketsphinx", question)
    after_noise = _cli("transcribe", "--engine", "pocketsphinx", wavs["noise"], question)
    assert alone.returncode == after_noise.returncode == 0
    assert alone.stdout.splitlines()[-1] == after_noise.stdout.splitlines()[-1]


# -- typed text (ask) -------------------------------------------------------------------------

DECLINED_LINES = {
    "empty": b"",
    "whitespace": b" \t   ",
    "binary": b"\xff\xfe\x00\x01\x80\x9f binary \xc3\x28",
    "emoji and other scripts": "😀🔥 背中が痛い مرحبا Привет ελληνικά".encode(),
    "control characters": b"\x01\x02\x07\x08\x1b[31m\x1b[0m\x7f\x0b\x0c",
}


@pytest.fixture(scope="module")
def stdin_answers():
    """One ``ask --json`` over stdin, one odd line each: answers by case, and the raw result."""
    payload = b"\n".join(DECLINED_LINES.values()) + b"\n"
    result = _cli("ask", "--json", stdin=payload, timeout=60)
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    return dict(zip(DECLINED_LINES, objects)), result


@pytest.mark.parametrize("case", list(DECLINED_LINES))
def test_odd_text_on_stdin_is_declined(stdin_answers, case):
    answers, result = stdin_answers
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(answers) == len(DECLINED_LINES)
    assert answers[case]["kind"] == "decline", answers[case]
    assert "I can tell you what a back spasm is" in answers[case]["answer"]


def test_control_characters_inside_a_question_do_not_hide_it():
    result = _cli("ask", "--json", "what\x07 causes\x1b[31m back\x08 spasms")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"] == "causes_overview"


def test_empty_argument_and_100kb_question_are_declined_quickly():
    empty = _cli("ask", "--json", "")
    long = _cli("ask", "--json", "lorem ipsum dolor " * 5700, timeout=30)  # ~100 KB in one argument
    for result in (empty, long):
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert json.loads(result.stdout)["kind"] == "decline"


def test_binary_stdin_under_a_strict_utf8_locale():
    result = _cli("ask", "--json", stdin=b"\xff\xfe binary\n" + QUESTION.encode() + b"\n",
                  extra_env={"PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert [json.loads(line)["kind"] for line in result.stdout.splitlines()] == ["decline", "answer"]


def test_output_to_a_closed_pipe_is_not_a_traceback():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "voice_assistant", "ask"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader went away ('| head -1' after its line) before any answer was printed
    _, err = process.communicate((QUESTION + "\n").encode() * 200, timeout=60)
    assert "Traceback" not in err.decode() and len(err.decode().splitlines()) <= 1, err.decode()


# -- command-line values --------------------------------------------------------------------


@pytest.mark.parametrize("flag,value,message", [
    ("--rate", "0", "speaking rate 0.0 is out of range"),
    ("--rate", "nan", "speaking rate nan is out of range"),
    ("--volume", "-1", "volume -1.0 is out of range"),
    ("--speed", "-1", "--speed -1.0 is out of range"),
    ("--echo", "2", "--echo 2.0 is out of range"),
])
def test_listen_flag_out_of_range(wavs, config_home, flag, value, message):
    result = _cli("listen", "--input-wav", wavs["stereo"], "--captions-only", "--no-greeting", f"{flag}={value}",
                  config_home=config_home, timeout=60)
    assert_one_line_error(result, 2, message, "(use ")
    assert result.stdout == ""


def test_unknown_voice_falls_back_to_captions(wavs, config_home):
    result = _cli("listen", "--input-wav", wavs["silent"], "--speed", "0", "--voice", "nosuch",
                  config_home=config_home, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "assistant: Please note" in result.stdout  # the greeting is still shown
    assert "(unknown espeak-ng voice 'nosuch'" in result.stdout


def test_unknown_engine_is_an_argparse_usage_error():
    result = _cli("ask", "--engine", "nosuch", QUESTION)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'nosuch'" in result.stderr.splitlines()[-1]


def test_saved_rate_out_of_range_is_ignored_not_fatal(wavs, tmp_path):
    """A hand-edited settings file must not stop the assistant from starting."""
    settings = tmp_path / "voice-assistant" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"rate": 100}')
    result = _cli("listen", "--input-wav", wavs["silent"], "--captions-only", "--no-greeting", "--speed", "0",
                  config_home=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ignoring rate=100" in result.stderr and "Traceback" not in result.stderr


# -- speech models ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    (root / "empty").mkdir()
    (root / "wrong_kind" / "data").mkdir(parents=True)
    (root / "wrong_kind" / "README").write_text("a folder of something else\n")
    return {"missing": root / "nosuch", "empty": root / "empty", "wrong-kind": root / "wrong_kind"}


@pytest.mark.parametrize("case", ["missing", "empty", "wrong-kind"])
def test_vosk_model_folder_unusable(wavs, model_folders, case):
    result = _cli("transcribe", "--engine", "vosk", "--model", model_folders[case], wavs["stereo"])
    assert_one_line_error(result, 6, str(model_folders[case]), "download-model")
    assert result.stdout == ""


def test_vosk_wrong_kind_folder_says_what_is_wrong(wavs, model_folders):
    result = _cli("transcribe", "--engine", "vosk", "--model", model_folders["wrong-kind"], wavs["stereo"])
    assert_one_line_error(result, 6, "is not a Vosk model")




def test_asking_for_a_neural_voice_that_is_not_there_is_one_line(wavs, config_home, tmp_path):
    result = _cli("listen", "--input-wav", wavs["silent"], "--speed", "0", "--tts", "piper",
                  "--voice", str(tmp_path / "nosuch.onnx"), config_home=config_home, timeout=120)
    assert result.returncode == 6 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"voice-assistant: error: no Piper voice found (looked in {tmp_path / 'nosuch.onnx'}) "
        "(run ./scripts/setup (it installs en_US-joe-medium), pass --voice PATH, or --tts espeak)")


def test_a_damaged_neural_voice_falls_back_to_espeak_with_a_notice(wavs, config_home, tmp_path):
    voice = tmp_path / "damaged.onnx"
    voice.write_bytes(b"\0" * 64)
    voice.with_name("damaged.onnx.json").write_text("{}")
    result = _cli("listen", "--input-wav", wavs["silent"], "--speed", "0", "--voice", str(voice),
                  config_home=config_home, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"(the Piper voice {voice} cannot be loaded" in result.stdout + result.stderr
    assert "speaking with espeak-ng" in result.stdout + result.stderr
    assert "assistant: Please note" in result.stdout
