"""Per-language centring: the running means, their snapshot, and the tracker using them."""

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np
import pytest

from transforms.clustering.centring import LanguageCentring, language_key
from transforms.clustering.model import order_key
from transforms.clustering.snapshot import decode
from transforms.clustering.tracker import StoryTracker
from transforms.core.records import EmbeddedArticle, Features
from transforms.core.settings import ClusteringSettings, SettingError

DAY = 86400.0


def _unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_language_key_is_the_primary_subtag() -> None:
    assert language_key("zh-yue") == "zh"
    assert language_key("pt_BR") == "pt"
    assert language_key("EN") == "en"


def test_centred_subtracts_the_mean_of_earlier_articles_only() -> None:
    centring = LanguageCentring(min_count=1)
    first = _unit(1, 1, 0)
    assert np.array_equal(centring.centred("ru", first), first)  # no mean yet
    centring.add("ru", first, 0.0)
    second = _unit(1, 0, 1)
    expected = second - first
    assert np.allclose(centring.centred("ru", second), expected / np.linalg.norm(expected))
    # Another language has a mean of its own.
    assert np.array_equal(centring.centred("en", second), second)


def test_min_count_leaves_a_language_s_first_articles_alone() -> None:
    centring = LanguageCentring(min_count=3)
    v = _unit(0, 1, 0)
    for n in range(2):
        centring.add("th", _unit(1, 0, n), float(n))
    assert np.array_equal(centring.centred("th", v), v)
    centring.add("th", _unit(1, 0, 0), 2.0)
    assert not np.allclose(centring.centred("th", v), v)


def test_half_life_weighs_older_articles_less() -> None:
    centring = LanguageCentring(min_count=1, half_life_days=1.0)
    old, new = _unit(1, 0, 0), _unit(0, 1, 0)
    centring.add("ar", old, 0.0)
    centring.add("ar", new, DAY)  # the old article now weighs 1/2
    mean = (0.5 * old + new) / 1.5
    probe = _unit(0, 0, 1)
    expected = probe - mean
    assert np.allclose(centring.centred("ar", probe), expected / np.linalg.norm(expected))


def test_a_vector_equal_to_the_mean_is_returned_unchanged() -> None:
    centring = LanguageCentring(min_count=1)
    v = _unit(1, 2, 3)
    centring.add("zh", v, 0.0)
    assert np.array_equal(centring.centred("zh", v), v)


def test_entries_restore_the_same_means() -> None:
    centring = LanguageCentring(min_count=2, half_life_days=3.0)
    for i, lang in enumerate(["ru", "en", "ru", "zh-yue"]):
        centring.add(lang, _unit(1, i, 2), i * DAY)
    copy = LanguageCentring(min_count=2, half_life_days=3.0)
    copy.restore(centring.entries())
    probe = _unit(3, 1, 0)
    for lang in ("ru", "en", "zh"):
        assert np.array_equal(copy.centred(lang, probe), centring.centred(lang, probe))
    assert list(copy.entries()) == list(centring.entries())


def test_a_language_not_yet_counted_is_centred_on_the_pooled_mean() -> None:
    centring = LanguageCentring(min_count=3, pooled_min_count=4)
    english = [_unit(1, 0, n) for n in range(3)]
    russian = _unit(0, 1, 1)
    for n, v in enumerate(english):
        centring.add("en", v, float(n))
    probe = _unit(0, 1, 0)
    # Three articles in all: fewer than pooled_min_count, so Thai stays as it is.
    assert np.array_equal(centring.centred("th", probe), probe)
    centring.add("ru", russian, 3.0)
    pooled = (sum(english) + russian) / 4
    expected = probe - pooled
    assert np.allclose(centring.centred("th", probe), expected / np.linalg.norm(expected))
    # Russian has one article: under min_count, so it is pooled too, own article included.
    assert np.allclose(centring.centred("ru", probe), expected / np.linalg.norm(expected))
    # English counts min_count: its own mean, not the pool.
    own = probe - sum(english) / 3
    assert np.allclose(centring.centred("en", probe), own / np.linalg.norm(own))


def test_without_pooled_min_count_a_language_not_yet_counted_is_left_alone() -> None:
    centring = LanguageCentring(min_count=3)
    for n in range(10):
        centring.add("en", _unit(1, 0, n), float(n))
    probe = _unit(0, 1, 0)
    assert np.array_equal(centring.centred("th", probe), probe)


def test_the_pooled_mean_decays_each_language_to_the_latest_article() -> None:
    centring = LanguageCentring(min_count=5, half_life_days=1.0, pooled_min_count=2)
    old, new = _unit(1, 0, 0), _unit(0, 1, 0)
    centring.add("ar", old, 0.0)
    centring.add("he", new, DAY)  # "ar"'s article is a day older: it weighs 1/2
    probe = _unit(0, 0, 1)
    expected = probe - (0.5 * old + new) / 1.5
    assert np.allclose(centring.centred("th", probe), expected / np.linalg.norm(expected))


def test_the_pooled_mean_is_the_same_bit_for_bit_whatever_order_languages_came_in() -> None:
    rng = np.random.default_rng(3)
    items = [(lang, _unit(*rng.normal(size=16))) for lang in ("ru", "zh", "ar", "th", "hi")]
    forward = LanguageCentring(min_count=9, pooled_min_count=5)
    backward = LanguageCentring(min_count=9, pooled_min_count=5)
    for lang, v in items:
        forward.add(lang, v, 0.0)
    for lang, v in reversed(items):
        backward.add(lang, v, 0.0)
    probe = _unit(*rng.normal(size=16))
    assert np.array_equal(forward.centred("fa", probe), backward.centred("fa", probe))
    copy = LanguageCentring(min_count=9, pooled_min_count=5)
    copy.restore(forward.entries())
    assert np.array_equal(copy.centred("fa", probe), forward.centred("fa", probe))


@pytest.mark.parametrize(
    "kwargs", [{"min_count": 0}, {"half_life_days": -1.0}, {"pooled_min_count": -1}]
)
def test_bad_arguments_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LanguageCentring(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field, value",
    [
        ("language_centring_min_count", 0),
        ("language_centring_half_life_days", -1.0),
        ("language_centring_pooled_min_count", -1),
    ],
)
def test_settings_refuse_out_of_range_values(field: str, value: float) -> None:
    with pytest.raises(SettingError):
        ClusteringSettings(**{field: value})  # type: ignore[arg-type]


# ---------------------------------------------------------------------- in the tracker


def _article(i: int, language: str, vector: np.ndarray, title: str) -> EmbeddedArticle:
    return EmbeddedArticle(
        id=f"a{i}",
        url=f"https://example.test/{i}",
        title=title,
        published=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i),
        published_source="feed",
        source="test",
        language=language,
        role="article",
        thread_id=None,
        features=Features(
            exact_hash=f"h{i}", minhash=tuple(range(i * 200, i * 200 + 128)), terms=()
        ),
        vector=vector.astype(np.float32),
    )


def _stream() -> list[EmbeddedArticle]:
    """Russian and English articles, each language offset along its own axis.

    The event axis (0) is shared by one Russian and one English article; the
    language offsets (axes 1 and 2) are larger than it, so uncentred the two
    never meet, and centred (the offset removed) they do.
    """
    rng = np.random.default_rng(7)
    items: list[EmbeddedArticle] = []
    for i in range(6):  # background news in each language
        noise = rng.normal(0, 0.05, 8)
        items.append(_article(i, "ru", _unit(*(noise + np.eye(8)[1])), f"Новости {i}"))
        noise = rng.normal(0, 0.05, 8)
        items.append(_article(10 + i, "en", _unit(*(noise + np.eye(8)[2])), f"News {i}"))
    items.append(_article(30, "ru", _unit(0.9, 1, 0, 0, 0, 0.3, 0, 0), "Договор подписан"))
    items.append(_article(31, "en", _unit(0.9, 0, 1, 0, 0, 0.3, 0, 0), "Treaty signed"))
    return items


def _story_of(events: Sequence[object], article_id: str) -> str:
    for event in events:
        record = getattr(event, "article", None)
        if isinstance(record, dict) and record.get("id") == article_id:
            story = getattr(event, "story_id", None)
            assert isinstance(story, str)
            return story
    raise AssertionError(f"no assignment of {article_id}")


def test_centring_brings_one_event_in_two_languages_together() -> None:
    base = ClusteringSettings(story_threshold=0.6, sparse_weight=0.0, emergent_threads=False)
    on = dataclasses.replace(base, language_centring=True, language_centring_min_count=3)
    off_events = StoryTracker(base, dim=8).observe_all(_stream())
    on_events = StoryTracker(on, dim=8).observe_all(_stream())
    assert _story_of(off_events, "a30") != _story_of(off_events, "a31")
    assert _story_of(on_events, "a30") == _story_of(on_events, "a31")


def _stream_with_a_lone_language() -> list[EmbeddedArticle]:
    """A direction every vector shares (the model's), larger than any event.

    Russian and English background news, then an English article on the
    event and, an hour later, the one Persian article of the stream, on the
    same event. English is centred on its own mean; Persian, with one
    article, has none, and uncentred the shared direction swamps its event.
    """
    rng = np.random.default_rng(11)
    shared = 2.0 * np.eye(8)[3]
    items: list[EmbeddedArticle] = []
    for i in range(6):
        for offset, language, n in ((1, "ru", i), (2, "en", 10 + i)):
            vector = shared + 0.3 * np.eye(8)[offset] + rng.normal(0, 0.05, 8)
            items.append(_article(n, language, _unit(*vector), f"{language} {i}"))
    event = 0.9 * np.eye(8)[0]
    items.append(_article(30, "en", _unit(*(shared + 0.3 * np.eye(8)[2] + event)), "Treaty"))
    items.append(_article(31, "fa", _unit(*(shared + 0.3 * np.eye(8)[6] + event)), "پیمان"))
    return items


#: Settings for ``_stream_with_a_lone_language``: centring from a language's 4th article.
LONE_LANGUAGE = ClusteringSettings(
    story_threshold=0.6,
    sparse_weight=0.0,
    emergent_threads=False,
    language_centring=True,
    language_centring_min_count=3,
)


def test_the_pooled_mean_lets_a_language_s_first_article_join_its_event() -> None:
    base = LONE_LANGUAGE
    pooled = dataclasses.replace(base, language_centring_pooled_min_count=10)
    alone = StoryTracker(base, dim=8).observe_all(_stream_with_a_lone_language())
    joined = StoryTracker(pooled, dim=8).observe_all(_stream_with_a_lone_language())
    assert _story_of(alone, "a31") != _story_of(alone, "a30")
    assert _story_of(joined, "a31") == _story_of(joined, "a30")
    # A pool smaller than its minimum (13 articles before the Persian one) is not used.
    small = dataclasses.replace(base, language_centring_pooled_min_count=14)
    events = StoryTracker(small, dim=8).observe_all(_stream_with_a_lone_language())
    assert _story_of(events, "a31") != _story_of(events, "a30")


def test_snapshot_carries_the_means_and_old_snapshots_load() -> None:
    on = ClusteringSettings(
        story_threshold=0.6,
        sparse_weight=0.0,
        language_centring=True,
        language_centring_min_count=3,
    )
    items = sorted(_stream(), key=order_key)  # split in event-time order
    whole = StoryTracker(on, dim=8)
    expected = whole.observe_all(items)
    first = StoryTracker(on, dim=8)
    got = first.observe_all(items[:7])
    data = first.to_bytes()
    assert {e["language"] for e in decode(data).centring} == {"ru", "en"}
    resumed = StoryTracker.from_bytes(data, on)
    got += resumed.observe_all(items[7:])
    assert got == expected
    # Centring off: no "centring" key, the snapshot as before this option.
    off = StoryTracker(dataclasses.replace(on, language_centring=False), dim=8)
    off.observe_all(items)
    assert b'"centring"' not in off.to_bytes()
    assert decode(off.to_bytes()).centring == []


def test_a_resumed_tracker_pools_as_the_stopped_one_would_have() -> None:
    pooled = dataclasses.replace(LONE_LANGUAGE, language_centring_pooled_min_count=10)
    items = sorted(_stream_with_a_lone_language(), key=order_key)
    expected = StoryTracker(pooled, dim=8).observe_all(items)
    assert _story_of(expected, "a31") == _story_of(expected, "a30")  # the pool was used
    for split in range(1, len(items)):
        first = StoryTracker(pooled, dim=8)
        got = first.observe_all(items[:split])
        resumed = StoryTracker.from_bytes(first.to_bytes(), pooled)
        assert got + resumed.observe_all(items[split:]) == expected, split
