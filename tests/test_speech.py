"""Real speech in: synthesized voices -> PocketSphinx with the pack's language model -> matcher -> answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from speech import VOICES, available, require, require_denoiser, synthesize
from voice_assistant.audio.wav import WavFileSource
from voice_assistant.dialogue import DialogueState
from voice_assistant.nlu.spoken import interpret

pytestmark = pytest.mark.slow

CASES = [
    ("what causes back spasms", "answer", "causes_overview"),
    ("how do I get my back to unlock", "answer", "relief_overview"),
    ("should I use ice or heat", "answer", "relief_compresses"),
    ("when should I see a doctor", "answer", "when_to_see_doctor"),
    ("can I wear high heels", "answer", "relief_shoes"),
    ("will a massage help", "answer", "relief_massage"),
    ("what are the symptoms of a back spasm", "answer", "symptoms"),
    ("can weak stomach muscles cause this", "answer", "cause_weak_abdominal_muscles"),
    ("I can't feel my left leg", "red_flag", "loss_of_feeling_in_limb"),
    ("I wet myself", "red_flag", "bladder_or_bowel_control"),
    ("I keep losing my balance", "red_flag", "loss_of_balance"),
    ("how long should I ice it", "decline", None),
    ("what dose of ibuprofen should I take", "decline", None),
    ("what's the weather like tomorrow", "decline", None),
    ("tell me a joke", "decline", None),
    ("say that again", "command", "repeat"),
    ("what can I ask", "command", "help"),
    ("slow down", "command", "slower"),
]
OFF_TOPIC = ["what's the weather like tomorrow", "tell me a joke"]
#: Required share of correct answers per voice: all but one of 18. espeak-ng's formant voice
#: needed the front-end noise floor to get here (13-14 of 18 without it; 18 of 18 with it).
MINIMUM = dict.fromkeys(VOICES, 0.94)


def _answer(core_dialogue, matcher, recognizer, path):
    transcript = recognizer.transcribe(WavFileSource(path).chunks())
    chosen = interpret(matcher, transcript)
    reply, _ = core_dialogue.respond(DialogueState(), chosen.text, chosen.match)
    return transcript, reply


@pytest.mark.parametrize("voice", list(VOICES))
def test_spoken_questions_are_answered(voice, recognizer, voices, dialogue, matcher):
    require(voice)
    wrong = []
    for text, kind, intent in CASES:
        transcript, reply = _answer(dialogue, matcher, recognizer, synthesize(text, voice, voices))
        if reply.kind != kind or (intent is not None and reply.intent != intent):
            wrong.append((text, transcript.text, reply.kind, reply.intent))
        if text in OFF_TOPIC:
            assert reply.kind == "decline", (voice, text, transcript.text, reply.intent)
    share = 1 - len(wrong) / len(CASES)
    assert share >= MINIMUM[voice], wrong


def test_red_flags_are_heard_in_natural_voices(recognizer, voices, dialogue, matcher, pack):
    for voice in ("festival-kal", "festival-slt"):
        require(voice)
        for text in ("my back is spasming and I can't feel my left leg", "I lost control of my bladder"):
            _, reply = _answer(dialogue, matcher, recognizer, synthesize(text, voice, voices))
            assert reply.kind == "red_flag" and reply.chunks[0].endswith(pack.emergency), (voice, text)


def test_transcribe_and_ask_wav_commands(voices):
    wav = synthesize("what causes back spasms", "festival-slt" if available("festival-slt") else "espeak-us-130",
                     voices)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    run = [sys.executable, "-m", "voice_assistant"]
    transcribed = subprocess.run([*run, "transcribe", "--engine", "pocketsphinx", str(wav)], capture_output=True,
                                 text=True, timeout=300, env=env)
    assert transcribed.returncode == 0, transcribed.stderr
    assert transcribed.stdout.startswith(str(wav)) and "causes" in transcribed.stdout
    asked = subprocess.run([*run, "ask", "--json", "--wav", str(wav)], capture_output=True, text=True, timeout=300,
                           env=env)
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    assert reply["intent"] == "causes_overview" and "causes" in reply["transcript"].lower()
    assert asked.stderr == ""  # 'auto' found the installed Whisper model: nothing to say


NOISY_CASES = CASES[:8]


@pytest.mark.parametrize("voice", ["festival-kal", "espeak-us-175"])
def test_questions_in_white_noise_are_answered_after_noise_suppression(voice, recognizer, voices, dialogue,
                                                                       matcher, tmp_path, caplog):
    """10 dB white noise: without suppression PocketSphinx answered fewer than half of such questions."""
    require(voice)
    from speech import pcm_of, with_white_noise
    from voice_assistant.audio.wav import write_wav

    require_denoiser()
    wrong = []
    with caplog.at_level("DEBUG", logger="voice_assistant.stt.pocketsphinx_engine"):
        for text, kind, intent in NOISY_CASES:
            noisy = tmp_path / f"{'_'.join(text.split())}.wav"
            write_wav(noisy, with_white_noise(pcm_of(synthesize(text, voice, voices)), snr_db=10).tobytes())
            transcript, reply = _answer(dialogue, matcher, recognizer, noisy)
            if reply.kind != kind or reply.intent != intent:
                wrong.append((text, transcript.text, reply.kind, reply.intent))
    suppressed = [r for r in caplog.records if "after noise suppression" in r.getMessage()]
    assert len(suppressed) == len(NOISY_CASES)
    assert len(wrong) <= 1, wrong


def test_listening_live_in_a_noisy_room_later_utterances_are_cleaned_as_they_stream(recognizer, voices, dialogue,
                                                                                     matcher, caplog):
    """The first noisy utterance needs a second pass after suppression; once the room is known to be
    noisy, the next ones are cleaned on the way in (no second pass to wait for); a quiet one ends that."""
    require("festival-kal")
    from speech import pcm_of, with_white_noise
    from voice_assistant.stt.base import Transcript

    require_denoiser()

    def live(pcm: bytes) -> tuple[Transcript, list[str]]:
        caplog.clear()
        session = recognizer.session()
        for start in range(0, len(pcm), 3200):  # 100 ms chunks, as from a microphone
            session.accept(pcm[start:start + 3200])
        transcript = session.finish()
        return transcript, [r.getMessage() for r in caplog.records]

    recognizer.reset()
    try:
        with caplog.at_level("DEBUG", logger="voice_assistant.stt.pocketsphinx_engine"):
            for turn, (text, kind, intent) in enumerate(NOISY_CASES[:3]):
                heard = with_white_noise(pcm_of(synthesize(text, "festival-kal", voices)), snr_db=10, seed=turn)
                transcript, messages = live(heard.tobytes())
                streamed = any("as the utterance streams in" in m for m in messages)
                second_pass = any("after noise suppression" in m for m in messages)
                assert (streamed, second_pass) == ((False, True) if turn == 0 else (True, False)), messages
                chosen = interpret(matcher, transcript)
                reply, _ = dialogue.respond(DialogueState(), chosen.text, chosen.match)
                assert (reply.kind, reply.intent) == (kind, intent), (text, transcript.text)
            quiet = pcm_of(synthesize(NOISY_CASES[0][0], "festival-kal", voices)).tobytes()
            live(quiet)  # still cleaned on the way in, but it tells the room is quiet again
            assert not recognizer.noisy_room
            _, messages = live(quiet)
            assert not any("suppress" in m or "suppression" in m for m in messages), messages
    finally:
        recognizer.reset()
