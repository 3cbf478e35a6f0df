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

from voice_assistant.errors import ModelError

log = logging.getLogger(__name__)

#: Keyphrase -> (command intent, detection threshold). Higher thresholds are
#: stricter. Chosen by running the spotter over every sentence the assistant says
#: (espeak-ng at three rates, mixed in at 0.7 as echo) and over commands in five
#: voices, clean and over the assistant's speech at -6 dB: at these values the
#: assistant's own voice still sets off 'stop' in about 8% of its sentences and a
#: spoken command is caught about half the time (bench/bench_barge_in.py).
KEYPHRASES: dict[str, tuple[str, float]] = {
    "stop": ("stop", 1e-10),
    "next": ("next", 1e-10),
    "repeat": ("repeat", 1e-15),
    "slower": ("slower", 1e-10),
    "faster": ("faster", 1e-15),
}


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
            kws_file.write_text("".join(f"{phrase} /{threshold:.0e}/\n"
                                        for phrase, (_, threshold) in self.keyphrases.items()))
            dict_file.write_text("\n".join(entries) + "\n")
            self.decoder = pocketsphinx.Decoder(hmm=str(model / "en-us"), dict=str(dict_file), kws=str(kws_file),
                                                loglevel="FATAL")
        self._started = False

    def feed(self, frame: bytes) -> str | None:
        if not self._started:
            self.decoder.start_utt()
            self._started = True
        self.decoder.process_raw(frame, False, False)
        hypothesis = self.decoder.hyp()
        if hypothesis is None:
            return None
        phrase = hypothesis.hypstr.strip()
        self.reset()
        intent = self.keyphrases.get(phrase, (None, 0))[0]
        log.debug("spotted %r", phrase)
        return intent

    def reset(self) -> None:
        if self._started:
            self.decoder.end_utt()
            self._started = False
