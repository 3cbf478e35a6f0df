"""Turn what was typed or heard into plain lower-case words the matcher can compare.

Pure functions: case, Unicode forms, punctuation, contractions, number words,
filler words, and common speech-recognition confusions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache

#: Longest text considered; a question is never this long, and capping keeps
#: matching time bounded for pasted essays.
MAX_CHARS = 2000

_CONTRACTIONS = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "i'm": "i am", "im": "i am", "dont": "do not",
    "cant": "can not", "doesnt": "does not", "didnt": "did not", "isnt": "is not", "wont": "will not",
    "whats": "what is", "hows": "how is", "wheres": "where is", "thats": "that is",
}
_SUFFIXES = [("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'d", " would"),
             ("'m", " am")]
_S_IS_WORDS = {"what", "that", "it", "he", "she", "there", "here", "where", "who", "how", "when", "why",
               "this", "back", "leg", "arm", "pain", "everything", "something"}

_NUMBERS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
            "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve",
            "1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth"}

# Filler words carry no meaning in a spoken question. "like" is a filler only
# when it does not follow a verb of perception or a pronoun ("feel like").
_FILLERS = {"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm", "hm", "uhm", "basically",
            "actually", "literally", "honestly", "please", "okay", "ok", "hey", "well", "oh", "so",
            "anyway", "just", "really", "kinda", "sorta", "assistant"}
_FILLER_PHRASES = re.compile(r"\b(you know|i mean|kind of|sort of|i guess|excuse me|thank you|thanks)\b")
_LIKE_KEEPERS = {"feel", "feels", "felt", "look", "looks", "looked", "sound", "sounds", "seem", "seems",
                 "would", "i", "you", "we", "they", "do", "does", "what"}

#: Words a speech recognizer commonly confuses, in any domain. Packs add their own.
COMMON_CONFUSIONS: dict[str, str] = {
    "add home": "at home", "sea a doctor": "see a doctor", "sea the doctor": "see the doctor",
    "see a dock": "see a doctor", "fill my": "feel my", "cant fill": "can not feel",
    "wait myself": "wet myself", "whet myself": "wet myself", "pain killers": "painkillers",
    "pain killer": "painkiller", "mussels": "muscles", "mussel": "muscle", "gee pee": "gp",
    "g p": "gp", "sea my": "see my", "loosing": "losing", "looseing": "losing", "the er": "the emergency room",
    "a and e": "the emergency room", "leads two": "leads to",
}

#: 'last' before a time word dates something ('last night'); it is not 'how long does it last'.
_LAST_AS_DATE = re.compile(r"\blast (?=(night|evening|week|weekend|month|year|season|summer|winter|time)\b)")

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalize(text: str, confusions: Mapping[str, str] | None = None) -> str:
    """Return ``text`` as normalized words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    text = text.replace("&", " and ").replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    words = [_expand(token) for token in _TOKEN.findall(text)]
    text = " ".join(word for word in words if word)
    for heard, meant in {**COMMON_CONFUSIONS, **(confusions or {})}.items():
        if heard in text:
            text = re.sub(rf"\b{re.escape(heard)}\b", meant, text)
    text = _FILLER_PHRASES.sub(" ", text)
    text = _LAST_AS_DATE.sub("", text)
    return _drop_fillers(text.split())


#: Where a written or recognized sentence breaks into clauses: a mark followed by a space or the end
#: (so '1.5' stays whole).
_CLAUSE_MARK = re.compile(r"[,;:.!?]+(?=\s|$)")


def normalize_clauses(text: str, confusions: Mapping[str, str] | None = None,
                      correct: Callable[[str], str] = lambda clause: clause) -> tuple[str, tuple[int, ...]]:
    """``text`` normalized clause by clause (at its commas and stops), each then put right by
    ``correct`` (a speller), and where each clause after the first starts in the result:
    normalizing drops the marks, and with them where a thought ends."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    pieces = [correct(normalize(part, confusions)) for part in _CLAUSE_MARK.split(text)]
    pieces = [piece for piece in pieces if piece]
    starts, offset = [], 0
    for piece in pieces[:-1]:
        offset += len(piece) + 1
        starts.append(offset)
    return " ".join(pieces), tuple(starts)


@lru_cache(maxsize=65536)
def _expand(token: str) -> str:
    # Pure, and the same few thousand words recur: the pack's phrasings are normalized at every start.
    if token in _CONTRACTIONS:
        return _CONTRACTIONS[token]
    if token in _NUMBERS:
        return _NUMBERS[token]
    for suffix, replacement in _SUFFIXES:
        if token.endswith(suffix):
            return token[: -len(suffix)] + replacement
    if token.endswith("'s"):
        stem = token[:-2]
        return f"{stem} is" if stem in _S_IS_WORDS else stem
    return token.replace("'", "")


def _drop_fillers(words: list[str]) -> str:
    kept: list[str] = []
    for word in words:
        if word in _FILLERS:
            continue
        if word == "like" and (not kept or kept[-1] not in _LIKE_KEEPERS):
            continue
        kept.append(word)
    return " ".join(kept)


def stem(word: str) -> str:
    """A light stemmer, enough to meet 'spasms'/'spasming' and 'exercise'/'exercises'."""
    if len(word) <= 3:
        return word
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ness", ""), ("es", "e"), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + replacement
    return word


def without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the character spans cut out, and its spaces tidied."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())
