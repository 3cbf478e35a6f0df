"""Whisper's loops: a decoder that falls into repeating itself ('keep your back straight. keep your
back straight. keep your ...') until its token cap. Whisper's own remedy (re-decoding at a higher
temperature when the text compresses too well) costs a second decode on the answer's path; the
loop is plain to see in the text, so the copies are dropped instead.
"""

from __future__ import annotations

#: A run of at least this many words said twice or more in a row is a loop; a single word said twice
#: ('no no, the other one') is speech.
MIN_LOOP_WORDS = 2


def _key(word: str) -> str:
    return word.strip(".,!?;:\"'").lower()


def collapse_repeats(text: str, min_words: int = MIN_LOOP_WORDS) -> str:
    """``text`` with every phrase of ``min_words`` words or more that follows itself kept once; a copy
    cut off at the end (where the token cap stopped the loop) goes too."""
    words = text.split()
    keys = [_key(word) for word in words]
    while True:
        found = _first_loop(keys, min_words)
        if found is None:
            return " ".join(words)
        start, length, end = found
        del words[start + length:end]
        del keys[start + length:end]


def _first_loop(keys: list[str], min_words: int) -> tuple[int, int, int] | None:
    """(start, length, end) of the longest phrase that follows itself: its copies end at ``end``."""
    for length in range(len(keys) // 2, min_words - 1, -1):
        for start in range(len(keys) - 2 * length + 1):
            phrase = keys[start:start + length]
            if keys[start + length:start + 2 * length] != phrase:
                continue
            end = start + 2 * length
            while keys[end:end + length] == phrase:
                end += length
            tail = keys[end:]
            if tail and len(tail) < length and tail == phrase[:len(tail)]:
                end = len(keys)
            return start, length, end
    return None
