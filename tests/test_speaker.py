"""The speaker's preparation of likely answers: first pieces made ahead, kept, and remade at a new pace."""

from __future__ import annotations

import threading

import pytest

from voice_assistant.audio.memory import MemorySink
from voice_assistant.events import EventBus
from voice_assistant.tts.base import Synthesizer, VoiceSettings
from voice_assistant.tts.speaker import CACHED_PIECES, Speaker, first_piece

ANSWER = "Six things can ease it at home, and I can take you through them. Say next to go on."


class CountingSynthesizer(Synthesizer):
    """Silence of one sample per character; records what it was asked to make, and at what rate."""

    def __init__(self) -> None:
        self.made: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[bytes, int]:
        with self.lock:
            self.made.append((text, settings.rate))
        return b"\0\0" * len(text), 16000


def _prepared(speaker: Speaker) -> None:
    speaker._prefetcher.join(timeout=10)
    assert not speaker._prefetcher.is_alive()


def test_first_piece_is_what_is_synthesized_first():
    assert first_piece(ANSWER) == "Six things can ease it at home,"
    assert first_piece("Massage.") == "Massage."
    assert first_piece("") == ""


def test_a_prepared_answer_starts_without_synthesis_and_stays_prepared():
    synthesizer = CountingSynthesizer()
    speaker = Speaker(synthesizer, MemorySink(), VoiceSettings(), EventBus())
    speaker.prefetch([ANSWER, "Massage."])
    _prepared(speaker)
    assert synthesizer.made == [("Six things can ease it at home,", 1.0), ("Massage.", 1.0)]
    # Many other sentences later (more than the cache holds), the prepared piece is still there.
    speaker.speak([" ".join(f"Sentence number {n}." for n in range(CACHED_PIECES + 5))])
    synthesizer.made.clear()
    speaker.speak([ANSWER])
    assert ("Six things can ease it at home,", 1.0) not in synthesizer.made
    assert ("and I can take you through them.", 1.0) in synthesizer.made
    speaker.close()


def test_a_new_pace_prepares_again_at_that_pace():
    synthesizer = CountingSynthesizer()
    speaker = Speaker(synthesizer, MemorySink(), VoiceSettings(), EventBus())
    speaker.prefetch([ANSWER])
    _prepared(speaker)
    speaker.set_rate(0.8)
    _prepared(speaker)
    assert synthesizer.made == [("Six things can ease it at home,", 1.0), ("Six things can ease it at home,", 0.8)]
    speaker.close()


@pytest.mark.parametrize("sink", [None, MemorySink()])
def test_nothing_is_prepared_for_captions_only_or_after_close(sink):
    synthesizer = CountingSynthesizer()
    speaker = Speaker(synthesizer if sink else None, sink, VoiceSettings(), EventBus())
    if sink is not None:
        speaker.close()
    speaker.prefetch([ANSWER])
    assert speaker._prefetcher is None and synthesizer.made == []


def test_the_dialogue_lists_every_answer_warning_and_decline_opening(dialogue, pack):
    lines = dialogue.first_lines()
    assert len(lines) == len(pack.entries) + len(pack.red_flags) + len(pack.declines) + 2
    assert lines[0].startswith(pack.entries[0].chunks[0])
    assert all(line.strip() for line in lines)


class _SlowSynthesizer(CountingSynthesizer):
    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[bytes, int]:
        import time

        time.sleep(0.4)
        return super().synthesize(text, settings)


class _CutAfterFirstPiece(MemorySink):
    """A listener who says 'stop' as soon as the assistant starts; notes when audio arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        import time

        self.arrived.append(time.perf_counter())
        return False


def test_a_prepared_answer_after_one_cut_short_starts_at_once():
    """Cutting a reply short leaves its next piece being made; the next answer, prepared, must not
    wait for it (it did: 0.4 s here, a neural voice's whole sentence in the app)."""
    import time

    synthesizer = _SlowSynthesizer()
    sink = _CutAfterFirstPiece()
    speaker = Speaker(synthesizer, sink, VoiceSettings(), EventBus())
    speaker.prefetch([ANSWER])
    _prepared(speaker)
    speaker.speak(["A first sentence that gets cut. A second one that is being made when it is."])
    began = time.perf_counter()
    speaker.speak([ANSWER])
    assert sink.arrived[-1] - began < 0.1
    speaker.close()


def test_what_next_would_say_is_listed_from_the_state(dialogue, pack):
    from voice_assistant.dialogue import DialogueState

    entry = next(e for e in pack.entries if len(e.chunks) > 1)
    state = DialogueState(topic=entry.id, chunk=0)
    assert dialogue.next_lines(state)[0].startswith(entry.chunks[1])
    assert dialogue.next_lines(DialogueState(topic=entry.id, chunk=len(entry.chunks) - 1)) == []
    assert dialogue.next_lines(DialogueState()) == []


def test_preparing_waits_while_someone_speaks_to_the_assistant():
    import time

    from voice_assistant.events import EventBus

    synthesizer = CountingSynthesizer()
    bus = EventBus()
    speaker = Speaker(synthesizer, MemorySink(), VoiceSettings(), bus)
    bus.emit("state", "hearing")
    speaker.prefetch([ANSWER])
    time.sleep(0.3)
    assert synthesizer.made == []          # the recognizer has the CPU
    bus.emit("state", "listening")
    _prepared(speaker)
    assert synthesizer.made == [("Six things can ease it at home,", 1.0)]
    speaker.close()
