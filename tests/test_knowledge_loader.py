"""Bad knowledge packs raise one typed error naming file, line and key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from voice_assistant.errors import AssistantError, KnowledgeError
from voice_assistant.knowledge import DEFAULT_PACK, load_pack
from voice_assistant.knowledge.loader import MAX_PACK_BYTES, from_yaml
from voice_assistant.knowledge.model import RedFlag

GOOD = DEFAULT_PACK.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(KnowledgeError) as info:
        load_pack(_write(tmp_path, text))
    assert isinstance(info.value, AssistantError)
    return str(info.value)


def test_second_pack_loads_without_code_change(tmp_path):
    data = yaml.safe_load(GOOD)
    data["pack"]["id"] = "other_article"
    data["entries"] = data["entries"][:2]
    del data["question_forms"]  # optional; these name groups the two entries left do not have
    del data["warning_signs"]  # optional; it names an entry not kept
    del data["phrasings"]  # optional; its folder is beside the shipped pack
    pack = load_pack(_write(tmp_path, yaml.safe_dump(data)))
    assert pack.id == "other_article" and len(pack.entries) == 2


def test_empty_file(tmp_path):
    assert "empty" in _error(tmp_path, "")


def test_not_yaml_names_file_and_line(tmp_path):
    message = _error(tmp_path, "pack:\n  id: x\n  title: [unclosed\n")
    assert "pack.yaml:" in message and "not valid YAML" in message


def test_wrong_shape(tmp_path):
    assert "expected a mapping" in _error(tmp_path, "- just\n- a list\n")


def test_missing_key_names_key_and_line(tmp_path):
    text = GOOD.replace("    title: what a back muscle spasm is\n", "", 1)
    message = _error(tmp_path, text)
    assert "entries[0]" in message and "missing key 'title'" in message
    line = int(message.split("pack.yaml:")[1].split(":")[0])
    assert GOOD.splitlines()[line - 1].strip().startswith("- id: about_spasm")


def test_unknown_key_names_its_line(tmp_path):
    text = GOOD.replace("    group: about\n", "    group: about\n    colour: blue\n", 1)
    message = _error(tmp_path, text)
    assert "unknown key 'colour'" in message
    line = int(message.split("pack.yaml:")[1].split(":")[0])
    assert text.splitlines()[line - 1].strip() == "colour: blue"


def test_duplicate_ids(tmp_path):
    text = GOOD.replace("- id: about_women", "- id: about_spasm", 1)
    assert "duplicate id 'about_spasm'" in _error(tmp_path, text)


def test_duplicate_keys(tmp_path):
    text = GOOD.replace("    group: about\n", "    group: about\n    group: causes\n", 1)
    assert "duplicate key 'group'" in _error(tmp_path, text)


def test_empty_answer(tmp_path):
    data = yaml.safe_load(GOOD)
    data["entries"][0]["answer"] = "   "
    assert "entries[0].answer" in _error(tmp_path, yaml.safe_dump(data))


def test_bad_regular_expression(tmp_path):
    data = yaml.safe_load(GOOD)
    data["red_flags"][0]["patterns"] = ["(unclosed"]
    assert "bad regular expression" in _error(tmp_path, yaml.safe_dump(data))


def test_bad_unless_expression_and_unknown_pattern_key(tmp_path):
    data = yaml.safe_load(GOOD)
    data["red_flags"][0]["patterns"] = [{"pattern": "numb", "unless": "(unclosed"}]
    message = _error(tmp_path, yaml.safe_dump(data))
    assert "bad regular expression" in message and "patterns[0].unless" in message
    data["red_flags"][0]["patterns"] = [{"pattern": "numb", "except": "fine"}]
    assert "unknown key 'except'" in _error(tmp_path, yaml.safe_dump(data))


def test_question_forms_name_real_groups_and_good_patterns(tmp_path):
    data = yaml.safe_load(GOOD)
    data["question_forms"][0]["answered_by"] = ["causes", "cures"]
    message = _error(tmp_path, yaml.safe_dump(data))
    assert "question_forms[0].answered_by[1]" in message and "no group or entry 'cures'" in message
    data = yaml.safe_load(GOOD)
    data["question_forms"][1]["patterns"] = ["(unclosed"]
    message = _error(tmp_path, yaml.safe_dump(data))
    assert "question_forms[1].patterns[0]" in message and "bad regular expression" in message


def test_unless_silences_only_its_own_pattern(tmp_path):
    from voice_assistant.nlu.redflags import find_red_flags

    flag = RedFlag.from_dict({"id": "side", "name": "numb side", "source": "s", "examples": ["x"],
                              "patterns": [{"pattern": r"\bside of my body\b", "unless": r"\bpain\b"},
                                           r"\bnumb\b"]})
    pack = type("Pack", (), {"red_flags": (flag,)})()
    assert [hit.words for hit in find_red_flags(pack, "one side of my body")] == ["side of my body"]
    assert find_red_flags(pack, "pain on one side of my body") == ()
    assert [hit.words for hit in find_red_flags(pack, "pain and one side of my body is numb")] == ["numb"]


def test_non_utf8_names_line(tmp_path):
    message = _error(tmp_path, b"pack:\n  id: caf\xe9\n")
    assert "not UTF-8" in message and "pack.yaml:2" in message


def test_huge_file(tmp_path):
    assert "too large" in _error(tmp_path, "#" * (MAX_PACK_BYTES + 1))


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(KnowledgeError, match="no such file"):
        load_pack(tmp_path / "absent.yaml")
    with pytest.raises(KnowledgeError, match="folder"):
        load_pack(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_no_read_permission(tmp_path):
    path = _write(tmp_path, GOOD)
    path.chmod(0)
    with pytest.raises(KnowledgeError, match="permission denied"):
        load_pack(path)


def test_python_tags_are_refused():
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        from_yaml("!!python/object/apply:os.system ['true']\n")


def test_pattern_words_spell_out_what_a_red_flag_pattern_matches():
    flag = RedFlag.from_dict({
        "id": "made_up", "name": "made up", "source": "test", "examples": ["x"],
        "patterns": [r"\b(accidents?)\s(with|in)\b", r"\bfeel(ing)?\s(?:legs?|arms?)\b",
                     r"\bcan not\sfeel\smy\s(?!(back|pain|heart)\b)\w+"]})
    assert flag.pattern_words() == ("accident", "accidents", "with", "in", "feel", "feeling", "leg", "legs",
                                    "arm", "arms", "can", "not", "my")


def test_warning_signs_names_a_real_entry(tmp_path):
    data = yaml.safe_load(GOOD)
    data["warning_signs"] = "danger_list"
    message = _error(tmp_path, yaml.safe_dump(data))
    assert "warning_signs" in message and "no entry 'danger_list'" in message


def test_only_a_decline_known_by_its_openings_may_have_no_examples(tmp_path):
    data = yaml.safe_load(GOOD)
    tasks = next(d for d in data["declines"] if d["id"] == "tasks")
    assert tasks["examples"] == [] and tasks["openings"]
    del tasks["openings"]
    index = data["declines"].index(tasks)
    assert f"declines[{index}].examples" in _error(tmp_path, yaml.safe_dump(data))


def _pack_with_phrasings(tmp_path: Path, phrasings: str) -> Path:
    (tmp_path / "said").mkdir()
    (tmp_path / "said" / "a.yaml").write_text(phrasings, encoding="utf-8")
    return _write(tmp_path, GOOD.replace("\nphrasings: phrasings\n", "\n") + "\nphrasings: said\n")


def test_phrasings_are_read_from_the_folder_the_pack_names(tmp_path):
    pack = load_pack(_pack_with_phrasings(tmp_path, '- {text: "what sets it off", kind: answer, intent: causes_overview}\n'
                                                    '- {text: "my leg is dead", kind: red_flag, intent: loss_of_feeling_in_limb,'
                                                    ' category: plain}\n'))
    assert pack.learned("answer", "causes_overview") == ("what sets it off",)
    assert pack.learned("red_flag", "loss_of_feeling_in_limb") == ("my leg is dead",)
    assert pack.learned("answer", "symptoms") == ()


@pytest.mark.parametrize("phrasings, where, what", [
    ('- {text: a, kind: answer, intent: causes_overview}\n- {text: b, kind: answer, intent: made_up}\n',
     "a.yaml:2", "no answer 'made_up'"),
    ('- {text: a, kind: answer, intent: causes_overview}\n- {text: b, kind: guess, intent: causes_overview}\n',
     "a.yaml:2", "unknown kind 'guess'"),
    ('- {text: a, kind: answer}\n', "a.yaml:1", "missing key 'intent'"),
    ('text: a\n', "a.yaml:1", "expected a list of phrasings"),
])
def test_a_bad_phrasing_names_its_file_and_line(tmp_path, phrasings, where, what):
    with pytest.raises(KnowledgeError) as info:
        load_pack(_pack_with_phrasings(tmp_path, phrasings))
    assert where in str(info.value) and what in str(info.value), info.value


def test_a_missing_phrasings_folder_says_so(tmp_path):
    message = _error(tmp_path, GOOD.replace("\nphrasings: phrasings\n", "\n") + "\nphrasings: nowhere\n")
    assert "no folder" in message and "nowhere" in message
