"""A second look in a thread's language: a story opened in one language, scored
again on its first article in the language a watched thread is defined in."""

import dataclasses
from collections.abc import Sequence

import numpy as np

from tests.tracker_support import article, in_language, near, unit
from transforms.clustering.tracker import StoryTracker, story_id_for
from transforms.core.feedback import FeedbackMark
from transforms.core.records import Alert, Assignment, EmbeddedArticle
from transforms.core.settings import ClusteringSettings, ThreadSpec

WATCHED = ThreadSpec(id="ru-ir", title="Russia–Iran", description="d")
THREAD = unit("thread")
SETTINGS = ClusteringSettings(
    sparse_weight=0.0,
    story_threshold=0.6,
    thread_threshold=0.5,
    thread_sparse_weight=0.0,
    cross_language_discount=0.1,
)
RUSSIAN = near(THREAD, 0.2, "ru")  # far from the English definition
ENGLISH = (RUSSIAN + THREAD) / np.linalg.norm(RUSSIAN + THREAD)  # 0.77 to both


def watching(settings: ClusteringSettings = SETTINGS, language: str = "en") -> StoryTracker:
    tracker = StoryTracker(settings, [WATCHED])
    description = article("thread:ru-ir:description", THREAD, -1000, role="description",
                          thread_id="ru-ir")  # fmt: skip
    tracker.observe(in_language(description, language))
    return tracker


def alerts(events: Sequence[object]) -> list[tuple[str, str, str]]:
    return [
        (a.article["id"], a.story["id"], a.thread["id"]) for a in events if isinstance(a, Alert)
    ]


def stream() -> list[EmbeddedArticle]:
    return [
        in_language(article("ru", RUSSIAN, 0), "ru"),
        article("en", ENGLISH, 1),
        article("en-again", ENGLISH, 2, text="Another body " * 9),
    ]


def test_the_first_english_article_puts_the_story_on_the_thread_and_alerts() -> None:
    tracker = watching()
    events = list(tracker.observe_all(stream()))
    story = tracker.stories[story_id_for("ru")]
    assert alerts(events) == [("en", story.id, "ru-ir")]  # once, with that article
    assert story.thread_id == "ru-ir"
    # The joining article's assignment names the thread the story is on now.
    joined = {e.article["id"]: e.thread_id for e in events if isinstance(e, Assignment)}
    assert joined["en"] == "ru-ir" and joined["en-again"] == "ru-ir"
    # The emergent thread the Russian story started is left, and forgotten.
    assert [t.kind for t in tracker.threads.values()] == ["watched"]


def test_only_threads_defined_in_the_article_s_language_are_looked_at() -> None:
    """The same stream, the thread defined in Persian: an English article is no second look."""
    assert alerts(list(watching(language="fa").observe_all(stream()))) == []


def test_only_the_first_article_in_a_language_is_a_second_look() -> None:
    """A first English article far from the thread, then one near it: no alert."""
    far = near(RUSSIAN, 0.8, "far")  # joins the Russian story, still far from the definition
    events = watching().observe_all(
        [stream()[0], article("en-far", far, 1), article("en", ENGLISH, 2, text="Body " * 12)]
    )
    assert alerts(list(events)) == []


def test_a_story_already_on_a_watched_thread_is_not_scored_again() -> None:
    settings = dataclasses.replace(
        SETTINGS, thread_threshold=0.3, thread_cross_language_discount=0.1
    )
    events = list(watching(settings).observe_all(stream()))
    assert [a[0] for a in alerts(events)] == ["ru"]


def test_a_story_judged_by_an_analyst_is_not_scored_again() -> None:
    """Alerted in Russian, marked not relevant, then relevant again: its English article
    must not alert a second time with the same alert id."""
    settings = dataclasses.replace(
        SETTINGS, thread_threshold=0.3, thread_cross_language_discount=0.1
    )
    tracker = watching(settings)
    first = alerts(list(tracker.observe_all(stream()[:1])))
    story_id = story_id_for("ru")
    assert first == [("ru", story_id, "ru-ir")]
    tracker.add_feedback([FeedbackMark("not-relevant", "ru-ir", story_id)])
    tracker.add_feedback([FeedbackMark("relevant", "ru-ir", story_id, note="after all")])
    assert alerts(list(tracker.observe_all(stream()[1:]))) == []


def test_a_late_article_does_not_take_the_second_look_away() -> None:
    """An English article arriving late joins (never alerts) but does not count as the
    story's English: the next in-order English article still gets the second look."""
    tracker = watching()
    later = in_language(article("later", near(RUSSIAN, 0.95, "later"), 1.5), "ru")
    tracker.observe_all([stream()[0], later])
    late = article("late-en", ENGLISH, 1.2, text="Late body " * 9)  # within the lateness
    events = list(tracker.observe(late))
    assert [(e.action, e.late) for e in events if isinstance(e, Assignment)] == [("joined", True)]
    assert alerts(events) == []
    events = list(tracker.observe(article("en", ENGLISH, 2)))
    assert alerts(events) == [("en", story_id_for("ru"), "ru-ir")]


def test_an_emergent_thread_left_empty_is_kept_while_a_story_is_on_it() -> None:
    """Memory 1: the emergent thread remembers only its latest story, ru2; when ru2
    moves to the watched thread, ru (let go by the memory) is still on it."""
    settings = dataclasses.replace(SETTINGS, thread_story_memory=1, emergent_thread_threshold=0.5)
    tracker = watching(settings)
    other = near(RUSSIAN, 0.52, "other")  # its own story, on ru's emergent thread
    english = (other + THREAD) / np.linalg.norm(other + THREAD)  # joins ru2's story only
    events = list(
        tracker.observe_all(
            [
                stream()[0],
                in_language(article("ru2", other, 0.5, text="Other " * 12), "ru"),
                article("en", english, 1),
            ]
        )
    )
    joined = {e.article["id"]: (e.action, e.story_id) for e in events if isinstance(e, Assignment)}
    assert joined["ru2"][0] == "opened" and joined["en"] == ("joined", story_id_for("ru2"))
    assert alerts(events) == [("en", story_id_for("ru2"), "ru-ir")]
    emergent = tracker.stories[story_id_for("ru")].thread_id
    assert emergent is not None and tracker.threads[emergent].kind == "emergent"


def test_a_story_its_emergent_thread_no_longer_remembers_still_moves() -> None:
    """The emergent thread's memory (``thread_story_memory`` 1) let the story go."""
    settings = dataclasses.replace(SETTINGS, thread_story_memory=1, emergent_thread_threshold=0.5)
    tracker = watching(settings)
    other = near(RUSSIAN, 0.55, "other")  # a story of its own on the same emergent thread
    events = tracker.observe_all(
        [
            stream()[0],
            in_language(article("ru2", other, 0.5, text="Other " * 12), "ru"),
            stream()[1],
        ]
    )
    assert alerts(list(events)) == [("en", story_id_for("ru"), "ru-ir")]
    # ru2 is still on the emergent thread, which is kept for it.
    emergent = tracker.stories[story_id_for("ru2")].thread_id
    assert emergent is not None and tracker.threads[emergent].kind == "emergent"
