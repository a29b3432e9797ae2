"""Evaluation: scoring functions, the stream format, ECB+ conversion, pinned quality."""

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pipeline.evaluation.ecbplus import (
    as_storylines,
    convert,
    detokenize,
    read_docs,
    with_exemplars,
)
from pipeline.evaluation.eval_job import EvalRun, run_eval, write_stream
from pipeline.evaluation.evaluate import (
    alert_report,
    bcubed,
    micro_alerts,
    pairwise,
    tracking_report,
)
from pipeline.evaluation.labelled import parse_stream
from tests.support import FIXTURES, SETTINGS, THREADS, CachedModelHandler
from transforms.core.errors import ConfigError

ECBPLUS = FIXTURES / "ecbplus" / "docs.jsonl"
HELD_OUT = set(range(36, 46))  # never used to choose settings (docs/quality.md)

# Minimum scores on the held-out ECB+ topics, through the real pipeline, on the
# dated storyline stream (``ecbplus --timeline 1 --storylines``). Floors a little
# under the figures measured once with the shipped settings (docs/quality.md:
# BCubed 0.983, pairwise 0.985, storyline alerts P 0.588 / R 1.0). Raising them
# is the only direction: a change that lowers quality must fail here.
PINS = {
    "story_bcubed_f1": 0.97,
    "story_pairwise_f1": 0.97,
    "alert_precision": 0.55,
    "alert_recall": 0.95,
}
TIMELINE_SEED = 1


def test_pairwise_and_bcubed_on_a_worked_example() -> None:
    gold = {"a": "X", "b": "X", "c": "X", "d": "Y", "e": "Y"}
    predicted = {"a": "1", "b": "1", "c": "2", "d": "2", "e": "2"}
    # Pairs: predicted together ab, cd, ce, de (4); gold together ab, ac, bc, de (4); both ab, de.
    assert pairwise(predicted, gold).precision == pytest.approx(2 / 4)
    assert pairwise(predicted, gold).recall == pytest.approx(2 / 4)
    # BCubed precision: a,b: 1; c: 1/3; d,e: 2/3 -> (1+1+1/3+2/3+2/3)/5
    assert bcubed(predicted, gold).precision == pytest.approx((2 + 1 / 3 + 4 / 3) / 5)
    # BCubed recall: a,b: 2/3; c: 1/3; d,e: 1 -> (2/3+2/3+1/3+1+1)/5
    assert bcubed(predicted, gold).recall == pytest.approx((4 / 3 + 1 / 3 + 2) / 5)
    assert pairwise(gold, gold).f1 == bcubed(gold, gold).f1 == 1.0


def _alert(article: str, thread: str, alert_id: str) -> dict[str, Any]:
    return {"alert_id": alert_id, "article": {"id": article}, "thread": {"id": thread}}


def test_alert_precision_recall_and_delay() -> None:
    order = ["s1a", "s1b", "x", "s2a", "s2b", "s3a"]
    story = {"s1a": "S1", "s1b": "S1", "x": "X", "s2a": "S2", "s2b": "S2", "s3a": "S3"}
    thread = {"s1a": "T", "s1b": "T", "s2a": "T", "s2b": "T", "s3a": "T", "x": "U"}
    alerts = [
        _alert("s1a", "T", "1"),  # correct, delay 0
        _alert("s1b", "T", "2"),  # S1 already alerted: wrong
        _alert("x", "T", "3"),  # wrong thread
        _alert("s2b", "T", "4"),  # correct, delay 1
    ]
    report = alert_report(alerts, order, story, thread, ["T"])["T"]
    assert (report["alerts"], report["correct"], report["precision"]) == (4, 2, 0.5)
    assert (report["gold_stories"], report["recall"]) == (3, round(2 / 3, 4))
    assert report["delay_articles"] == {"mean": 0.5, "max": 1}
    assert micro_alerts({"T": report})["precision"] == 0.5


def test_tracking_counts_the_articles_each_watched_thread_ends_with() -> None:
    gold = {"a": "T", "b": "T", "c": "T", "d": "U", "e": "U"}
    # a, b on T; c's story went to an emergent thread; d (gold U) wrongly on T;
    # e on U; x, with no gold thread, on T: wrong too.
    predicted = {"a": "T", "b": "T", "c": "t-1", "d": "T", "e": "U", "x": "T"}
    report = tracking_report(predicted, gold, ["T", "U", "V"])
    assert report["per_thread"]["T"] == {
        "tracked": 4,
        "gold": 3,
        "correct": 2,
        "precision": 0.5,
        "recall": round(2 / 3, 4),
    }
    assert report["per_thread"]["U"]["precision"] == 1.0
    assert report["per_thread"]["U"]["recall"] == 0.5
    # A watched thread with no gold articles and none tracked: no figure.
    assert report["per_thread"]["V"] == {
        "tracked": 0,
        "gold": 0,
        "correct": 0,
        "precision": None,
        "recall": None,
    }
    assert (report["tracked"], report["gold"], report["correct"]) == (5, 5, 3)
    assert report["precision"] == 0.6 and report["recall"] == 0.6
    assert tracking_report(predicted, gold, [])["precision"] is None


def test_score_tracks_by_each_story_s_final_thread_copies_and_dead_letters() -> None:
    from pipeline.evaluation.eval_job import score

    lines = [{"id": f"a{n}", "text": "x", "story": "S", "thread": "T"} for n in range(4)] + [
        {"id": "b", "text": "x", "story": "R", "thread": "U"}
    ]
    records = parse_stream("\n".join(json.dumps(line) for line in lines), "s.jsonl")

    def assigned(item: str, story: str) -> dict[str, Any]:
        return {"article": {"id": item, "language": "en"}, "story_id": story}

    outputs: dict[str, list[dict[str, Any]]] = {
        # a0, a1 in s-1, which ended on T; b in s-2, which also ended on T.
        "assignments": [assigned("a0", "s-1"), assigned("a1", "s-1"), assigned("b", "s-2")],
        # a2 is a copy of a1: it follows s-1 onto T.
        "duplicates": [
            {"article": {"id": "a2", "language": "en"}, "duplicate_of": "a1", "kind": "near"}
        ],
        # a3 was refused: on no thread, a miss.
        "dead_letters": [{"item": "a3", "reason": "no_text", "language": None}],
        "stories": [{"story_id": "s-1", "thread_id": "T"}, {"story_id": "s-2", "thread_id": "T"}],
        "alerts": [],
        "threads": [],
    }
    tracking = score(records, outputs, {}, ["T"])["tracking"]
    assert tracking["per_thread"]["T"] == {
        "tracked": 4,
        "gold": 4,
        "correct": 3,
        "precision": 0.75,
        "recall": 0.75,
    }


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('{"id": "a", "text": "t"}', "line 1.story"),
        ('{"id": "a", "text": "t", "story": "s", "colour": 1}', "line 1.colour"),
        ('{"id": "a", "text": "t", "role": "exemplar"}', "line 1.thread"),
        ('{"id": "a", "text": "", "story": "s"}', "line 1.text"),
        ('{"id": "a", "text": "t", "story": "s", "published": "soon"}', "line 1.published"),
        ("[1]", "line 1"),
    ],
)
def test_labelled_stream_errors_name_line_and_field(line: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stream(line, "stream.jsonl")
    assert info.value.key == key


def test_ecbplus_conversion() -> None:
    assert detokenize("Reid , her rep told `` People '' it 's fine .") == (
        "Reid, her rep told “People” it's fine."
    )
    docs = read_docs(str(ECBPLUS))
    records = list(convert(docs))
    assert len(records) == 982
    assert len({r["story"] for r in records}) == 86 and len({r["thread"] for r in records}) == 43
    assert [r["id"] for r in records[:3]] == ["1_1ecb", "1_1ecbplus", "1_2ecb"]
    assert records[1]["url"].startswith("http://") and " " not in records[1]["url"]
    times = [r["published"] for r in records]
    assert times == sorted(times) and len(set(times)) == len(times)
    marked = with_exemplars(records, 1)
    exemplars = [r for r in marked if r["role"] == "exemplar"]
    assert len(exemplars) == 43 and all("story" not in r for r in exemplars)
    shuffled = list(convert(docs, shuffle_seed=7))
    assert [r["id"] for r in shuffled] != [r["id"] for r in records]


def test_ecbplus_timeline_gives_events_hours_to_days_and_topics_months_apart() -> None:
    import datetime as dt
    from collections import defaultdict

    docs = read_docs(str(ECBPLUS))
    records = list(convert(docs, timeline_seed=TIMELINE_SEED))
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in convert(docs))
    times = [r["published"] for r in records]
    assert times == sorted(times)  # in stream order
    at = {r["id"]: dt.datetime.fromisoformat(r["published"]) for r in records}
    by_story: dict[str, list[dt.datetime]] = defaultdict(list)
    for r in records:
        by_story[r["story"]].append(at[r["id"]])
    spans = sorted((max(v) - min(v)).total_seconds() / 3600 for v in by_story.values())
    assert 12 < spans[len(spans) // 2] < 24 * 7  # a median event lasts hours to days
    for topic in {r["thread"] for r in records}:
        first, second = sorted(
            (min(ts), story) for story, ts in by_story.items() if story.split("_")[0] == topic[6:]
        )
        assert (second[0] - first[0]).days >= 60  # a topic's two events are months apart
    # Seeded per topic: keeping a subset of topics leaves their times unchanged.
    subset = list(convert([d for d in docs if d["topic"] == 3], timeline_seed=TIMELINE_SEED))
    assert all(r["published"] == at[r["id"]].isoformat().replace("+00:00", "Z") for r in subset)
    assert next(iter(convert(docs, timeline_seed=2)))["published"] != times[0]


def test_ecbplus_storylines_watch_one_event_and_keep_its_look_alike_apart() -> None:
    docs = [d for d in read_docs(str(ECBPLUS)) if d["topic"] in (1, 2)]
    records = as_storylines(with_exemplars(list(convert(docs)), 1))
    exemplars = [r for r in records if r["role"] == "exemplar"]
    assert sorted(r["thread"] for r in exemplars) == ["1_ecb", "2_ecb"]  # first events only
    assert all(r["thread"] == r["story"] for r in records if r["role"] == "stream")


def _held_out_stream(tmp_path: Path, shuffle_lines: int | None, dated: bool = True) -> str:
    docs = [d for d in read_docs(str(ECBPLUS)) if d["topic"] in HELD_OUT]
    if dated:
        records = as_storylines(with_exemplars(list(convert(docs, timeline_seed=TIMELINE_SEED)), 1))
    else:
        records = with_exemplars(list(convert(docs)), 1)
    if shuffle_lines is not None:
        random.Random(shuffle_lines).shuffle(records)
    path = str(tmp_path / f"stream-{shuffle_lines}.jsonl")
    write_stream(path, records)
    return path


def test_pinned_quality_on_held_out_ecbplus_and_order_independence(
    tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    reports = []
    for shuffle in (None, 3):
        run = EvalRun(
            _held_out_stream(tmp_path, shuffle), None, SETTINGS, str(tmp_path / f"out-{shuffle}")
        )
        reports.append(run_eval(run, ["--runner=FnApiRunner"], handler=model_handler))
    in_order, shuffled = reports
    for report in reports:
        del report["run"]["stream"]
    # The same records in another arrival order: every figure identical.
    assert json.dumps(in_order, sort_keys=True) == json.dumps(shuffled, sort_keys=True)

    story = in_order["story_level"]
    alerts = micro_alerts(in_order["alerts"]["per_thread"])
    measured = {
        "story_bcubed_f1": story["bcubed"]["f1"],
        "story_pairwise_f1": story["pairwise"]["f1"],
        "alert_precision": alerts["precision"],
        "alert_recall": alerts["recall"],
    }
    print("held-out ECB+ quality:", measured)
    for name, pin in PINS.items():
        assert measured[name] >= pin, f"{name} fell to {measured[name]} (pinned at {pin})"
    counts = in_order["counts"]
    assert counts["read"] == in_order["stream_articles"]
    assert counts["read"] == counts["clustered"] + counts["duplicates"] + counts["dead_letters"]


def test_seed_stream_scores_perfectly_with_the_shipped_watchlist(
    tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    run = EvalRun(str(FIXTURES / "seeds_labelled.jsonl"), THREADS, SETTINGS, str(tmp_path))
    report = run_eval(run, ["--runner=FnApiRunner"], handler=model_handler)
    assert report["story_level"]["bcubed"]["f1"] == 1.0
    assert report["story_level"]["pairwise"]["f1"] == 1.0
    treaty = report["alerts"]["per_thread"]["russia-iran-strategic-treaty"]
    assert (treaty["precision"], treaty["recall"], treaty["alerts"]) == (1.0, 1.0, 2)
    assert treaty["delay_articles"]["max"] == 0
    assert json.loads((tmp_path / "eval.json").read_text())["story_level"] == report["story_level"]


def test_tuning_replay_scores_like_the_pipeline(
    tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    """The sweep harness (benchmarks/replay.py) must agree with ``threadwatch eval``."""
    from benchmarks.replay import prepare, replay
    from pipeline.config.settings import load_settings
    from pipeline.evaluation.eval_job import score
    from pipeline.evaluation.labelled import exemplar_threads, read_stream

    path = _held_out_stream(tmp_path, None)
    records = read_stream(path)
    settings = load_settings(SETTINGS)
    threads = exemplar_threads(records)
    embedded, failed = prepare(records, settings, threads, cache=False)
    replayed = score(
        records, replay(embedded, failed, settings.clustering, threads), {}, [t.id for t in threads]
    )
    report = run_eval(
        EvalRun(path, None, SETTINGS, str(tmp_path / "out")),
        ["--runner=FnApiRunner"],
        handler=model_handler,
    )
    for level in ("story_level", "topic_level", "thread_level", "merged_events"):
        assert replayed[level] == report[level], level
    assert replayed["alerts"] == report["alerts"]


def test_the_replay_cache_is_keyed_by_the_code_that_prepares_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to extraction, features or embedding code must not replay stale articles."""
    import benchmarks.replay as replay_module

    (tmp_path / "text").mkdir()
    source = tmp_path / "text" / "fingerprint.py"
    source.write_text("TOKEN = '[a-z0-9]+'\n")
    monkeypatch.setattr(replay_module, "REPO", tmp_path)
    monkeypatch.setattr(replay_module, "PREPARED_BY", ("text",))
    before = replay_module._code_digest()
    assert replay_module._code_digest() == before  # the same code, the same key
    source.write_text("TOKEN = r'\\w+'\n")
    assert replay_module._code_digest() != before
