"""Barge-in: spot a few command words ('stop', 'next') while the assistant is speaking.

PocketSphinx keyword spotting runs frame by frame, so a command is caught
a few hundred milliseconds after it is said, without waiting for silence.
The assistant's own voice reaches the microphone too, so a word that is in
the sentence being spoken at that moment is ignored (see the loop).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from voice_assistant.audio.denoise import load_denoiser
from voice_assistant.errors import ModelError

log = logging.getLogger(__name__)

#: Keyphrase -> (command intent, detection threshold). PocketSphinx reports a
#: keyphrase when its score beats the threshold, so a HIGHER threshold is
#: STRICTER (1e-5 is stricter than 1e-40; values above 1 are accepted). Each is
#: the most permissive power of ten (1e-40 .. 1e+10) at which that keyphrase
#: alone never fires on the assistant's own voice: every sentence it can say,
#: espeak-ng at rates 0.8, 1.0 and 1.25, from a fresh and from an adapted
#: spotter, and whole replies played through; then made stricter until that
#: also held at the other reachable rates (0.512, 0.64, 1.562, 1.6). The lone
#: words need strict values (espeak-ng's 'gallstones' and 'strong pain' pass as
#: 'stop' up to 1e-01, and at the slowest rates 'slows' or 'sore' as 'slower'
#: up to 1e+07), which costs detection; longer variants can be more permissive.
#: Tuned:   python bench/bench_barge_in.py --tune
#:          python bench/bench_barge_in.py --tighten --rates 0.512,0.64,1.562,1.6
#: Measured (python bench/bench_barge_in.py, six synthetic voices, 2 mixes each):
#:   self-triggers 0 over 760 sentence items and 80 runs (the previous table,
#:   1e-10 .. 1e-15 on the five lone words, had 59 and 18: about 8% of sentences);
#:   detected alone / over the assistant at -6 dB / -12 dB: 'stop' 67/25/25%,
#:   'stop it' 83/8/17%, 'repeat' 83/0/8%, 'faster' 67/33/50%, 'next' 50/0/0%,
#:   'slower' 33/0/0%; median 120 ms after the end of the word.
#:   So barge-in over the assistant's own voice needs echo cancellation, which
#:   this has not. Answers come in short pieces, and once the assistant is
#:   quiet the full recognizer hears any command.
KEYPHRASES: dict[str, tuple[str, float]] = {
    "stop": ("stop", 1e0),
    "stop it": ("stop", 1e-13),
    "please stop": ("stop", 1e-28),
    "stop talking": ("stop", 1e-40),
    "be quiet": ("stop", 1e-27),
    "next": ("next", 1e-6),
    "repeat": ("repeat", 1e-8),
    "slower": ("slower", 1e8),
    "slow down": ("slower", 1e-3),
    "faster": ("faster", 1e-25),
    "speed up": ("faster", 1e-13),
}

#: In a noisy room (audio cleaned by RNNoise), thresholds for these intents are multiplied by this: the
#: permissive 'faster' table above still took cleaned steady noise for 'faster' 3 times in 3 minutes at
#: 10 dB (1 at 20 dB), and none with this; of 'faster' and 'speed up' said in that noise by four voices,
#: 3 of 8 were caught either way at 10 dB, 6 -> 5 of 8 at 20 dB. Measured by an exploratory script
#: (not kept); bench/bench_loop.py --noise-snr 10 shows the effect on a whole session.
NOISY_ROOM_STRICTER = {"faster": 1e10}


class CommandSpotter:
    """Feed 16 kHz PCM frames; :meth:`feed` returns a command intent when a keyphrase is heard."""

    def __init__(self, keyphrases: dict[str, tuple[str, float]] | None = None) -> None:
        try:
            import pocketsphinx
        except ImportError as exc:
            raise ModelError(f"pocketsphinx is not installed ({exc})", "pip install pocketsphinx") from None
        self.keyphrases = keyphrases or KEYPHRASES
        model = Path(pocketsphinx.get_model_path()) / "en-us"
        words = {word for phrase in self.keyphrases for word in phrase.split()}
        # A dictionary of just the keyphrase words loads in milliseconds (the full one: ~0.2 s, 27 MB).
        entries = [line for line in (model / "cmudict-en-us.dict").read_text(encoding="utf-8").splitlines()
                   if line.split(" ", 1)[0].split("(", 1)[0] in words]
        with tempfile.TemporaryDirectory(prefix="voice-assistant-kws-") as folder:
            kws_file, dict_file = Path(folder) / "commands.kws", Path(folder) / "commands.dict"
            noisy_kws_file = Path(folder) / "noisy-room.kws"
            kws_file.write_text(_kws(self.keyphrases))
            noisy_kws_file.write_text(_kws(self.keyphrases, NOISY_ROOM_STRICTER))
            dict_file.write_text("\n".join(entries) + "\n")
            self.decoder = pocketsphinx.Decoder(hmm=str(model / "en-us"), dict=str(dict_file), kws=str(kws_file),
                                                loglevel="FATAL")
            self._searches = {False: self.decoder.current_search(), True: "noisy_room"}
            self.decoder.add_kws(self._searches[True], str(noisy_kws_file))
        self._started = False
        #: See :meth:`set_noisy_room`.
        self.noisy_room = False
        self._denoising = None

    def feed(self, frame: bytes) -> str | None:
        if not self._started:
            self.decoder.activate_search(self._searches[self.noisy_room])
            self.decoder.start_utt()
            self._started = True
            denoiser = load_denoiser() if self.noisy_room else None
            self._denoising = denoiser.stream() if denoiser is not None else None
        if self._denoising is not None:
            frame = self._denoising.process(frame)
        if not frame:
            return None
        self.decoder.process_raw(frame, False, False)
        hypothesis = self.decoder.hyp()
        if hypothesis is None:
            return None
        phrase = hypothesis.hypstr.strip()
        self.reset()
        intent = self.keyphrases.get(phrase, (None, 0))[0]
        log.debug("spotted %r", phrase)
        return intent

    def phrases_for(self, intent: str) -> list[str]:
        """The keyphrases that report ``intent``."""
        return [phrase for phrase, (command, _) in self.keyphrases.items() if command == intent]

    def set_noisy_room(self, noisy: bool) -> None:
        """In a noisy room, clean the audio with RNNoise first (where pyrnnoise is installed) and use
        the stricter keyphrase search: steady noise alone was spotted as 'faster' or 'stop' several
        times a minute (bench/bench_loop.py --noise-snr). Takes effect from the next utterance."""
        if noisy != self.noisy_room:
            self.reset()
            self.noisy_room = noisy

    def reset(self) -> None:
        if self._started:
            self.decoder.end_utt()
            self._started = False
        if self._denoising is not None:
            self._denoising.close()
            self._denoising = None


def _kws(keyphrases: dict[str, tuple[str, float]], stricter: dict[str, float] | None = None) -> str:
    """A PocketSphinx keyphrase file: one 'phrase /threshold/' a line."""
    stricter = stricter or {}
    return "".join(f"{phrase} /{threshold * stricter.get(intent, 1.0):.0e}/\n"
                   for phrase, (intent, threshold) in keyphrases.items())
