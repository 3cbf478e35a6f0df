"""The report generator turns the benchmarks' JSON into tables (and plots), reading every figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import report  # noqa: E402

INFO = {"date": "2026-01-01 00:00 UTC", "revision": "abc1234", "machine": "test machine"}


def _write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def _typed_figures(tmp_path: Path, category: str, items: int, correct: int) -> Path:
    """An output folder holding a one-category typed benchmark result."""
    out = tmp_path / "out"
    out.mkdir()
    row = {"items": items, "correct": correct, "accuracy": correct / items}
    _write(out, "matcher_dev.json", {
        "categories": {category: row}, "overall": row, "red_flag_recall": 1.0,
        "red_flag_false_alarm_rate": 0.0, "match_ms_median": 0.123, "match_ms_p95": 0.456})
    return out


def test_report_from_tiny_inputs(tmp_path):
    out = _typed_figures(tmp_path, "question", 4, 3)
    summary = {"utterances": 2, "wer": 0.25, "correct": 0.5, "red_flag_recall": 1.0,
               "red_flag_false_alarm_rate": 0.0, "off_topic_declined": 1.0, "rtf_median": 0.07}
    _write(out, "speech.json", {"groups": [
        {"voice": "kal", "condition": "clean", "summary": summary},
        {"voice": "kal", "condition": "white10", "summary": {**summary, "correct": 0.25}}],
        "load_s_first": 0.2, "peak_rss_mb": 99.0})
    stage = {"p50": 0.010, "p95": 0.020}
    _write(out, "loop.json", {"command": "bench/bench_loop.py --limit 2", "figures": {
        "finalize_s": stage, "match_s": stage, "tts_s": stage, "endpoint_to_audio_s": {"p50": 0.031, "p95": 0.064},
        "startup": {"warm_median_s": 0.91}, "memory": {"peak_mb": 88}}})
    text = report.write_report(out, tmp_path / "REPORT.md", tmp_path, INFO)

    assert (tmp_path / "REPORT.md").read_text() == text
    assert "abc1234" in text and "test machine" in text
    assert "| question | 4 | 75.0% |" in text
    assert "| kal | white10 | 2 | 25.0% | 25.0% |" in text
    assert "| **to first audio** | 31 ms | 64 ms |" in text
    assert "0.91 s" in text and "88 MB" in text
    assert "_Barge-in benchmark not run._" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install .[bench]" in text
    else:
        assert (tmp_path / "accuracy_vs_snr.png").stat().st_size > 1000
        assert (tmp_path / "latency_split.png").stat().st_size > 1000


def test_readme_block_is_replaced_between_the_markers_only(tmp_path):
    out = _typed_figures(tmp_path, "command", 2, 2)
    readme = tmp_path / "README.md"
    readme.write_text("# Title\nbefore\n<!-- figures:start -->\nold 12.3%\n<!-- figures:end -->\nafter\n")
    report.update_readme(readme, report.readme_block(out, INFO))
    text = readme.read_text()
    assert text.startswith("# Title\nbefore\n<!-- figures:start -->\n") and text.endswith("<!-- figures:end -->\nafter\n")
    assert "old 12.3%" not in text and "| command | 2 | 100.0% |" in text and "abc1234" in text
    readme.write_text("no markers")
    try:
        report.update_readme(readme, "x")
    except SystemExit as exc:
        assert "figures:start" in str(exc)
    else:
        raise AssertionError("a README without markers must be refused")


def test_tts_section_sets_the_voices_side_by_side(tmp_path):
    def voice(wer: float, p95: float, missed: int) -> dict:
        return {"wer": wer, "pronunciation": {"spasm": {"sentences": 4, "hits": 4 - missed, "missed": []}},
                "carrier": {"spasm": {"heard": "the word is spasm", "hit": True}},
                "first_audio": {"p50_s": 0.004, "p95_s": p95, "target_p95_s": 0.150}, "rtf": {"median": 0.05},
                "speaker_first_audio": {"p50_s": 0.001, "p95_s": p95 / 100},
                "load": {"load_s": 0.5, "first_synthesis_s": 0.06, "vm_hwm_mb": 251.4}}

    tts = {"command": "python bench/bench_tts.py --limit 2", "sentences": 2,
           "voices": {"espeak": voice(0.161, 0.005, 1), "piper-joe": voice(0.045, 0.415, 0)}}
    lines = report.tts_section(tts)
    assert lines[0] == "| | espeak | piper-joe |"
    assert "| word error rate (Whisper tiny.en, 2 sentences) | 16.1% | 4.5% |" in lines
    assert "| an answer's first piece made when chosen, p50 / p95 | 4 ms / 5 ms | 4 ms / 415 ms |" in lines
    assert ("| first audio of an answer, prepared at start-up, p50 / p95 (target p95 <= 150 ms) | 1 ms / 0 ms | "
            "1 ms / 4 ms |") in lines
    assert "| key words heard: in the pack's sentences; alone | 3/4; 1/1 | 4/4; 1/1 |" in lines
    assert "Key words misheard in the pack's sentences: espeak: spasm 1/4; piper-joe: none." in lines
    assert report.tts_section(None) == ["_Voice benchmark not run._", ""]
    out = _typed_figures(tmp_path, "question", 1, 1)
    _write(out, "tts.json", tts)
    assert "| peak memory of a process with the voice | 251 MB | 251 MB |" in report.readme_block(out, INFO)
