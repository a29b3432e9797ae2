"""The story tracker's decisions, driven directly (no Beam, no model)."""

import dataclasses
import random
from collections.abc import Sequence
from typing import TypeVar

import pytest

from tests.support import REPO
from tests.tracker_support import article, near, unit
from transforms.clustering.tracker import StoryTracker, alert_id_for, story_id_for
from transforms.core.records import (
    Alert,
    Assignment,
    DeadLetter,
    Duplicate,
    EmbeddedArticle,
    StoryRecord,
    ThreadRecord,
)
from transforms.core.settings import ClusteringSettings, ThreadSpec

SETTINGS = ClusteringSettings(
    sparse_weight=0.0,  # embedding cosine only, unless a test says otherwise
    story_threshold=0.6,
    thread_threshold=0.5,
    emergent_thread_threshold=0.6,
    story_horizon_days=7,
    allowed_lateness_hours=24,
    # The mechanics of remembered stories and emergent alerts, as they were
    # before the precision settings (tested on their own in test_thread_precision.py).
    thread_sparse_weight=0.0,
    thread_anchor=-1.0,
    emergent_alerts=True,
)
WATCHED = ThreadSpec(
    id="ru-ir",
    title="Russia–Iran",
    description="d",
    required_terms=(("russia", "moscow"), ("iran", "tehran")),
)
E = TypeVar("E")
RU_IR = frozenset({"russia", "iran"})
THREAD = unit("thread")


def description() -> EmbeddedArticle:
    return article("thread:ru-ir:description", THREAD, -1000, role="description", thread_id="ru-ir")


def of(kind: type[E], events: Sequence[object]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def tracker(settings: ClusteringSettings = SETTINGS) -> StoryTracker:
    t = StoryTracker(settings, [WATCHED])
    t.observe(description())
    return t


def test_similar_articles_join_one_story_and_dissimilar_open_another() -> None:
    event = unit("event")
    t = tracker()
    events = t.observe_all(
        [
            article("a", event, 0),
            article("b", near(event, 0.8, "b"), 1),
            article("c", unit("unrelated"), 1.5),
        ]
    )
    assignments = of(Assignment, events)
    assert [(a.article["id"], a.action) for a in assignments] == [
        ("a", "opened"),
        ("b", "joined"),
        ("c", "opened"),
    ]
    assert assignments[1].story_id == assignments[0].story_id == story_id_for("a")
    assert assignments[1].similarity == pytest.approx(0.8, abs=1e-3)


def test_a_story_closes_after_the_inactivity_horizon() -> None:
    event = unit("event")
    t = tracker()
    events = t.observe_all(
        [
            article("a", event, 0),
            article("b", near(event, 0.9, "b"), 7),
            article("c", near(event, 0.9, "c"), 14.5),
        ]
    )
    # b joins at exactly 7 days (horizon inclusive); c is 7.5 days after b: new story.
    actions = [(a.article["id"], a.action) for a in of(Assignment, events)]
    assert actions == [("a", "opened"), ("b", "joined"), ("c", "opened")]
    closed = of(StoryRecord, events)
    assert [(r.story_id, r.status, r.size) for r in closed] == [(story_id_for("a"), "closed", 2)]


def test_new_story_on_watched_thread_alerts_once_and_follow_ups_do_not() -> None:
    t = tracker()
    story_vec = near(THREAD, 0.7, "s1")
    events = t.observe_all(
        [
            article("a", story_vec, 0, watch=RU_IR),
            article("b", near(story_vec, 0.9, "b"), 1, watch=RU_IR),
            article("c", near(story_vec, 0.9, "c"), 2, watch=RU_IR),
        ]
    )
    alerts = of(Alert, events)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.alert_id == alert_id_for("ru-ir", story_id_for("a"))
    assert alert.article["id"] == "a" and alert.matched_by == "description"
    assert alert.score == pytest.approx(0.7, abs=1e-3)
    assert [a.thread_id for a in of(Assignment, events)] == [None, "ru-ir", "ru-ir"]


def test_second_story_on_the_thread_alerts_with_the_earlier_story_as_evidence() -> None:
    t = tracker()
    first = near(THREAD, 0.55, "first")
    second = near(first, 0.8, "second")  # far from the description, close to the first story
    events = t.observe_all(
        [article("a", first, 0, watch=RU_IR), article("x", second, 400, watch=RU_IR)]
    )
    alerts = of(Alert, events)
    assert [a.article["id"] for a in alerts] == ["a", "x"]
    assert alerts[1].matched_by == "story"
    assert alerts[1].evidence["nearest_story"]["id"] == story_id_for("a")
    assert alerts[1].evidence["nearest_story"]["similarity"] == pytest.approx(0.8, abs=1e-3)


def test_required_terms_veto_a_similar_story() -> None:
    t = tracker()
    events = t.observe_all([article("a", near(THREAD, 0.9, "a"), 0, watch=frozenset({"russia"}))])
    assert of(Alert, events) == []
    assert len(of(ThreadRecord, events)) == 1  # it starts an emergent thread instead


def test_emergent_thread_alerts_on_its_next_story() -> None:
    t = tracker()
    topic = unit("quakes")
    events = t.observe_all(
        [
            article("q1", topic, 0),
            article("q2", near(topic, 0.65, "q2"), 30),
        ]
    )
    threads = of(ThreadRecord, events)
    alerts = of(Alert, events)
    assert len(threads) == 1 and threads[0].first_story_id == story_id_for("q1")
    assert [(a.thread["id"], a.thread["kind"], a.article["id"]) for a in alerts] == [
        (threads[0].thread_id, "emergent", "q2")
    ]


def test_emergent_threads_can_be_switched_off() -> None:
    t = tracker(dataclasses.replace(SETTINGS, emergent_threads=False))
    topic = unit("quakes")
    events = t.observe_all([article("q1", topic, 0), article("q2", near(topic, 0.65, "q2"), 30)])
    assert of(ThreadRecord, events) == [] and of(Alert, events) == []


def test_duplicates_point_to_the_earlier_article_and_open_no_story() -> None:
    t = tracker()
    text = (REPO / "seeds" / "004_bed5f04292cb6d2e.txt").read_text()
    events = t.observe_all(
        [
            article("original", unit("o"), 0, text=text),
            article("copy", unit("o"), 1, text=text.upper()),
            article("rewrite", unit("o"), 2, text=text + " Editor's note added."),
            article("original", unit("o"), 3, text="other text entirely " * 20),
        ]
    )
    duplicates = of(Duplicate, events)
    assert [(d.article["id"], d.kind, d.duplicate_of) for d in duplicates] == [
        ("copy", "exact", "original"),
        ("rewrite", "near", "original"),
        ("original", "same_id", "original"),
    ]
    assert len(of(Assignment, events)) == 1


def test_arrival_order_does_not_change_any_event() -> None:
    event, other = unit("e1"), unit("e2")
    articles = [
        article("a1", near(THREAD, 0.7, "a1"), 0, watch=RU_IR),
        article("a2", near(THREAD, 0.7, "a2"), 0, watch=RU_IR),  # same time: id breaks the tie
        article("b1", event, 1),
        article("b2", near(event, 0.9, "b2"), 2),
        article("c1", other, 3),
        article("c2", near(other, 0.61, "c2"), 20),
        article("c3", near(THREAD, 0.66, "c3"), 400, watch=RU_IR),
    ]
    expected = tracker().observe_all(articles)
    for seed in range(5):
        shuffled = articles[:]
        random.Random(seed).shuffle(shuffled)
        assert tracker().observe_all(shuffled) == expected


def test_late_article_joins_without_alert_or_is_dead_lettered() -> None:
    t = tracker()
    event = near(THREAD, 0.7, "late-story")
    t.observe_all([article("a", event, 0, watch=RU_IR), article("z", unit("z"), 2)])
    late_match = t.observe(article("late1", near(event, 0.9, "l1"), 1.5, watch=RU_IR))
    late_unmatched = t.observe(article("late2", unit("nothing"), 1.5))
    too_late = t.observe(article("late3", near(event, 0.9, "l3"), 0.5))
    assert [(e.action, e.late) for e in of(Assignment, late_match)] == [("joined", True)]
    assert [e.reason for e in of(DeadLetter, late_unmatched)] == ["late_unmatched"]
    assert [e.reason for e in of(DeadLetter, too_late)] == ["late"]
    assert of(Alert, late_match + late_unmatched + too_late) == []


def test_snapshot_restores_every_decision() -> None:
    event = near(THREAD, 0.7, "snap")
    first = [article("a", event, 0, watch=RU_IR), article("b", unit("b"), 1)]
    second = [
        article("c", near(event, 0.9, "c"), 2, watch=RU_IR),
        article("d", near(unit("b"), 0.62, "d"), 40),
        article("e", near(THREAD, 0.6, "e"), 400, watch=RU_IR),
    ]
    uninterrupted = tracker()
    uninterrupted.observe_all(first)
    expected = uninterrupted.observe_all(second)

    interrupted = tracker()
    interrupted.observe_all(first)
    restored = StoryTracker.from_bytes(interrupted.to_bytes(), SETTINGS, [WATCHED])
    assert restored.observe_all(second) == expected
    assert restored.to_bytes() == uninterrupted.to_bytes()


def test_state_stays_bounded_as_stories_and_duplicates_age_out() -> None:
    t = tracker(dataclasses.replace(SETTINGS, max_emergent_threads=50))
    for day in range(400):
        t.observe_all([article(f"n{day}-{i}", unit(f"n{day}-{i}"), day + i / 10) for i in range(5)])
    stats = t.stats()
    assert stats["active_stories"] <= 5 * 8  # only the last horizon's stories
    assert stats["emergent_threads"] <= 50
    assert stats["dedup_entries"] <= 5 * 8


def test_scores_are_compared_after_rounding_so_last_bits_cannot_flip_them() -> None:
    base = unit("r")
    t = tracker(dataclasses.replace(SETTINGS, story_threshold=0.6))
    tiny = near(base, 0.6 - 1e-9, "tiny")  # 0.599999999 rounds to 0.6: joins
    events = t.observe_all([article("a", base, 0), article("b", tiny, 1)])
    assert [a.action for a in of(Assignment, events)] == ["opened", "joined"]
    assert of(Assignment, events)[1].similarity == 0.6


def test_shared_names_decide_between_two_events_that_read_alike() -> None:
    """Hybrid score: same embedding similarity, but only one article names the same people."""
    t = tracker(dataclasses.replace(SETTINGS, story_threshold=0.5, sparse_weight=0.4))
    event = unit("quake")
    quake_a = (
        "Rescuers in Sumatra said Padang was hit. Padang hospitals and Sumatra officials. " * 3
    )
    quake_b = "Officials in Oaxaca said Pinotepa was hit. Oaxaca hospitals and Pinotepa crews. " * 3
    same_place = "Aid reached Padang as Sumatra counted losses; Padang schools shut. " * 3
    events = t.observe_all(
        [
            article("a", event, 0, text=quake_a),
            article("b", near(event, 0.7, "b"), 1, text=quake_b),
            article("c", near(event, 0.7, "c"), 2, text=same_place),
        ]
    )
    actions = {a.article["id"]: (a.action, a.story_id) for a in of(Assignment, events)}
    assert actions["b"][0] == "opened"  # 0.6 * 0.7 + 0.4 * 0 < 0.5
    assert actions["c"] == ("joined", story_id_for("a"))


def test_a_big_story_keeps_only_its_most_frequent_names() -> None:
    """Scoring a story costs its names: a story of many articles must not hoard them."""
    t = tracker(dataclasses.replace(SETTINGS, story_threshold=0.5, story_term_limit=10))
    event = unit("summit")
    articles = [
        article(
            f"a{i}",
            near(event, 0.9, f"s{i}"),
            i * 0.01,
            text=f"Leaders met in Geneva. Geneva talks went on. Delegate Name{i:02d} spoke. " * 2,
        )
        for i in range(40)
    ]
    events = t.observe_all(articles)
    assert [a.action for a in of(Assignment, events)].count("joined") == 39
    (story,) = t.stories.values()
    assert len(story.terms) <= 20  # cut back to 10 whenever it passes twice that
    assert story.terms.most_common(1)[0][0] == "geneva"  # in every article: always kept


def test_a_long_thread_keeps_only_its_most_frequent_names() -> None:
    """A thread collects the names of every story on it: bounded like a story's."""
    t = tracker(dataclasses.replace(SETTINGS, story_term_limit=5))
    stories = [
        article(
            f"s{i}",
            near(THREAD, 0.8, f"v{i}"),
            i * 10.0,  # each a new story, after the last one closed
            text=f"Talks in Moscow and Tehran went on. Envoy Person{i:02d} met Official{i:02d}. "
            * 2,
            watch=RU_IR,
        )
        for i in range(30)
    ]
    events = t.observe_all(stories)
    assert len(of(Alert, events)) == 30  # each story is a new one on the watched thread
    thread = t.threads["ru-ir"]
    assert len(thread.terms) <= 10
    assert {"moscow", "tehran"} <= set(thread.terms)  # on every story: always kept


@pytest.mark.parametrize("restore", [False, True])
def test_an_article_seen_long_ago_is_same_id_not_late_and_not_processed_again(
    restore: bool,
) -> None:
    """Past the duplicate index's horizon, the ids are still remembered (a restart's replay)."""
    t = tracker()
    old = article("old", near(THREAD, 0.7, "old"), 0, watch=RU_IR)
    t.observe_all([old, article("later", unit("later"), 60)])  # 60 days: the index forgot
    if restore:
        t = StoryTracker.from_bytes(t.to_bytes(), SETTINGS, [WATCHED])
    behind = t.observe(old)  # older than the clock by two months
    assert [(e.kind, e.duplicate_of) for e in of(Duplicate, behind)] == [("same_id", "old")]
    assert of(DeadLetter, behind) == [] and of(Assignment, behind) == []
    ahead = t.observe(dataclasses.replace(old, published=old.published.replace(year=2030)))
    assert [e.kind for e in of(Duplicate, ahead)] == ["same_id"]
    assert of(Assignment, ahead) == [] and of(Alert, ahead) == []
