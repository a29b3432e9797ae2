"""Watched-thread precision: no chaining, negative examples, names, emergent alerts, time.

Each test sets the one setting it is about against a baseline where it is
off, so that it shows the setting's effect, not only its presence.
"""

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pytest

from tests.tracker_support import article, near, unit
from transforms.clustering.tracker import StoryTracker, story_id_for
from transforms.core.records import Alert, Assignment, EmbeddedArticle, ThreadRecord
from transforms.core.settings import ClusteringSettings, ThreadSpec

E = TypeVar("E")
THREAD = unit("thread")
RU_IR = frozenset({"russia", "iran"})
WATCHED = ThreadSpec(id="ru-ir", title="Russia–Iran", description="d")
BASE = ClusteringSettings(
    sparse_weight=0.0,
    story_threshold=0.6,
    thread_threshold=0.5,
    story_horizon_days=7,
    thread_sparse_weight=0.0,
    thread_anchor=1.0,
    contrast_margin=0.0,
    emergent_alerts=False,
)
DEFINITION_TEXT = (
    "Vladimir Putin met Masoud Pezeshkian in Moscow. Putin and Pezeshkian signed. " * 2
)


def of(kind: type[E], events: Sequence[object]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def tracker(settings: ClusteringSettings, *documents: EmbeddedArticle) -> StoryTracker:
    t = StoryTracker(settings, [WATCHED])
    t.observe(
        article(
            "thread:ru-ir:description",
            THREAD,
            -1000,
            text=DEFINITION_TEXT,
            role="description",
            thread_id="ru-ir",
        )
    )
    for document in documents:
        t.observe(document)
    return t


def alerted(
    settings: ClusteringSettings, stream: list[EmbeddedArticle], *docs: EmbeddedArticle
) -> list[str]:
    return [a.article["id"] for a in of(Alert, tracker(settings, *docs).observe_all(stream))]


def test_a_thread_does_not_chain_through_its_remembered_stories() -> None:
    """A story near only a remembered story (not near the definition) alerts only when
    remembered stories may carry a match: with the anchor, the thread cannot drift."""
    first = near(THREAD, 0.55, "first")  # on the thread by its definition
    drifted = near(first, 0.8, "drifted")  # like the first story, far from the definition
    assert float(drifted @ THREAD) < BASE.thread_threshold
    stream = [article("a", first, 0), article("x", drifted, 30)]
    assert alerted(dataclasses.replace(BASE, thread_anchor=-1.0), stream) == ["a", "x"]
    assert alerted(BASE, stream) == ["a"]


def test_a_remembered_story_still_helps_a_story_near_the_definition() -> None:
    """Above the anchor, the better of definition and memory scores the story."""
    first = near(THREAD, 0.6, "first")
    second = near(first, 0.9, "second")
    settings = dataclasses.replace(BASE, thread_anchor=0.3)
    events = tracker(settings).observe_all([article("a", first, 0), article("b", second, 30)])
    alerts = of(Alert, events)
    assert [a.article["id"] for a in alerts] == ["a", "b"]
    assert alerts[1].matched_by == "story" and alerts[1].score == pytest.approx(0.9, abs=1e-3)


def test_a_story_nearer_a_negative_example_than_the_definition_is_refused() -> None:
    negative_vec = unit("drones")
    near_miss = near(negative_vec, 0.8, "near-miss")  # the same countries, another storyline
    near_miss = near_miss + 0.6 * THREAD  # and close enough to the definition to alert
    near_miss = near_miss / float((near_miss @ near_miss) ** 0.5)
    on_thread = near(THREAD, 0.7, "treaty")
    assert float(near_miss @ THREAD) > BASE.thread_threshold
    negative = article(
        "thread:ru-ir:not_about:1", negative_vec, -1000, role="negative", thread_id="ru-ir"
    )
    stream = [article("n", near_miss, 0), article("t", on_thread, 30)]
    assert alerted(BASE, stream) == ["n", "t"]
    assert alerted(BASE, stream, negative) == ["t"]


def test_names_of_the_definition_lift_a_story_on_the_thread_over_a_look_alike() -> None:
    """Same embedding similarity to the definition; only one names its people and places."""
    named = "Putin and Pezeshkian met again in Moscow; Putin praised Pezeshkian. " * 2
    other = "Erdogan and Aliyev met again in Baku; Erdogan praised Aliyev. " * 2
    stream = [
        article("same-names", near(THREAD, 0.42, "v1"), 0, text=named),
        article("other-names", near(THREAD, 0.42, "v2"), 30, text=other),
    ]
    assert alerted(BASE, stream) == []  # 0.42 < 0.5 on the embedding alone
    assert alerted(dataclasses.replace(BASE, thread_sparse_weight=0.4), stream) == ["same-names"]


def test_emergent_threads_form_without_alerts_unless_asked() -> None:
    first = unit("quake")
    stream = [article("q1", first, 0), article("q2", near(first, 0.7, "q2"), 30)]
    quiet_tracker = tracker(BASE)
    quiet = quiet_tracker.observe_all(stream)
    assert of(Alert, quiet) == []
    (thread,) = of(ThreadRecord, quiet)
    assert thread.first_story_id == story_id_for("q1")
    # The second story still joined the emergent thread.
    assert quiet_tracker.stories[story_id_for("q2")].thread_id == thread.thread_id
    loud = tracker(dataclasses.replace(BASE, emergent_alerts=True)).observe_all(stream)
    assert [(a.thread["kind"], a.article["id"]) for a in of(Alert, loud)] == [("emergent", "q2")]


def test_a_watched_thread_takes_its_story_from_a_nearer_emergent_thread() -> None:
    """An emergent thread grown from a look-alike (another country's treaty) is nearer
    the new story than the watched definition is; the watched thread still takes it."""
    elsewhere = near(THREAD, 0.0, "another treaty")  # orthogonal to the definition
    rest = near(near(THREAD, 0.0, "rest"), 0.0, "rest2")
    rest = rest - (rest @ elsewhere) * elsewhere
    rest /= np.linalg.norm(rest)
    both = 0.8 * elsewhere + 0.55 * THREAD + np.sqrt(1 - 0.8**2 - 0.55**2) * rest
    assert float(both @ elsewhere) > BASE.emergent_thread_threshold
    assert float(both @ elsewhere) > float(both @ THREAD) > BASE.thread_threshold
    t = tracker(BASE)
    events = t.observe_all([article("other", elsewhere, 0), article("ours", both, 30)])
    (emergent,) = of(ThreadRecord, events)
    assert [(a.thread["id"], a.article["id"]) for a in of(Alert, events)] == [("ru-ir", "ours")]
    assert t.stories[story_id_for("ours")].thread_id == "ru-ir"
    assert emergent.first_story_id == story_id_for("other")


def test_time_raises_the_bar_to_join_a_story() -> None:
    """A match of 0.7 joins a day later, but not six days later with the time penalty."""
    story = unit("event")
    stream = [
        article("e1", story, 0),
        article("soon", near(story, 0.7, "soon"), 1),
        article("late", near(story, 0.7, "late"), 7),
    ]

    def actions(settings: ClusteringSettings) -> dict[str, str]:
        events = tracker(settings).observe_all(stream)
        return {a.article["id"]: a.action for a in of(Assignment, events)}

    assert actions(BASE) == {"e1": "opened", "soon": "joined", "late": "joined"}
    penalised = dataclasses.replace(BASE, story_time_penalty=0.2)
    assert actions(penalised) == {"e1": "opened", "soon": "joined", "late": "opened"}


def test_negative_examples_and_definition_names_survive_a_snapshot() -> None:
    negative = article(
        "thread:ru-ir:not_about:1", unit("drones"), -1000, role="negative", thread_id="ru-ir"
    )
    t = tracker(BASE, negative)
    restored = StoryTracker.from_bytes(t.to_bytes(), BASE, [WATCHED])
    thread = restored.threads["ru-ir"]
    assert set(thread.negatives) == {"thread:ru-ir:not_about:1"}
    assert {"putin", "pezeshkian"} <= set(thread.definition_terms)
