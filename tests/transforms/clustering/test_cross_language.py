"""Cross-language bars: an article or story in a language its match is not in needs less.

Each test runs the same stream with the discount off and on, so it shows
what the discount changes, and that it changes nothing within one language.
"""

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from tests.tracker_support import article, in_language, near, unit
from transforms.clustering.model import known_language
from transforms.clustering.tracker import StoryTracker, story_id_for
from transforms.core.records import Alert, Assignment, EmbeddedArticle
from transforms.core.settings import ClusteringSettings, SettingError, ThreadSpec

WATCHED = ThreadSpec(id="ru-ir", title="Russia–Iran", description="d")
BASE = ClusteringSettings(
    sparse_weight=0.0,
    story_threshold=0.6,
    thread_threshold=0.5,
    thread_sparse_weight=0.0,
    emergent_threads=False,
)
EVENT = unit("event")
THREAD = unit("thread")


def actions(settings: ClusteringSettings, stream: Sequence[EmbeddedArticle]) -> dict[str, str]:
    events = StoryTracker(settings, []).observe_all(stream)
    return {e.article["id"]: e.action for e in events if isinstance(e, Assignment)}


def test_known_language_is_the_primary_subtag_or_none() -> None:
    assert known_language("zh-yue") == "zh"
    assert known_language("RU") == "ru"
    assert known_language("rus") == "ru"  # ISO 639-2, as stated in some feeds
    assert known_language("und") is None
    assert known_language("") is None
    assert known_language(None) is None


@pytest.mark.parametrize("language", ["ru", "zh", "ar", "th", "hi"])
def test_an_article_in_another_language_joins_at_the_lower_bar(language: str) -> None:
    stream = [
        article("en1", EVENT, 0),
        in_language(article("other", near(EVENT, 0.55, "other"), 1), language),
    ]
    assert actions(BASE, stream) == {"en1": "opened", "other": "opened"}
    discounted = dataclasses.replace(BASE, cross_language_discount=0.1)
    assert actions(discounted, stream) == {"en1": "opened", "other": "joined"}


def test_within_one_language_the_bar_is_unchanged() -> None:
    discounted = dataclasses.replace(BASE, cross_language_discount=0.1)
    same = [article("en1", EVENT, 0), article("en2", near(EVENT, 0.55, "en2"), 1)]
    assert actions(discounted, same) == {"en1": "opened", "en2": "opened"}
    # An article of unknown language gets no discount either.
    unknown = [same[0], in_language(same[1], "und")]
    assert actions(discounted, unknown) == {"en1": "opened", "en2": "opened"}


def test_a_story_that_holds_the_language_already_asks_the_full_bar() -> None:
    """Opened in Russian: a second Russian article at 0.55 opens, an English one joins."""
    discounted = dataclasses.replace(BASE, cross_language_discount=0.1)
    first = in_language(article("ru1", EVENT, 0), "ru")
    ru2 = in_language(article("ru2", near(EVENT, 0.55, "ru2"), 1), "ru")
    en = article("en", near(EVENT, 0.55, "en"), 1)
    assert actions(discounted, [first, ru2]) == {"ru1": "opened", "ru2": "opened"}
    assert actions(discounted, [first, en]) == {"ru1": "opened", "en": "joined"}


def _thread_alerts(settings: ClusteringSettings, language: str) -> list[str]:
    tracker = StoryTracker(settings, [WATCHED])
    tracker.observe(article("thread:ru-ir:description", THREAD, -1000, role="description",
                            thread_id="ru-ir"))  # fmt: skip
    story = in_language(article("s", near(THREAD, 0.45, "s"), 0), language)
    return [e.article["id"] for e in tracker.observe_all([story]) if isinstance(e, Alert)]


@pytest.mark.parametrize("language", ["ru", "fa", "zh"])
def test_a_story_in_another_language_than_the_definition_alerts_at_the_lower_bar(
    language: str,
) -> None:
    discounted = dataclasses.replace(BASE, thread_cross_language_discount=0.1)
    assert _thread_alerts(BASE, language) == []
    assert _thread_alerts(discounted, language) == ["s"]
    # In the definition's own language (the description's: "en") it needs the full bar.
    assert _thread_alerts(discounted, "en") == []


def test_languages_survive_a_snapshot_and_older_snapshots_load() -> None:
    settings = dataclasses.replace(
        BASE, cross_language_discount=0.1, thread_cross_language_discount=0.1
    )
    tracker = StoryTracker(settings, [WATCHED])
    tracker.observe(article("thread:ru-ir:description", THREAD, -1000, role="description",
                            thread_id="ru-ir"))  # fmt: skip
    tracker.observe_all(
        [article("en1", EVENT, 0), in_language(article("zh", near(EVENT, 0.55, "zh"), 1), "zh")]
    )
    data = tracker.to_bytes()
    restored = StoryTracker.from_bytes(data, settings, [WATCHED])
    assert restored.stories[story_id_for("en1")].languages == {"en", "zh"}
    assert restored.threads["ru-ir"].document_languages == {"thread:ru-ir:description": "en"}
    assert restored.to_bytes() == data

    # A snapshot written before these keys existed loads, with no languages known.
    state = json.loads(data)
    for story in state["stories"]:
        del story["languages"]
    for thread in state["threads"]:
        thread.pop("document_languages", None)
    old = StoryTracker.from_bytes(json.dumps(state).encode(), settings, [WATCHED])
    assert old.stories[story_id_for("en1")].languages is None  # not known, not "none"
    assert np.array_equal(
        old.stories[story_id_for("en1")].vec_sum, restored.stories[story_id_for("en1")].vec_sum
    )


def test_a_story_of_an_older_snapshot_never_gets_the_discount() -> None:
    """Its languages are unknown: a German article joining it must not make it a
    German story that the next English article joins at the lower bar."""
    settings = dataclasses.replace(BASE, cross_language_discount=0.1)
    tracker = StoryTracker(settings, [])
    tracker.observe_all([article("en1", EVENT, 0)])
    state = json.loads(tracker.to_bytes())
    for story in state["stories"]:
        del story["languages"]  # as written before languages were kept
    old = StoryTracker.from_bytes(json.dumps(state).encode(), settings, [])
    german = in_language(article("de", near(EVENT, 0.9, "de"), 1), "de")
    english = article("en2", near(EVENT, 0.55, "en2"), 2)
    events = old.observe_all([german, english])
    joined = {e.article["id"]: e.action for e in events if isinstance(e, Assignment)}
    assert joined == {"de": "joined", "en2": "opened"}
    assert old.stories[story_id_for("en1")].languages is None


def test_the_discount_reaches_past_the_name_bound() -> None:
    """With names in the score (the shipped multilingual case): no name is shared
    across scripts, so the score is the embedding part alone, 0.7 × 0.6 = 0.42,
    under the bar of 0.45 and over the discounted 0.35."""
    settings = dataclasses.replace(BASE, story_threshold=0.45, sparse_weight=0.3)
    english = article("en1", EVENT, 0, text="Vladimir Putin met Masoud Pezeshkian in Moscow. " * 4)
    russian = in_language(
        article("ru", near(EVENT, 0.6, "ru"), 1, text="Путин встретился с Пезешкианом. " * 6), "ru"
    )
    assert actions(settings, [english, russian]) == {"en1": "opened", "ru": "opened"}
    discounted = dataclasses.replace(settings, cross_language_discount=0.1)
    assert actions(discounted, [english, russian]) == {"en1": "opened", "ru": "joined"}


def test_the_thread_bar_with_a_discount_is_exact() -> None:
    """0.4 − 0.1 is 0.3 to the decimals scores are rounded to, not 0.30000000000000004."""
    settings = dataclasses.replace(BASE, thread_threshold=0.4, thread_cross_language_discount=0.1)
    tracker = StoryTracker(settings, [WATCHED])
    tracker.observe(article("thread:ru-ir:description", THREAD, -1000, role="description",
                            thread_id="ru-ir"))  # fmt: skip
    story = in_language(article("s", near(THREAD, 0.3, "s"), 0), "ru")
    assert [e.article["id"] for e in tracker.observe_all([story]) if isinstance(e, Alert)] == ["s"]


@pytest.mark.parametrize("field", ["cross_language_discount", "thread_cross_language_discount"])
@pytest.mark.parametrize("value", [-0.1, 0.7, 1.5])
def test_settings_refuse_out_of_range_discounts(field: str, value: float) -> None:
    """Negative, more than the bar it lowers (0.6 and 0.5 in BASE), or more than 1."""
    changes: dict[str, Any] = {field: value}
    with pytest.raises(SettingError, match=field):
        dataclasses.replace(BASE, **changes)
