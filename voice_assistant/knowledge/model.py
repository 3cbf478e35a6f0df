"""Typed dataclasses of a knowledge pack, built with ``from_dict``.

Validation errors raise :class:`SchemaProblem` carrying the key path
(``entries[3].answer``); the loader turns it into a
:class:`~voice_assistant.errors.KnowledgeError` naming file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any


class SchemaProblem(Exception):
    """A pack dict does not follow the schema at ``path``."""

    def __init__(self, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.hint = hint


def _mapping(value: Any, path: str, required: set[str], optional: set[str]) -> dict:
    if not isinstance(value, dict):
        raise SchemaProblem(path or "top level", f"expected a mapping, got {type(value).__name__}")
    missing = sorted(required - value.keys())
    if missing:
        raise SchemaProblem(path or "top level", f"missing key '{missing[0]}'",
                            f"required keys: {', '.join(sorted(required))}")
    unknown = sorted(set(map(str, value.keys())) - required - optional)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise SchemaProblem(where, f"unknown key '{unknown[0]}'",
                            f"allowed keys: {', '.join(sorted(required | optional))}")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SchemaProblem(path, "expected non-empty text")
    return " ".join(value.split())


def _text_list(value: Any, path: str, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or (not value and not allow_empty):
        raise SchemaProblem(path, "expected a non-empty list of text")
    return tuple(_text(item, f"{path}[{i}]") for i, item in enumerate(value))


def _ident(value: Any, path: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise SchemaProblem(path, f"invalid id {value!r}", "ids are lower_snake_case")
    return value


@dataclass(frozen=True)
class RedFlag:
    """A symptom that needs emergency care, found by regular expressions.

    A pattern may be a mapping ``{pattern: ..., unless: ...}``: its match is then ignored when
    the utterance also matches ``unless`` (for loose patterns that a plainer reading explains).
    ``exceptions`` holds those, aligned with ``patterns`` (None where there is none).
    """

    id: str
    name: str
    source: str
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...] = ()
    exceptions: tuple[re.Pattern[str] | None, ...] = ()
    #: Spoken instead of the pack's general emergency text (the article's emergency conditions).
    warning: str = ""

    @classmethod
    def from_dict(cls, data: Any, path: str = "red_flag") -> "RedFlag":
        data = _mapping(data, path, {"id", "name", "source", "patterns", "examples"}, {"warning"})
        items = data["patterns"]
        if not isinstance(items, list) or not items:
            raise SchemaProblem(f"{path}.patterns", "expected a non-empty list of regular expressions")
        compiled, exceptions = [], []
        for i, item in enumerate(items):
            where = f"{path}.patterns[{i}]"
            if isinstance(item, dict):
                item = _mapping(item, where, {"pattern"}, {"unless"})
                compiled.append(_regex(item["pattern"], f"{where}.pattern"))
                exceptions.append(_regex(item["unless"], f"{where}.unless") if "unless" in item else None)
            else:
                compiled.append(_regex(item, where))
                exceptions.append(None)
        return cls(_ident(data["id"], f"{path}.id"), _text(data["name"], f"{path}.name"),
                   _text(data["source"], f"{path}.source"), tuple(compiled),
                   _text_list(data["examples"], f"{path}.examples"), tuple(exceptions),
                   _text(data["warning"], f"{path}.warning") if "warning" in data else "")

    def pattern_words(self) -> tuple[str, ...]:
        """The plain words its patterns name ('buckled', 'pee'), in order, each once.

        The recognizer's vocabulary must hold them: a symptom word it cannot hear is a red flag
        that can never be caught from speech.
        """
        words = (word for pattern in self.patterns for word in re.findall(r"[a-z]+", _plain(pattern.pattern)))
        return tuple(dict.fromkeys(words))


_LOOKAROUND = re.compile(r"\(\?<?[=!]")
#: 'feel(ing)?' and 'accidents?': a word with an optional ending, spelled both ways.
_OPTIONAL_ENDING = re.compile(r"([a-z]+)(?:\(\?:|\()([a-z|]+)\)\?|([a-z]+)([a-z])\?")


def _plain(pattern: str) -> str:
    """The words a regular expression matches, spelled out: escapes and lookarounds (words it
    must *not* see, such as "can't feel my *back*") dropped, optional endings both ways."""
    text = re.sub(r"\\[a-zA-Z]", " ", pattern)
    while (found := _LOOKAROUND.search(text)) is not None:
        depth, end = 0, found.start()
        for end in range(found.start(), len(text)):  # to the parenthesis that closes the lookaround
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:found.start()] + " " + text[end + 1:]

    def both_ways(match: re.Match) -> str:
        if match.group(1) is not None:
            return " ".join([match.group(1)] + [match.group(1) + ending for ending in match.group(2).split("|")])
        return f"{match.group(3)} {match.group(3)}{match.group(4)}"

    return _OPTIONAL_ENDING.sub(both_ways, text)


def _regex(value: Any, path: str) -> re.Pattern[str]:
    try:
        return re.compile(_text(value, path))
    except re.error as exc:
        raise SchemaProblem(path, f"bad regular expression: {exc}") from None


@dataclass(frozen=True)
class Entry:
    """One topic of the article: a spoken answer in chunks, and how people ask for it."""

    id: str
    title: str
    group: str
    source: str
    chunks: tuple[str, ...]
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    #: Why this step helps or this cause acts, for 'why?' or 'tell me more' after it (optional).
    why: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.chunks)

    @classmethod
    def from_dict(cls, data: Any, path: str = "entry") -> "Entry":
        data = _mapping(data, path, {"id", "title", "group", "source", "answer", "examples"}, {"keywords", "why"})
        return cls(
            id=_ident(data["id"], f"{path}.id"),
            title=_text(data["title"], f"{path}.title"),
            group=_ident(data["group"], f"{path}.group"),
            source=_text(data["source"], f"{path}.source"),
            chunks=_text_list(data["answer"], f"{path}.answer"),
            examples=_text_list(data["examples"], f"{path}.examples"),
            keywords=_text_list(data.get("keywords", []), f"{path}.keywords", allow_empty=True),
            why=_text(data["why"], f"{path}.why") if "why" in data else "",
        )


@dataclass(frozen=True)
class Decline:
    """A question near the topic that the article does not answer, and the honest reply."""

    id: str
    answer: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    #: Verbs that, opening a request, ask for a task done ('set a timer', 'book me a massage'):
    #: whatever the request names, this decline is the reply.
    openings: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, path: str = "decline") -> "Decline":
        data = _mapping(data, path, {"id", "answer", "examples"}, {"keywords", "phrases", "openings"})
        # A decline known by its openings alone may have no examples.
        return cls(_ident(data["id"], f"{path}.id"), _text(data["answer"], f"{path}.answer"),
                   _text_list(data["examples"], f"{path}.examples", allow_empty="openings" in data),
                   _text_list(data.get("keywords", []), f"{path}.keywords", allow_empty=True),
                   _text_list(data.get("phrases", []), f"{path}.phrases", allow_empty=True),
                   _text_list(data.get("openings", []), f"{path}.openings", allow_empty=True))


@dataclass(frozen=True)
class QuestionForm:
    """How a question is put, and which entries that kind of question asks for.

    Words alone can fit two groups: 'I did a big workout, could that be it' names exercise, which
    is both a cause and a kind of relief, but its form asks for a cause. ``answered_by`` names
    groups or entry ids; ``patterns`` are regular expressions over normalized text.
    """

    id: str
    answered_by: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_dict(cls, data: Any, path: str = "question_form") -> "QuestionForm":
        data = _mapping(data, path, {"id", "answered_by", "patterns"}, set())
        patterns = _list(data["patterns"], f"{path}.patterns")
        return cls(_ident(data["id"], f"{path}.id"),
                   tuple(_ident(name, f"{path}.answered_by[{i}]")
                         for i, name in enumerate(_list(data["answered_by"], f"{path}.answered_by"))),
                   tuple(_regex(item, f"{path}.patterns[{i}]") for i, item in enumerate(patterns)))

    def asked_in(self, normalized: str) -> bool:
        return any(pattern.search(normalized) for pattern in self.patterns)


@dataclass(frozen=True)
class OtherSubject:
    """How the pack names its own subject, and what else people ask the same questions about.

    The matcher learns from it where the pack's domain ends: each example that names the subject
    (``pattern``) is also read with the subject swapped for one of ``others`` ('what causes back
    spasms' / 'what causes hay fever'), which is elsewhere, and with it swapped for one of ``same``
    ('it', or 'my mum's back'), which is not (see :mod:`voice_assistant.nlu.domain`).
    """

    pattern: re.Pattern[str]
    others: tuple[str, ...]
    same: tuple[str, ...] = ("it", "this")
    #: A question that names the subject so is about it, whatever the domain gate reads; false for
    #: a word with other senses and owners ('the back door', 'my dog's back').
    decisive: bool = True
    #: Words that name another subject outright (body parts the article never speaks of): a question
    #: that names one of them and not this subject is about that one ('my knee hurts, should i put
    #: heat on it'), whatever else it shares with the pack ('a cramp in my calf').
    rivals: re.Pattern[str] | None = None
    #: ``rivals`` but the parts of a limb ('my knee', 'my hand': another subject for a question, but
    #: numbness or weakness there is still a limb's, and may be a warning).
    rivals_not_limbs: re.Pattern[str] | None = None
    #: The red flags a limb's part may still report by meaning (numbness, weakness).
    limb_flags: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, path: str = "other_subject") -> "OtherSubject":
        data = _mapping(data, path, {"pattern", "others"}, {"same", "decisive", "rivals", "limb_rivals",
                                                                   "limb_flags"})
        same = _text_list(data["same"], f"{path}.same") if "same" in data else cls.same
        limbs = _text_list(data["limb_rivals"], f"{path}.limb_rivals") if "limb_rivals" in data else ()
        others = _text_list(data["rivals"], f"{path}.rivals") if "rivals" in data else ()
        rivals, rivals_not_limbs = _parts(others + limbs), _parts(others)
        decisive = data.get("decisive", True)
        if not isinstance(decisive, bool):
            raise SchemaProblem(f"{path}.decisive", f"expected true or false, got {decisive!r}", "write true or false")
        return cls(_regex(data["pattern"], f"{path}.pattern"), _text_list(data["others"], f"{path}.others"), same,
                   decisive, rivals, rivals_not_limbs,
                   _text_list(data["limb_flags"], f"{path}.limb_flags") if "limb_flags" in data else ())

    def rival_named(self, text: str, limbs: bool = True) -> bool:
        """Whether the text names a rival subject (``limbs``: counting a limb's parts) and not this one."""
        rivals = self.rivals if limbs else self.rivals_not_limbs
        return bool(rivals and rivals.search(text) and not self.pattern.search(text))


def _parts(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Someone's or some one part, of one or of two ('my knee', 'a sprained ankle', 'my right hand',
    'his knees'); not a part named in passing ('knee to chest stretches', 'on the other hand', 'down
    my right hand side')."""
    if not words:
        return None
    return re.compile(r"\b(my|a|an|the|his|her|their|our)( (?!other\b)\w+)? ("
                      + "|".join(re.escape(word) for word in words) + r")(es|s)?\b(?! side)")


@dataclass(frozen=True)
class Errands:
    """Things the article names, asked about as the article does (``asks``: in the domain) and in a
    request another kind of assistant serves (``requests``: elsewhere, an errand or a fact); each
    frame holds ``{}`` where a thing goes. 'would a massage help' is the article's, 'book me a
    massage' is not; 'can the kidneys cause back spasms' is, 'what are the kidneys made of' is not."""

    things: tuple[str, ...]
    asks: tuple[str, ...]
    requests: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Any, path: str = "errands") -> "Errands":
        data = _mapping(data, path, {"things", "asks", "requests"}, set())
        frames = {}
        for key in ("asks", "requests"):
            frames[key] = _text_list(data[key], f"{path}.{key}")
            for i, frame in enumerate(frames[key]):
                if frame.count("{}") != 1:
                    raise SchemaProblem(f"{path}.{key}[{i}]", "expected one {} where a thing goes")
        return cls(_text_list(data["things"], f"{path}.things"), frames["asks"], frames["requests"])


def _errand_groups(data: Any) -> tuple[Errands, ...]:
    """One group of things and frames (a mapping), or several (a list of them)."""
    if isinstance(data, dict):
        return (Errands.from_dict(data),)
    if not isinstance(data, list):
        raise SchemaProblem("errands", f"expected a mapping or a list of mappings, got {type(data).__name__}",
                            "give things, asks and requests, or a list of such groups")
    return tuple(Errands.from_dict(item, f"errands[{i}]") for i, item in enumerate(data))


@dataclass(frozen=True)
class Phrasing:
    """One way a person said something to the assistant, labelled with what they meant: more
    examples to learn meaning from (``knowledge/phrasings/``), kept apart from the pack's own
    examples so that their misheard words never become the speller's or a recognizer's vocabulary."""

    text: str
    kind: str
    intent: str

    KINDS = ("answer", "red_flag", "decline", "command")

    @classmethod
    def from_dict(cls, data: Any, path: str = "phrasing") -> "Phrasing":
        data = _mapping(data, path, {"text", "kind", "intent"}, {"category"})
        kind = _text(data["kind"], f"{path}.kind")
        if kind not in cls.KINDS:
            raise SchemaProblem(f"{path}.kind", f"unknown kind {kind!r}", f"one of {', '.join(cls.KINDS)}")
        return cls(_text(data["text"], f"{path}.text"), kind, _ident(data["intent"], f"{path}.intent"))


@dataclass(frozen=True)
class KnowledgePack:
    """Everything the assistant knows: entries, red flags, declines and fixed phrases."""

    id: str
    title: str
    source: str
    language: str
    disclaimer: str
    greeting: str
    emergency: str
    red_flags: tuple[RedFlag, ...]
    entries: tuple[Entry, ...]
    declines: tuple[Decline, ...] = ()
    scope: str = ""
    confusions: dict[str, str] = field(default_factory=dict)
    question_forms: tuple[QuestionForm, ...] = ()
    #: The short invitation spoken at the start after the disclaimer ('' : the greeting is spoken).
    welcome: str = ""
    #: The pack's subject and others like it, in order: the first whose pattern an example names applies.
    other_subjects: tuple[OtherSubject, ...] = ()
    errands: tuple[Errands, ...] = ()
    #: The entry that lists the warning signs: the answer when a red flag is only supposed
    #: ('if i lost my balance would that be bad'); '' : a supposed red flag is matched like any question.
    warning_signs: str = ""
    #: The folder of labelled phrasings (``phrasings``, relative to the pack file), and what it held.
    phrasings_folder: str = ""
    phrasings: tuple[Phrasing, ...] = ()
    _by_id: dict[str, Entry] = field(default_factory=dict, repr=False, compare=False)
    _learned: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({entry.id: entry for entry in self.entries})
        grouped: dict[tuple[str, str], list[str]] = {}
        for phrasing in self.phrasings:
            grouped.setdefault((phrasing.kind, phrasing.intent), []).append(phrasing.text)
        self._learned.update({key: tuple(texts) for key, texts in grouped.items()})

    def entry(self, entry_id: str) -> Entry:
        return self._by_id[entry_id]

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self._by_id

    def group_of(self, entry_id: str) -> tuple[Entry, ...]:
        """Entries of the same group, in file order: the sequence 'next' walks."""
        group = self._by_id[entry_id].group
        return tuple(entry for entry in self.entries if entry.group == group)

    def answering(self, form: QuestionForm) -> frozenset[str]:
        """Ids of the entries a question of this form asks for."""
        return frozenset(e.id for e in self.entries if e.id in form.answered_by or e.group in form.answered_by)

    def red_flag(self, flag_id: str) -> RedFlag:
        return next(flag for flag in self.red_flags if flag.id == flag_id)

    def learned(self, kind: str, ident: str) -> tuple[str, ...]:
        """The labelled phrasings of one entry, decline, red flag or command."""
        return self._learned.get((kind, ident), ())

    def with_phrasings(self, phrasings: tuple[Phrasing, ...]) -> "KnowledgePack":
        """This pack with ``phrasings``, each checked to name an entry, decline or red flag it has
        (a command's intent is the matcher's to know)."""
        known = {"answer": {e.id for e in self.entries}, "decline": {d.id for d in self.declines},
                 "red_flag": {f.id for f in self.red_flags}}
        for i, phrasing in enumerate(phrasings):
            if phrasing.kind in known and phrasing.intent not in known[phrasing.kind]:
                raise SchemaProblem(f"[{i}].intent", f"no {phrasing.kind.replace('_', ' ')} '{phrasing.intent}'",
                                    f"known: {', '.join(sorted(known[phrasing.kind]))}")
        return replace(self, phrasings=phrasings, _by_id={}, _learned={})

    @classmethod
    def from_dict(cls, data: Any) -> "KnowledgePack":
        data = _mapping(data, "", {"pack", "disclaimer", "greeting", "emergency", "scope", "red_flags",
                                   "entries"}, {"declines", "confusions", "question_forms", "welcome",
                                                "other_subjects", "errands", "warning_signs", "phrasings"})
        meta = _mapping(data["pack"], "pack", {"id", "title", "source", "language"}, set())
        red_flags = tuple(RedFlag.from_dict(item, f"red_flags[{i}]")
                          for i, item in enumerate(_list(data["red_flags"], "red_flags")))
        entries = tuple(Entry.from_dict(item, f"entries[{i}]")
                        for i, item in enumerate(_list(data["entries"], "entries")))
        declines = tuple(Decline.from_dict(item, f"declines[{i}]")
                         for i, item in enumerate(_list(data.get("declines", []), "declines", True)))
        _unique_ids([(f"entries[{i}].id", e.id) for i, e in enumerate(entries)]
                    + [(f"declines[{i}].id", d.id) for i, d in enumerate(declines)])
        _unique_ids([(f"red_flags[{i}].id", f.id) for i, f in enumerate(red_flags)])
        forms = tuple(QuestionForm.from_dict(item, f"question_forms[{i}]")
                      for i, item in enumerate(_list(data.get("question_forms", []), "question_forms", True)))
        _unique_ids([(f"question_forms[{i}].id", f.id) for i, f in enumerate(forms)])
        others = tuple(OtherSubject.from_dict(item, f"other_subjects[{i}]")
                       for i, item in enumerate(_list(data.get("other_subjects", []), "other_subjects", True)))
        known = {e.id for e in entries} | {e.group for e in entries}
        for i, form in enumerate(forms):
            for j, name in enumerate(form.answered_by):
                if name not in known:
                    raise SchemaProblem(f"question_forms[{i}].answered_by[{j}]", f"no group or entry '{name}'",
                                        f"groups: {', '.join(sorted({e.group for e in entries}))}")
        warning_signs = _text(data["warning_signs"], "warning_signs") if "warning_signs" in data else ""
        if warning_signs and warning_signs not in {e.id for e in entries}:
            raise SchemaProblem("warning_signs", f"no entry '{warning_signs}'", "name the entry that lists the red flags")
        return cls(
            id=_ident(meta["id"], "pack.id"), title=_text(meta["title"], "pack.title"),
            source=_text(meta["source"], "pack.source"), language=_text(meta["language"], "pack.language"),
            disclaimer=_text(data["disclaimer"], "disclaimer"), greeting=_text(data["greeting"], "greeting"),
            emergency=_text(data["emergency"], "emergency"),
            red_flags=red_flags, entries=entries, declines=declines, scope=_text(data["scope"], "scope"),
            confusions=_confusions(data.get("confusions", {})), question_forms=forms,
            welcome=_text(data["welcome"], "welcome") if "welcome" in data else "", other_subjects=others,
            errands=_errand_groups(data.get("errands", [])),
            warning_signs=warning_signs,
            phrasings_folder=_text(data["phrasings"], "phrasings") if "phrasings" in data else "",
        )


def _confusions(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SchemaProblem("confusions", "expected a mapping of heard words to meant words")
    return {_text(str(heard), f"confusions.{heard}").lower(): _text(meant, f"confusions.{heard}").lower()
            for heard, meant in value.items()}


def _list(value: Any, path: str, allow_empty: bool = False) -> list:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise SchemaProblem(path, "expected a non-empty list")
    return value


def _unique_ids(paths_and_ids: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for path, ident in paths_and_ids:
        if ident in seen:
            raise SchemaProblem(path, f"duplicate id '{ident}'", "every id must be unique in a pack")
        seen.add(ident)
