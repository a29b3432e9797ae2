"""Feedback: verdicts on alerts change later decisions, deterministically."""

import dataclasses
import random
from collections.abc import Sequence
from typing import TypeVar

from tests.tracker_support import article, near, unit
from transforms.clustering.tracker import StoryTracker, story_id_for
from transforms.core.feedback import FeedbackMark
from transforms.core.records import Alert, EmbeddedArticle
from transforms.core.settings import ClusteringSettings, ThreadSpec

E = TypeVar("E")
THREAD = unit("thread")
WATCHED = ThreadSpec(id="ru-ir", title="Russia–Iran", description="d")
SETTINGS = ClusteringSettings(
    sparse_weight=0.0,
    story_threshold=0.6,
    thread_threshold=0.5,
    story_horizon_days=7,
    thread_sparse_weight=0.0,
)


def of(kind: type[E], events: Sequence[object]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def tracker(feedback: Sequence[FeedbackMark] = ()) -> StoryTracker:
    t = StoryTracker(SETTINGS, [WATCHED], feedback=feedback)
    t.observe(
        article("thread:ru-ir:description", THREAD, -1000, role="description", thread_id="ru-ir")
    )
    return t


MISS = near(THREAD, 0.62, "drones")  # a near miss: on the thread by its score
REPEAT = near(MISS, 0.85, "drones-again")  # a following story like it, weeks later
REPEAT = REPEAT + 0.3 * THREAD
REPEAT = REPEAT / float((REPEAT @ REPEAT) ** 0.5)
TREATY = near(THREAD, 0.7, "treaty")
STREAM = [article("miss", MISS, 0), article("repeat", REPEAT, 20), article("treaty", TREATY, 40)]
NOT_RELEVANT = FeedbackMark("not-relevant", "ru-ir", story_id_for("miss"), alert_id="a1")


def alerted(t: StoryTracker, stream: Sequence[EmbeddedArticle] = STREAM) -> list[str]:
    return [a.article["id"] for a in of(Alert, t.observe_all(stream))]


def test_a_not_relevant_mark_removes_the_alert_and_its_repeat_on_a_following_story() -> None:
    assert float(REPEAT @ THREAD) > SETTINGS.thread_threshold
    assert alerted(tracker()) == ["miss", "repeat", "treaty"]
    assert alerted(tracker([NOT_RELEVANT])) == ["treaty"]


def test_the_same_inputs_and_feedback_give_the_same_alerts_in_any_order() -> None:
    first = [a.to_json() for a in of(Alert, tracker([NOT_RELEVANT]).observe_all(STREAM))]
    shuffled = list(STREAM)
    random.Random(4).shuffle(shuffled)
    second = [a.to_json() for a in of(Alert, tracker([NOT_RELEVANT]).observe_all(shuffled))]
    assert first == second and first


def test_a_mark_on_a_story_of_an_earlier_run_applies_to_the_restored_state() -> None:
    earlier = tracker()
    assert alerted(earlier, STREAM[:1]) == ["miss"]
    restored = StoryTracker.from_bytes(earlier.to_bytes(), SETTINGS, [WATCHED], [NOT_RELEVANT])
    thread = restored.threads["ru-ir"]
    assert story_id_for("miss") not in thread.stories  # no longer remembered as on the thread
    assert f"feedback:{story_id_for('miss')}" in thread.negatives
    assert alerted(restored, STREAM[1:]) == ["treaty"]


def test_a_relevant_mark_makes_the_story_a_positive_example() -> None:
    far = near(THREAD, 0.45, "far")  # under the threshold on the description alone
    follow = near(far, 0.8, "follow")
    stream = [article("far", far, 0), article("follow", follow, 20)]
    assert alerted(tracker(), stream) == []
    relevant = FeedbackMark("relevant", "ru-ir", story_id_for("far"))
    # The confirmed story joins the definition: it alerts, and so does its look-alike.
    assert alerted(tracker([relevant]), stream) == ["far", "follow"]


def test_mutes_silence_a_story_or_a_whole_thread() -> None:
    mute_story = FeedbackMark("mute", None, story_id_for("treaty"))
    assert alerted(tracker([mute_story])) == ["miss", "repeat"]
    mute_thread = FeedbackMark("mute", "ru-ir", None)
    assert alerted(tracker([mute_thread])) == []


def test_a_later_verdict_wins() -> None:
    undo = dataclasses.replace(NOT_RELEVANT, verdict="relevant")
    assert alerted(tracker([NOT_RELEVANT, undo])) == ["miss", "repeat", "treaty"]
