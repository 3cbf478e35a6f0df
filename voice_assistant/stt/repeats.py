"""Whisper's loops: a decoder that falls into repeating itself ('keep your back straight. keep your
back straight. keep your ...') until its token cap. Whisper's own remedy (re-decoding at a higher
temperature when the text compresses too well) costs a second decode on the answer's path; the
loop is plain to see in the text, so the copies are dropped instead.
"""

from __future__ import annotations

#: A run of at least this many words said twice or more in a row is a loop; a single word said twice
#: ('no no, the other one') is speech.
MIN_LOOP_WORDS = 2
#: Loops longer than this are not looked for, and texts longer than ``_MOST_WORDS`` are left as they
#: are: the search is cubic in the words, and a question is a few dozen.
_LONGEST_LOOP = 24
_MOST_WORDS = 300


def _key(word: str) -> str:
    return word.strip(".,!?;:\"'").lower()


def collapse_repeats(text: str, min_words: int = MIN_LOOP_WORDS, cut_off: bool = False) -> str:
    """``text`` with every phrase of ``min_words`` words or more that follows itself kept once (its
    last copy, whose marks go with what follows). ``cut_off``: the decoder stopped at its token cap,
    so a copy broken off at the very end is the loop's too ('... do not sleep in')."""
    if min_words < 1:
        raise ValueError(f"min_words must be at least 1, not {min_words}")
    words = text.split()
    if len(words) > _MOST_WORDS:
        return text
    keys = [_key(word) for word in words]
    while True:
        found = _first_loop(keys, min_words)
        if found is None:
            return " ".join(words)
        start, length, end = found
        tail = keys[end:]
        if cut_off and tail and len(tail) < length and tail == keys[start:start + len(tail)]:
            del words[end:], keys[end:]
        del words[start:end - length], keys[start:end - length]


def _first_loop(keys: list[str], min_words: int) -> tuple[int, int, int] | None:
    """(start, length, end) of the longest phrase that follows itself: its copies end at ``end``."""
    for length in range(min(len(keys) // 2, _LONGEST_LOOP), min_words - 1, -1):
        for start in range(len(keys) - 2 * length + 1):
            phrase = keys[start:start + length]
            if keys[start + length:start + 2 * length] != phrase:
                continue
            end = start + 2 * length
            while keys[end:end + length] == phrase:
                end += length
            return start, length, end
    return None
