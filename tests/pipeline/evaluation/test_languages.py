"""Per-language evaluation: the figures, and the ITN excerpt through the real pipeline."""

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from pipeline.evaluation.eval_job import EvalRun, format_report, run_eval
from pipeline.evaluation.labelled import document, parse_stream
from pipeline.evaluation.languages import (
    cross_language_duplicates,
    cross_lingual_recall,
    languages_of,
    per_language,
)
from tests.support import FIXTURES, SETTINGS, CachedModelHandler
from transforms.core.errors import ConfigError

ITN = FIXTURES / "itn" / "itn_2022_every25.jsonl"


def _ref(item: str, language: str) -> dict[str, str]:
    return {"id": item, "language": language}


def test_cross_lingual_recall_counts_only_pairs_across_languages() -> None:
    gold = {"a": "S", "b": "S", "c": "S", "d": "T"}
    language = {"a": "en", "b": "ru", "c": "en", "d": "zh"}
    # Pairs of S in two languages: a-b, b-c (a-c are both English: not counted).
    assert cross_lingual_recall({"a": "1", "b": "1", "c": "2", "d": "3"}, gold, language) == {
        "pairs": 2,
        "together": 1,
        "recall": 0.5,
    }
    assert cross_lingual_recall({i: "1" for i in gold}, gold, language)["recall"] == 1.0
    assert cross_lingual_recall({"a": "1"}, {"a": "S"}, {"a": "en"})["recall"] is None


def test_per_language_figures_and_cross_language_duplicates() -> None:
    outputs: dict[str, list[dict[str, Any]]] = {
        "assignments": [{"article": _ref("a", "en")}, {"article": _ref("b", "zh")}],
        "duplicates": [
            {"article": _ref("c", "zh"), "duplicate_of": "b", "kind": "near"},
            {"article": _ref("d", "ru"), "duplicate_of": "a", "kind": "exact"},
        ],
        "dead_letters": [{"item": "e", "reason": "no_text", "language": None}],
    }
    # a's language was stated; the others are what the run recorded; e is unknown.
    language = languages_of({"a": "en", "b": None, "c": None, "d": None, "e": None}, outputs)
    assert language == {"a": "en", "b": "zh", "c": "zh", "d": "ru", "e": "und"}
    report = per_language(language, outputs)
    assert list(report) == ["zh", "en", "ru", "und"]  # most articles first, then by code
    assert report["zh"] == {
        "articles": 2,
        "clustered": 1,
        "duplicates": {"near": 1},
        "dead_letters": {},
    }
    assert report["und"]["dead_letters"] == {"no_text": 1}
    assert cross_language_duplicates(language, outputs) == {"exact": 1}


def test_labelled_stream_accepts_language_or_lang() -> None:
    lines = [
        '{"id": "1", "text": "x", "story": "s", "lang": "zh-yue"}',
        '{"id": "2", "text": "x", "story": "s", "language": "ru"}',
        '{"id": "3", "text": "x", "story": "s"}',
    ]
    records = parse_stream("\n".join(lines), "s.jsonl")
    assert [r.language for r in records] == ["zh-yue", "ru", None]
    assert document(records[0], "s.jsonl").meta.language == "zh-yue"
    with pytest.raises(ConfigError, match="disagree"):
        parse_stream('{"id": "1", "text": "x", "story": "s", "lang": "en", "language": "ru"}', "p")
    with pytest.raises(ConfigError, match=r"line 1\.language"):
        parse_stream('{"id": "1", "text": "x", "story": "s", "lang": 5}', "p")


def _script(text: str) -> str:
    letter = next(ch for ch in text if ch.isalpha())
    return unicodedata.name(letter).split()[0]


def test_itn_excerpt_every_item_has_a_fate_and_no_script_is_lost(
    tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    records = [json.loads(line) for line in ITN.read_text().splitlines()]
    scripts = {_script(r["text"]) for r in records}
    assert len(scripts) >= 6, scripts
    run = EvalRun(str(ITN), None, SETTINGS, str(tmp_path))
    report = run_eval(run, ["--runner=FnApiRunner"], handler=model_handler)
    out = {
        name: [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
        for name in ("assignments", "duplicates", "dead_letters")
    }
    fates: dict[str, str] = {}
    for name, key in (("assignments", None), ("duplicates", None), ("dead_letters", "item")):
        for record in out[name]:
            item = record[key] if key else record["article"]["id"]
            assert item not in fates, f"{item} is in {fates.get(item)} and {name}"
            fates[item] = name
    assert set(fates) == {r["id"] for r in records}  # every item, in exactly one place

    lang = {r["id"]: r["lang"] for r in records}
    text = {r["id"]: r["text"] for r in records}
    for record in out["assignments"] + out["duplicates"]:
        # The stated language is recorded (as its primary subtag: zh-yue → zh).
        assert record["article"]["language"] == lang[record["article"]["id"]].split("-")[0]
    for dup in out["duplicates"]:
        item, original = dup["article"]["id"], dup["duplicate_of"]
        assert lang[item] == lang[original], dup  # a copy is in its original's language
    for letter in out["dead_letters"]:
        # A short blurb (under extraction.min_words, counted in word-sized units
        # in Chinese and Thai) is the only reason an ITN item may be refused.
        assert letter["reason"] == "no_text", letter
        assert "minimum 12" in letter["detail"]
        assert letter["language"] == lang[letter["item"]].split("-")[0]
        assert len(text[letter["item"]]) < 120, text[letter["item"]]
    # No script is lost whole: each has articles.
    clustered = {_script(text[a["article"]["id"]]) for a in out["assignments"]}
    assert clustered == scripts
    assert report["cross_language_duplicates"] == {}
    assert sum(r["articles"] for r in report["languages"].values()) == len(records)
    assert report["cross_lingual"]["pairs"] > 0
    lines = format_report(report)
    assert any(line.startswith("cross-lingual pairs") for line in lines)
