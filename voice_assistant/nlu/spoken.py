"""Choose what was said among a recognizer's hypotheses, with the matcher as the judge.

Speech recognizers confuse short words ("can't" / "can"), so:

* a red flag heard in *any* of the top hypotheses wins (when in doubt, warn);
* "can" and "can't" sound alike (the final t is often silent), so each top
  hypothesis is also checked with "can" read as "can not", unless the person
  plainly reassures ("I can still feel my legs fine");
* otherwise the best hypothesis is kept unless another one is understood with
  clearly more confidence (the grammar-biased Vosk pass, or a PocketSphinx
  n-best entry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_assistant.nlu.matcher import Match, Matcher
from voice_assistant.stt.base import Transcript

RED_FLAG_HYPOTHESES = 3
CLEARLY_BETTER = 0.15
_CAN = re.compile(r"\bcan\b(?! not\b)")
_REASSURED = re.compile(r"\b(still|fine|okay|ok|normally|properly|well)\b")


@dataclass(frozen=True)
class Interpretation:
    """The hypothesis chosen and how the matcher read it."""

    text: str
    match: Match


def interpret(matcher: Matcher, transcript: Transcript) -> Interpretation:
    hypotheses = [transcript.text, *transcript.alternatives]
    hypotheses = [h for h in dict.fromkeys(hypotheses) if h.strip()] or [""]
    matches = [matcher.match(h) for h in hypotheses]
    for text, match in list(zip(hypotheses, matches))[:RED_FLAG_HYPOTHESES]:
        if match.kind == "red_flag":
            return Interpretation(text, match)
        heard = match.normalized
        if _CAN.search(heard) and not _REASSURED.search(heard):
            negated = matcher.match(_CAN.sub("can not", heard))
            if negated.kind == "red_flag":
                return Interpretation(text, negated)
    best_text, best = hypotheses[0], matches[0]
    for text, match in zip(hypotheses[1:], matches[1:]):
        understood = match.kind in ("answer", "command")
        if understood and match.confidence >= best.confidence + CLEARLY_BETTER:
            best_text, best = text, match
    return Interpretation(best_text, best)
