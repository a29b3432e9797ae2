"""Streaming state: rebuilt exactly from Beam state, journaled per step, replayed on restart."""

from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to

from tests.tracker_support import article, near
from tests.transforms.clustering.test_streaming import PROTOTYPE, SETTINGS, THREAD, at, ts
from transforms.clustering import journal
from transforms.clustering.cluster import ClusterStories
from transforms.clustering.state_store import StateStore
from transforms.clustering.tracker import alert_id_for, order_key, story_id_for
from transforms.core.records import EmbeddedArticle

STORY = near(PROTOTYPE, 0.7, "story-1")
DESCRIPTION = article(
    "thread:ru-ir:description", PROTOTYPE, -1000, role="description", thread_id="ru-ir"
)
A1 = article("a1", STORY, 0)
A2 = article("a2", near(STORY, 0.9, "a2"), 2 / 24)
LATE_OK = article("late-ok", near(STORY, 0.9, "l1"), 1 / 24)
TOO_LATE = article("too-late", near(STORY, 0.9, "l2"), -2)
B1 = article("b1", near(STORY, 0.8, "b1"), 10)


def _stream(*steps: list[EmbeddedArticle]) -> Any:
    """Each list arrives, then the watermark passes it (days 0, 1, 11 …)."""
    stream = test_stream.TestStream().advance_watermark_to(0)
    for day, items in zip((3 / 24, 1, 11, 20), steps, strict=False):
        stream = stream.add_elements([at(a) for a in items]).advance_watermark_to(ts(day))
    return stream.advance_watermark_to_infinity()


def _run(stream: Any, **cluster_args: Any) -> dict[str, Any]:
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=options)
    events = p | stream | ClusterStories(SETTINGS, [THREAD], flush_every_seconds=1, **cluster_args)
    return {"pipeline": p, "events": events}


STEPS = ([DESCRIPTION, A2, A1], [LATE_OK, TOO_LATE], [B1])
EXPECTED_ALERTS = [("a1", story_id_for("a1")), ("b1", story_id_for("b1"))]
EXPECTED_ASSIGNMENTS = [("a1", "opened"), ("a2", "joined"), ("late-ok", "joined"), ("b1", "opened")]


def _check(run: dict[str, Any], alerts: list[Any], assignments: list[Any]) -> None:
    events = run["events"]
    got = events["alerts"] | "AlertIds" >> beam.Map(lambda a: (a.article["id"], a.story["id"]))
    assert_that(got, equal_to(alerts), label="Alerts")
    assigned = events["assignments"] | "Assigned" >> beam.Map(lambda a: (a.article["id"], a.action))
    assert_that(assigned, equal_to(assignments), label="Assignments")
    run["pipeline"].run().wait_until_finish()


def test_a_tracker_rebuilt_from_beam_state_at_every_step_decides_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No cached tracker (a new worker at every firing) and a snapshot every item."""
    monkeypatch.setattr(journal.TrackerCache, "get", lambda self, version: None)
    _check(_run(_stream(*STEPS), compact_every=1), EXPECTED_ALERTS, EXPECTED_ASSIGNMENTS)
    _check(_run(_stream(*STEPS), compact_every=10**6), EXPECTED_ALERTS, EXPECTED_ASSIGNMENTS)


def test_with_a_snapshot_at_every_step_a_rerun_alerts_nothing_again(tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    _check(
        _run(_stream(*STEPS), state_path=state, state_every_seconds=0),
        EXPECTED_ALERTS,
        EXPECTED_ASSIGNMENTS,
    )
    loaded = StateStore(state).load()
    # One step per firing with items (each article's second here), all in the snapshot.
    assert loaded.tracker is not None and loaded.steps == () and loaded.seq == 6
    again = _run(_stream(*STEPS), state_path=state)
    _replays_only(again)
    _check(again, [], [])


def test_between_snapshots_the_journal_is_replayed_and_its_alerts_sent_again(
    tmp_path: Path,
) -> None:
    state = str(tmp_path / "state.json")
    _check(
        _run(_stream(*STEPS), state_path=state, state_every_seconds=10**9),
        EXPECTED_ALERTS,
        EXPECTED_ASSIGNMENTS,
    )
    loaded = StateStore(state).load()
    assert loaded.tracker is None and [step for step, _ in loaded.steps] == [1, 2, 3, 4, 5, 6]
    again = _run(_stream(*STEPS), state_path=state)
    _replays_only(again)
    # The alerts of the journaled steps go out again (same ids); nothing is assigned twice.
    _check(again, EXPECTED_ALERTS, [])


def _replays_only(run: dict[str, Any]) -> None:
    dupes = run["events"]["duplicates"] | beam.Map(lambda d: (d.article["id"], d.kind))
    assert_that(
        dupes,
        equal_to([(a.id, "same_id") for a in (A1, A2, LATE_OK, B1)]),  # too-late: late again
        label="AllReplays",
    )


def test_a_restart_replays_the_journal_and_sends_its_alerts_again_with_the_same_id(
    tmp_path: Path,
) -> None:
    """A job that died after journaling two steps, before any snapshot."""
    state = str(tmp_path / "state.json")
    store = StateStore(state)
    store.append(1, sorted(STEPS[0], key=order_key))
    store.append(2, sorted(STEPS[1], key=order_key))
    run = _run(_stream([DESCRIPTION], [], [B1]), state_path=state)
    ids = run["events"]["alerts"] | "Ids" >> beam.Map(lambda a: a.alert_id)
    assert_that(
        ids,
        equal_to([alert_id_for("ru-ir", story_id_for(x)) for x in ("a1", "b1")]),
        label="SameIds",
    )
    # The replayed articles are not assigned again; only b1 is new.
    _check(run, EXPECTED_ALERTS, [("b1", "opened")])
    assert StateStore(state).load().last_seq == 4


def test_articles_wait_for_thread_documents_that_come_long_after_the_watermark_passed_them() -> (
    None
):
    """The documents share the input and can come last (in a real job: after Pub/Sub's
    watermark, which is the clock, has passed the articles by years). The articles
    wait for them; no timer spins meanwhile (one that did, a millisecond at a time
    behind such a watermark, never let the documents in: the job hung)."""
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(0)
        .add_elements([at(A1)])
        .advance_watermark_to(ts(3 * 365))
        .advance_processing_time(5)
        .add_elements([at(DESCRIPTION)])
        .advance_watermark_to(ts(3 * 365 + 1))
        .advance_watermark_to_infinity()
    )
    _check(_run(stream), [("a1", story_id_for("a1"))], [("a1", "opened")])
