"""PocketSphinx recognizer: the zero-download engine, biased towards the knowledge pack.

At start-up a domain language model is built from the pack (see
:mod:`voice_assistant.stt.domain_lm`) and cached by the hash of its inputs, so
only the first start after a pack change pays the build (seconds); later starts
load it in a fraction of a second. The decoder keeps the bundled US-English
acoustic model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import platformdirs

from voice_assistant.audio.denoise import estimate_snr_db, load_denoiser
from voice_assistant.errors import ModelError
from voice_assistant.knowledge import KnowledgePack
from voice_assistant.stt import domain_lm
from voice_assistant.stt.base import Recognizer, RecognizerSession, Transcript
from voice_assistant.stt.noise_floor import FrameNoiseFloor

log = logging.getLogger(__name__)

#: Bump when the builder changes, so caches are rebuilt.
LM_VERSION = 1
#: How far (Euclidean, cepstral units) the live mean may move in one utterance before it is decoded again.
CMN_REDECODE_DISTANCE = 4.0
#: Only the first utterances after a reset are re-decoded for small moves (the mean is
#: still settling); later, only a jump this large (a new microphone or voice) is.
SETTLING_UTTERANCES = 2
CMN_JUMP_DISTANCE = 25.0
#: At most this many more passes while the mean keeps moving, for a whole recording: one pass does not
#: always settle it in noise or for a voice far from the initial mean (figures in bench/sweep_asr.py's
#: docstring). Listening live, one: the answer waits for the passes, and a second one took the
#: endpoint -> first audio p95 from 105 to 203 ms (bench/bench_loop.py at 03aef50); the mean settles
#: over the first utterances anyway.
MAX_REDECODES = 2
LIVE_REDECODES = 1
#: Under this much speech, only one more pass: a mean from so little is rough (a caution, not measured apart).
SETTLED_MEAN_SECONDS = 1.0
#: 'a(2)': the dictionary's second pronunciation of 'a'.
_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")
#: A "word" longer than this is noise the decoder forced onto the vocabulary.
MAX_WORD_SECONDS = 1.5


@dataclass(frozen=True)
class LanguageModelSettings:
    """The domain-LM recipe and decoder weights, chosen with bench/sweep_asr.py (figures in its docstring)."""

    background_words: int = 5000
    background_bigram_words: int = 1000
    background_weight: float = 0.05
    language_weight: float = 5.0
    word_insertion_penalty: float = 1.0
    alternatives: int = 5
    #: Synthetic and very clean recordings contain runs of exact digital zeros,
    #: which throw PocketSphinx's features off; half a bit of seeded noise fixes
    #: that (espeak-ng at 130 wpm: 12 -> 15 of 18 answered) and is harmless on
    #: real microphones, which are never that quiet.
    decoder_options: dict = field(default_factory=lambda: {"dither": True, "seed": 1})
    #: Noise this far under each 10 ms frame's level (None: off); see :mod:`.noise_floor`.
    noise_floor_db: float | None = -30.0
    #: An utterance whose estimated signal-to-noise ratio is under this (dB) is decoded again after
    #: noise suppression (None: never); see :mod:`voice_assistant.audio.denoise`.
    denoise_below_snr_db: float | None = 20.0
    #: The share of the noisy input mixed back into the cleaned audio (white and babble at 10 dB,
    #: kal + espeak-ng: 104 of 160 with none, 110 with 0.15, 101 with 0.3).
    denoise_keep_original: float = 0.15


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("voice-assistant")) / "lm"


def ensure_domain_model(pack: KnowledgePack, settings: LanguageModelSettings,
                        directory: Path | None = None, extra: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Paths of the pack's ARPA model and dictionary, building and caching them if needed."""
    sentences = domain_lm.domain_sentences(pack, extra)
    recipe = json.dumps([LM_VERSION, settings.background_words, settings.background_bigram_words,
                         settings.background_weight, sentences], sort_keys=True)
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    directory = directory or cache_dir()
    arpa, dictionary = directory / f"{pack.id}-{key}.arpa", directory / f"{pack.id}-{key}.dict"
    if arpa.is_file() and dictionary.is_file():
        return arpa, dictionary
    log.info("building the speech model for pack %s (first start only)", pack.id)
    background = domain_lm.load_background(settings.background_words, settings.background_bigram_words)
    text = domain_lm.build_arpa(sentences, background=background, bg_weight=settings.background_weight)
    dict_text, missing, guessed = domain_lm.make_dict_g2p(domain_lm.vocab_of_arpa(text))
    if missing:
        log.info("%d word(s) not in the pronunciation dictionary; guessed with espeak-ng: %s",
                 len(missing), ", ".join(missing))
    unguessed = sorted(set(missing) - set(guessed))
    if unguessed:
        log.warning("no pronunciation for: %s (they cannot be recognized)", ", ".join(unguessed))
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(dictionary, dict_text)
    _write_atomically(arpa, text)
    return arpa, dictionary


def _write_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class PocketSphinxRecognizer(Recognizer):
    """PocketSphinx with the pack's domain language model."""

    name = "pocketsphinx"

    def __init__(self, pack: KnowledgePack, settings: LanguageModelSettings | None = None,
                 directory: Path | None = None, extra_phrases: tuple[str, ...] = ()) -> None:
        self.settings = settings or LanguageModelSettings()
        try:
            import pocketsphinx
        except ImportError as exc:
            raise ModelError(f"pocketsphinx is not installed ({exc})", "pip install pocketsphinx") from None
        arpa, dictionary = ensure_domain_model(pack, self.settings, directory, extra_phrases)
        acoustic = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us"
        try:
            self.decoder = pocketsphinx.Decoder(
                hmm=str(acoustic), lm=str(arpa), dict=str(dictionary), lw=self.settings.language_weight,
                wip=self.settings.word_insertion_penalty, samprate=self.sample_rate, loglevel="FATAL",
                **self.settings.decoder_options)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"PocketSphinx could not load its model: {exc}",
                             f"delete the cache folder {arpa.parent} and try again") from None
        self.utterances_since_reset = 0
        self.noisy_room = False  # see Recognizer.noisy_room; a noisy room's utterances are cleaned as they stream in

    def session(self, redecodes: int = LIVE_REDECODES) -> RecognizerSession:
        return PocketSphinxSession(self, self.settings.alternatives, redecodes)

    def noise_floor(self) -> FrameNoiseFloor | None:
        floor = self.settings.noise_floor_db
        return FrameNoiseFloor(floor) if floor is not None else None

    def reset(self) -> None:
        self.decoder.reinit_feat()
        self.utterances_since_reset = 0
        self.noisy_room = False

    def recording_session(self) -> RecognizerSession:
        """No listener waits, so the recording may be decoded again until the cepstral mean settles."""
        return self.session(MAX_REDECODES)

    def hear_once(self, pcm: bytes) -> Transcript:
        """As :meth:`Recognizer.hear_once`; the cepstral mean and the noisy-room reading are put back,
        so the assistant's own voice in those seconds does not pull them away from the user's."""
        cmn, noisy, count = self.decoder.get_cmn(), self.noisy_room, self.utterances_since_reset
        try:
            return super().hear_once(pcm)
        finally:
            self.decoder.set_cmn(cmn)
            self.noisy_room, self.utterances_since_reset = noisy, count

    def transcribe(self, chunks) -> Transcript:
        """A whole recording, heard on its own: no feature state carried over from the last one."""
        self.reset()
        return super().transcribe(chunks)


class PocketSphinxSession(RecognizerSession):
    """One utterance through the decoder."""

    def __init__(self, recognizer: PocketSphinxRecognizer, alternatives: int,
                 redecodes: int = LIVE_REDECODES) -> None:
        self.recognizer = recognizer
        self.redecodes = redecodes
        decoder = self.decoder = recognizer.decoder
        self.alternatives = alternatives
        self._floor = recognizer.noise_floor()
        denoiser = load_denoiser() if recognizer.noisy_room else None
        self._denoising = (denoiser.stream(recognizer.settings.denoise_keep_original)
                           if denoiser is not None else None)
        if self._denoising is not None:
            log.debug("the room was noisy: suppressing noise as the utterance streams in")
        self._cmn_text_before = decoder.get_cmn()
        self._cmn_before = _cmn(decoder)
        self._heard: list[bytes] = []  # as it came in, for the noise estimate and suppression
        self._audio: list[bytes] = []  # as decoded
        decoder.start_utt()
        self._open = True

    def accept(self, pcm: bytes) -> str:
        self._heard.append(pcm)
        if self._denoising is not None:
            pcm = self._denoising.process(pcm)
        self._decode(self._floor.process(pcm) if self._floor is not None else pcm)
        hypothesis = self.decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""

    def _decode(self, pcm: bytes) -> None:
        if pcm:
            self._audio.append(pcm)
            self.decoder.process_raw(pcm, False, False)

    def finish(self) -> Transcript:
        if self._open:
            self._end_utterance()
            self._decode_again_without_the_noise()
            self._decode_again_while_the_mean_moves()
        self._audio = self._heard = []
        hypothesis = self.decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr or self._looks_like_noise():
            return Transcript("", 0.0)
        confidence = hypothesis.prob  # the posterior, already a probability
        others: list[str] = []
        for candidate in islice(self.decoder.nbest(), self.alternatives * 3):
            if candidate is None or not candidate.hypstr:
                continue
            text = " ".join(w for w in candidate.hypstr.split() if not w.startswith(("<", "[")))
            if text and text != hypothesis.hypstr and text not in others:
                others.append(text)
            if len(others) >= self.alternatives:
                break
        return Transcript(hypothesis.hypstr, round(min(1.0, max(0.0, confidence)), 3), tuple(others),
                          self._word_posteriors(hypothesis.hypstr))

    def abandon(self) -> None:
        """End the utterance without a result: no further passes, and no say on whether the room is noisy."""
        if self._open:
            self._end_utterance()  # which also closes the noise-suppression stream
        self._audio = self._heard = []

    def _end_utterance(self) -> None:
        """Decode what the streams still hold and end the utterance, whatever fails on the way, so
        the decoder is ready for the next one."""
        try:
            if self._denoising is not None:
                rest = self._denoising.flush()
                self._decode(self._floor.process(rest) if self._floor is not None else rest)
            if self._floor is not None:
                self._decode(self._floor.flush())
        finally:
            self._open = False
            self.decoder.end_utt()

    def _decode_again_without_the_noise(self) -> None:
        """A noisy utterance is decoded again after noise suppression, from the cepstral mean it
        started with (the noisy pass pulled the mean towards the noise), unless it was cleaned as it
        came in. Either way the recognizer remembers whether the room is noisy, so that listening
        live, the next utterance is cleaned as it streams and needs no second pass."""
        threshold = self.recognizer.settings.denoise_below_snr_db
        if threshold is None:
            return
        heard = b"".join(self._heard)
        snr = estimate_snr_db(heard)
        if snr is None:
            return
        self.recognizer.noisy_room = snr < threshold
        if snr >= threshold or self._denoising is not None:
            return
        denoiser = load_denoiser()
        if denoiser is None:
            return
        log.debug("estimated SNR %.1f dB: decoding again after noise suppression", snr)
        cleaned = denoiser.process(heard, self.recognizer.settings.denoise_keep_original)
        floor = self.recognizer.noise_floor()
        self._audio = [floor.process(cleaned) + floor.flush()] if floor is not None else [cleaned]
        self.decoder.set_cmn(self._cmn_text_before)
        self.decoder.start_utt()
        self.decoder.process_raw(self._audio[0], False, False)
        self.decoder.end_utt()

    def _decode_again_while_the_mean_moves(self) -> None:
        """The live cepstral mean was far off (first words heard, or a new microphone): decode
        the utterance again now that it has adapted to this voice, while it keeps moving."""
        settling = self.recognizer.utterances_since_reset < SETTLING_UTTERANCES
        self.recognizer.utterances_since_reset += 1
        limit = CMN_REDECODE_DISTANCE if settling else CMN_JUMP_DISTANCE
        audio_seconds = sum(len(pcm) for pcm in self._audio) / (2 * self.recognizer.sample_rate)
        passes = self.redecodes if audio_seconds >= SETTLED_MEAN_SECONDS else min(1, self.redecodes)
        before = self._cmn_before
        for _ in range(passes):
            after = _cmn(self.decoder)
            if _distance(before, after) <= limit:
                return
            log.debug("cepstral mean moved; decoding the utterance again")
            before = after
            self.decoder.start_utt()
            self.decoder.process_raw(b"".join(self._audio), False, False)
            self.decoder.end_utt()

    def _word_posteriors(self, text: str) -> tuple[tuple[str, float], ...]:
        """Each word of the best path with its lattice posterior; empty if they do not line up with ``text``."""
        words = tuple((_ALTERNATE_PRONUNCIATION.sub("", seg.word), round(min(1.0, max(0.0, seg.prob)), 3))
                      for seg in self.decoder.seg() if _is_word(seg))
        return words if " ".join(word for word, _ in words) == text else ()

    def _looks_like_noise(self) -> bool:
        """Steady noise decodes as one word stretched over seconds ('thigh'); no spoken word is that long."""
        frames_per_second = 100
        return any(_is_word(seg) and (seg.end_frame - seg.start_frame) > MAX_WORD_SECONDS * frames_per_second
                   for seg in self.decoder.seg())


def _is_word(segment) -> bool:
    return not segment.word.startswith(("<", "[", "+")) and segment.word != "<sil>"


def _cmn(decoder) -> list[float]:
    return [float(value) for value in decoder.get_cmn().split(",")]


def _distance(a: list[float], b: list[float]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5
