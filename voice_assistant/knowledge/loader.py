"""Read a knowledge pack from a YAML file, with errors that name file, line and key.

Only ``yaml.safe_load``-equivalent loading is used: the node tree is composed
with ``SafeLoader`` (to keep line numbers and catch duplicate keys) and then
constructed by the same safe loader.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

from voice_assistant.errors import KnowledgeError
from voice_assistant.knowledge.model import KnowledgePack, Phrasing, SchemaProblem

log = logging.getLogger(__name__)

#: ``yaml.safe_load``'s loader, in C when libyaml is present (ten times faster), else in Python.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The pack shipped with the project (``knowledge/back_spasm.yaml``), copied
#: into the package as data so an installed assistant finds it too.
DEFAULT_PACK = Path(__file__).resolve().parent.parent / "data" / "back_spasm.yaml"
MAX_PACK_BYTES = 2_000_000


def load_pack(path: str | Path | None = None) -> KnowledgePack:
    """Load and validate a pack, and the labelled phrasings in the folder it names; raise
    :class:`KnowledgeError` with file, line and key."""
    file = Path(path) if path is not None else DEFAULT_PACK
    pack = from_yaml(_read_text(file), str(file))
    if not pack.phrasings_folder:
        return pack
    folder = file.parent / pack.phrasings_folder
    if not folder.is_dir():
        raise KnowledgeError(f"{file}: phrasings: no folder {folder}", "create it, or remove the key")
    phrasings: list[Phrasing] = []
    for part in sorted(folder.glob("*.yaml")):
        phrasings += _phrasings(pack, _read_text(part), str(part))
    log.debug("loaded %d phrasings from %s", len(phrasings), folder)
    return pack.with_phrasings(tuple(phrasings))


def _phrasings(pack: KnowledgePack, text: str, name: str) -> list[Phrasing]:
    """One file of labelled phrasings: a list of {text, kind, intent, category}."""
    root, data, lines = _parse(text, name)
    if root is None:
        return []
    try:
        if not isinstance(data, list):
            raise SchemaProblem("", f"expected a list of phrasings, got {type(data).__name__}",
                                "write a list of {text, kind, intent} mappings")
        phrasings = [Phrasing.from_dict(item, f"[{i}]") for i, item in enumerate(data)]
        pack.with_phrasings(tuple(phrasings))  # each names something the pack has
    except SchemaProblem as exc:
        raise KnowledgeError(f"{name}{_line_for(exc.path, lines)}: {exc.path or 'top level'}: {exc.message}",
                             exc.hint) from None
    return phrasings


def from_yaml(text: str, name: str = "<text>") -> KnowledgePack:
    """Parse YAML text into a :class:`KnowledgePack`."""
    try:
        return _from_yaml(text, name)
    except RecursionError:  # PyYAML composes recursively: '[[[[...' thousands deep
        raise KnowledgeError(f"{name}: not valid YAML: nested too deeply",
                             "a pack is a mapping of lists of mappings; flatten the structure") from None


def _from_yaml(text: str, name: str) -> KnowledgePack:
    root, data, lines = _parse(text, name)
    if root is None:
        raise KnowledgeError(f"{name}: the file is empty", "a pack needs pack, disclaimer, greeting, "
                             "emergency, red_flags and entries")
    try:
        pack = KnowledgePack.from_dict(data)
    except SchemaProblem as exc:
        line = _line_for(exc.path, lines)
        raise KnowledgeError(f"{name}{line}: {exc.path}: {exc.message}", exc.hint) from None
    log.debug("loaded pack %s from %s: %d entries", pack.id, name, len(pack.entries))
    return pack


def _parse(text: str, name: str) -> tuple[yaml.Node | None, object, dict[str, int]]:
    """The YAML node tree, its data and the line of every key path; None for an empty file."""
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:  # libyaml's own limit, same meaning as the RecursionError
            raise KnowledgeError(f"{name}{line}: not valid YAML: nested too deeply",
                                 "a pack is a mapping of lists of mappings; flatten the structure") from None
        raise KnowledgeError(f"{name}{line}: not valid YAML: {problem}",
                             "check indentation and quote text containing ': ' or '#'") from None
    if root is None:
        return None, None, {}
    lines: dict[str, int] = {}
    _index_lines(root, "", lines, name, set())
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - the safe loader: yaml.safe_load, in C
    except yaml.YAMLError as exc:  # e.g. a !!python tag that safe_load refuses
        raise KnowledgeError(f"{name}: not valid YAML: {str(exc).splitlines()[0]}",
                             "packs may use plain YAML only (no tags)") from None
    return root, data, lines


def _read_text(file: Path) -> str:
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise KnowledgeError(f"{file}: is a folder, not a YAML file", "pass the path of a .yaml pack")
        if size > MAX_PACK_BYTES:
            raise KnowledgeError(f"{file}: {size:,} bytes is too large for a knowledge pack",
                                 f"the limit is {MAX_PACK_BYTES:,} bytes")
        raw = file.read_bytes()
    except FileNotFoundError:
        raise KnowledgeError(f"{file}: no such file", "check the --knowledge path") from None
    except PermissionError:
        raise KnowledgeError(f"{file}: permission denied", "make the file readable") from None
    except OSError as exc:
        raise KnowledgeError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise KnowledgeError(f"{file}:{line}: not UTF-8 text (byte {exc.start})",
                             "save the file as UTF-8") from None


def _index_lines(node: yaml.Node, path: str, lines: dict[str, int], name: str, seen_nodes: set[int]) -> None:
    """Record the line of every key path, and reject duplicate keys (YAML would silently keep the last).

    Aliases (``*name``) are refused: the composer shares the anchored node, so
    a few hundred bytes of nested aliases would otherwise expand
    exponentially here and in the schema checks ("billion laughs").
    """
    if id(node) in seen_nodes:
        raise KnowledgeError(f"{name}{_line_for(path, lines)}: {path or 'top level'}: YAML aliases are not allowed",
                             "write the text out in full instead of using &name / *name")
    seen_nodes.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                raise KnowledgeError(f"{name}:{key_node.start_mark.line + 1}: {child}: duplicate key '{key}'",
                                     "each key may appear once in a mapping")
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, name, seen_nodes)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, f"{path}[{i}]", lines, name, seen_nodes)


def _line_for(path: str, lines: dict[str, int]) -> str:
    """The line of ``path`` or of its nearest recorded parent."""
    candidate = path
    while candidate:
        if candidate in lines:
            return f":{lines[candidate]}"
        parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", candidate)
        if parent == candidate:
            break
        candidate = parent
    return f":{lines['']}" if "" in lines else ""
