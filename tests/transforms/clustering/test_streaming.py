"""Event time in streaming, late data, and restarts from a state snapshot."""

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to, equal_to_per_window
from apache_beam.transforms.window import FixedWindows, IntervalWindow, TimestampedValue

from tests import golden
from tests.support import CachedModelHandler, folder_documents, make_job, run_job
from tests.tracker_support import T0, article, near, unit
from transforms.clustering.cluster import ClusterStories
from transforms.clustering.tracker import story_id_for
from transforms.core.records import EmbeddedArticle
from transforms.core.settings import ClusteringSettings, ThreadSpec

DAY = 86400
SETTINGS = ClusteringSettings(
    story_threshold=0.6,
    sparse_weight=0.0,
    thread_threshold=0.5,
    story_horizon_days=7,
    allowed_lateness_hours=24,
    # The mechanics of remembered stories and emergent alerts, as they were
    # before the precision settings (tested on their own in test_thread_precision.py).
    thread_sparse_weight=0.0,
    thread_anchor=-1.0,
    emergent_alerts=True,
)
THREAD = ThreadSpec(id="ru-ir", title="Russia–Iran", description="d")
PROTOTYPE = unit("prototype")


def at(item: EmbeddedArticle) -> TimestampedValue[EmbeddedArticle]:
    return TimestampedValue(item, item.timestamp)


def ts(days: float) -> float:
    return (T0 + dt.timedelta(days=days)).timestamp()


def test_watermark_steps_out_of_order_late_and_closing_stories() -> None:
    story = near(PROTOTYPE, 0.7, "story-1")
    description = article(
        "thread:ru-ir:description", PROTOTYPE, -1000, role="description", thread_id="ru-ir"
    )
    a1 = article("a1", story, 0)
    a2 = article("a2", near(story, 0.9, "a2"), 2 / 24)
    late_ok = article("late-ok", near(story, 0.9, "l1"), 1 / 24)
    too_late = article("too-late", near(story, 0.9, "l2"), -2)
    b1 = article("b1", near(story, 0.8, "b1"), 10)

    stream = (
        test_stream.TestStream()
        .advance_watermark_to(0)
        .add_elements([at(description)])
        # a2 arrives before a1, both before the watermark passes them.
        .add_elements([at(a2), at(a1)])
        .advance_watermark_to(ts(3 / 24))
        # Step 1: a1 opens a story on the thread (alert), a2 joins it.
        .add_elements([at(late_ok)])  # 2 h behind the clock: within the 24 h lateness
        .add_elements([at(too_late)])  # 2 days behind: beyond it
        .advance_watermark_to(ts(1))
        # Step 2: the late article joins without alerting; the too-late one is dead-lettered.
        .add_elements([at(b1)])
        .advance_watermark_to(ts(11))
        # Step 3: the first story closed at day 7 + 2 h; b1 opens a new story: second alert.
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=options) as p:
        events = p | stream | ClusterStories(SETTINGS, [THREAD], flush_every_seconds=1)
        first_story = story_id_for("a1")

        def by_day(pcoll: Any, label: str) -> Any:
            return pcoll | f"Daily{label}" >> beam.WindowInto(FixedWindows(DAY))

        day0 = IntervalWindow(ts(0), ts(1))
        day7 = IntervalWindow(ts(7), ts(8))
        day10 = IntervalWindow(ts(10), ts(11))
        alerts = events["alerts"] | "AlertIds" >> beam.Map(
            lambda a: (a.article["id"], a.story["id"], a.matched_by)
        )
        assert_that(
            by_day(alerts, "Alerts"),
            equal_to_per_window(
                {
                    day0: [("a1", first_story, "description")],
                    day10: [("b1", story_id_for("b1"), "story")],
                }
            ),
            label="AlertsPerStep",
        )
        assignments = events["assignments"] | "Assigned" >> beam.Map(
            lambda a: (a.article["id"], a.action, a.late)
        )
        assert_that(
            assignments,
            equal_to(
                [
                    ("a1", "opened", False),
                    ("a2", "joined", False),
                    ("late-ok", "joined", True),
                    ("b1", "opened", False),
                ]
            ),
            label="Assignments",
        )
        dead = events["dead_letter"] | "DeadIds" >> beam.Map(lambda d: (d.item, d.reason))
        assert_that(dead, equal_to([("too-late", "late")]), label="DeadLetters")
        closed = (
            events["stories"]
            | "Closed" >> beam.Filter(lambda s: s.status == "closed")
            | "ClosedIds" >> beam.Map(lambda s: (s.story_id, s.size))
        )
        assert_that(
            by_day(closed, "Closed"),
            equal_to_per_window(
                {
                    day7: [(first_story, 3)],
                }
            ),
            label="ClosedAfterHorizon",
        )


def test_restart_from_snapshot_repeats_and_loses_nothing(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    state = str(tmp_path / "state" / "tracker.json")
    documents = folder_documents(seeds_dir)
    first_half = [d for d in documents if d.item_id.startswith(("002", "004"))]

    first = run_job(_with_state(make_job(tmp_path / "run1"), state), model_handler, first_half)
    assert Path(state).exists()
    second = run_job(_with_state(make_job(tmp_path / "run2"), state), model_handler, documents)

    expected = golden.load("seeds")["alerts"]
    ids = [a["alert_id"] for a in first.outputs["alerts"] + second.outputs["alerts"]]
    assert sorted(ids) == sorted(a["alert_id"] for a in expected)  # union = one full run
    assert len(ids) == len(set(ids))  # nothing alerted twice
    replayed = {d["article"]["id"]: d["kind"] for d in second.outputs["duplicates"]}
    assert replayed == {
        "002_dc85ee8fd00bc9d9.txt": "same_id",
        "004_bed5f04292cb6d2e.txt": "same_id",
    }
    # The thread carried over: the 2024 story is linked through the 2022 one.
    (alert,) = second.outputs["alerts"]
    assert alert["evidence"]["nearest_story"]["id"] == first.outputs["alerts"][0]["story"]["id"]


def _with_state(job: Any, state: str) -> Any:
    import dataclasses

    return dataclasses.replace(job, state_path=state)


def test_streaming_graph_gives_the_batch_alerts_and_assignments(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    """The seeds through TestStream (out of order, watermark steps) = the batch golden."""
    from apache_beam.testing.util import assert_that

    from pipeline.graph import build_graph

    documents = folder_documents(seeds_dir)
    by_name = {d.item_id[:3]: d for d in documents}
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(0)
        .add_elements([by_name["004"], by_name["002"]])  # the later one first
        .advance_watermark_to(ts(0))
        .add_elements([by_name["003"], by_name["000"], by_name["001"]])
        .advance_watermark_to(ts(335))  # December 2024: past every seed
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    job = dataclasses.replace(make_job(tmp_path), streaming=True, flush_every_seconds=1.0)
    expected = golden.load("seeds")
    with beam.Pipeline(options=options) as p:
        outputs = build_graph(p, job, documents=p | stream, handler=model_handler)
        alerts = outputs["alerts"] | "AlertIds" >> beam.Map(
            lambda a: (a.alert_id, a.article["id"], a.story["id"])
        )
        assert_that(
            alerts,
            equal_to(
                [(a["alert_id"], a["article"]["id"], a["story"]["id"]) for a in expected["alerts"]]
            ),
            label="SameAlerts",
        )
        assigned = outputs["assignments"] | "Assigned" >> beam.Map(
            lambda a: (a.article["id"], a.story_id, a.action)
        )
        assert_that(
            assigned,
            equal_to(
                [(a["article"]["id"], a["story_id"], a["action"]) for a in expected["assignments"]]
            ),
            label="SameAssignments",
        )
