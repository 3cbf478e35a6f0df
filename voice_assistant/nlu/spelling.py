"""Repair what a typist or a recognizer got wrong, towards the pack's vocabulary.

Two repairs, both only towards words the pack itself uses:

* **Typos** ('numbnes', 'balence', 'controll'): a word that is not English at all
  becomes the closest vocabulary word within a small edit distance. A real word such
  as 'fell' or 'week' is left alone, so the repair never invents a symptom.
* **Sound-alikes**: a recognizer writes what it heard in real words, split or swapped
  for a homophone ('mass age', 'come presses', 'warning sines', 'blad her', 'a weigh').
  A run of one to three words that sounds like one vocabulary word (the same phonemes,
  or one phoneme off for a long word, and no small word such as 'my' or 'it' in it), or whose letters join into it, becomes that word.
  A single real word is replaced only by an exact homophone, and never a word the pack
  uses itself, so 'pain' stays 'pain' and 'wait' (a command's word) stays 'wait'.

English words and their pronunciations come from the dictionary PocketSphinx ships
(about 130,000 words), read once.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

log = logging.getLogger(__name__)

#: A vocabulary word this many phonemes long or more may be one phoneme off, after the same first
#: one ('liga meant' -> 'ligament'); shorter ones must sound the same ('a weigh' -> 'away').
_LOOSE_SOUND_PHONEMES = 6
_LONGEST_RUN = 3
_HOMOPHONE_PHONEMES = 4
#: Endings the dictionary may not list a word with, and what the stem then ends with:
#: 'storeys' -> 'storey', 'niggled' -> 'niggle', 'twinging' -> 'twinge'.
_ENDINGS = (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""))


@functools.lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    """Every word of PocketSphinx's bundled dictionary -> its pronunciations as the file writes them
    ('|' between them), or an empty dict when it is not installed. Sounds are made on demand
    (:func:`sounds_of`): making all 130,000 at start-up took 0.4 s."""
    try:
        import pocketsphinx
    except ImportError:  # the matcher still works, it just repairs fewer words
        return {}
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}
    entries: dict[str, str] = {}
    for line in text.splitlines():
        word, _, phonemes = line.partition(" ")
        if "(" in word:  # 'word(2)': another pronunciation of 'word'
            word = word.split("(", 1)[0]
            entries[word] = f"{entries.get(word, '')}|{phonemes}"
        elif word:
            entries[word] = phonemes
    return entries


_PHONEMES = "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
_CODES = {phoneme: chr(0x100 + i) for i, phoneme in enumerate(_PHONEMES.split())}


@functools.lru_cache(maxsize=4096)
def sounds_of(word: str) -> tuple[str, ...]:
    """The word's pronunciations, one character per phoneme (stress dropped); () when unknown."""
    written = _dictionary().get(word)
    if not written:
        return ()
    return tuple("".join(_CODES.get(p.rstrip("012"), "?") for p in variant.split())
                 for variant in written.split("|") if variant)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Words of PocketSphinx's bundled dictionary (empty when it is not installed)."""
    return frozenset(_dictionary())


class Speller:
    """Maps unknown words to the closest vocabulary word, and sound-alike runs of words to the
    vocabulary word they sound like."""

    def __init__(self, vocabulary: Iterable[str], known_words: frozenset[str],
                 sound_targets: Iterable[str] = (), function_words: frozenset[str] = frozenset(),
                 pronunciations: dict[str, tuple[str, ...]] | None = None) -> None:
        """``vocabulary``: the pack's words (typo repairs go to them, and they are never replaced);
        ``sound_targets``: the content words among them that a sound-alike run may become;
        ``function_words``: words ('a', 'my', 'it') that only an exact sound-alike may take in."""
        self._function_words = function_words
        self._vocabulary_set = frozenset(vocabulary)
        self.vocabulary = sorted(word for word in self._vocabulary_set if len(word) >= 4)
        self.known_words = known_words
        self._sounds_of = sounds_of if pronunciations is None else (lambda word: pronunciations.get(word, ()))
        self._targets = frozenset(word for word in sound_targets if len(word) >= 4)
        by_sound: dict[str, str] = {}
        for word in sorted(self._targets):
            for sound in self._sounds_of(word):
                by_sound.setdefault(sound, word)
        self._by_sound = by_sound
        self._long_sounds = [sound for sound in by_sound if len(sound) >= _LOOSE_SOUND_PHONEMES]

    def correct(self, text: str) -> str:
        words = self._join_sound_alikes(text.split())
        return " ".join(self._word(word) for word in words)

    def _word(self, word: str) -> str:
        if len(word) < 4 or word in self._vocabulary_set or not word.isalpha() or self._is_english(word):
            return word
        limit = 1 if len(word) <= 6 else 2
        close = process.extract(word, self.vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=5)
        if not close:
            return word
        # Among equally close words prefer one with the same letters: 'waek' is 'weak', not 'walk'.
        best = min(close, key=lambda item: (item[1], sorted(item[0]) != sorted(word)))
        return best[0]

    def _is_english(self, word: str) -> bool:
        """A dictionary word, or a form of one the dictionary does not list ('storeys', 'niggles'):
        a real word is never repaired into a symptom ('two storeys' is not 'two stones')."""
        if word in self.known_words:
            return True
        # A stem of four letters or more: the dictionary lists many short names and acronyms ('bac').
        return any(word.endswith(ending) and len(word) - len(ending) >= 4
                   and word[:-len(ending)] + restored in self.known_words for ending, restored in _ENDINGS)

    def _join_sound_alikes(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for length in range(min(_LONGEST_RUN, len(words) - i), 0, -1):
                found = self._sounds_like(words[i:i + length])
                if found is not None:
                    out.append(found)
                    i += length
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _sounds_like(self, run: list[str]) -> str | None:
        """The vocabulary word that ``run`` sounds like, or None."""
        if not self._targets or any(not word.isalpha() for word in run):
            return None
        if all(word in self._vocabulary_set for word in run):
            return None  # the pack's own words, as the pack says them
        if len(run) == 1:  # a homophone, exactly, and not a short one ('sines', but not 'heel' for 'heal')
            return next((self._by_sound[s] for s in self._sounds_of(run[0])
                         if s in self._by_sound and len(s) >= _HOMOPHONE_PHONEMES), None)
        joined = "".join(run)
        if joined in self._targets:
            return joined  # 'doc tor', 'pain killers'
        sounds = [self._sounds_of(word) for word in run]
        heard = [*map("".join, itertools.product(*sounds))]  # [] when a piece has no pronunciation
        exact = next((self._by_sound[sound] for sound in heard if sound in self._by_sound), None)
        if exact is not None:
            return exact  # 'a weigh', 'come presses'
        # A small word takes part only one letter off ('blad her'): 'my new' is not 'menu'.
        small = any(word in self._function_words for word in run)
        if not heard:
            # A piece no dictionary knows ('simp toms'): its letters, joined, may still spell the word.
            close = process.extractOne(joined, self._targets, scorer=OSA.distance,
                                       score_cutoff=1 if small or len(joined) <= 6 else 2)
            return close[0] if close is not None and len(close[0]) >= 6 else None
        if small:
            return None
        for sound in heard:
            if len(sound) >= _LOOSE_SOUND_PHONEMES - 1:
                close = process.extractOne(sound, self._long_sounds, scorer=Levenshtein.distance, score_cutoff=1)
                if close is not None and close[0][0] == sound[0]:
                    return self._by_sound[close[0]]  # 'liga meant' for 'ligament'
        return None
