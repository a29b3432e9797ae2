"""``ReadFeeds``: a feed list → raw documents for ``ExtractText`` (+ ``dead_letter``).

    feed list ─ GroupByHost ─ FetchFeeds ─┬─ entries ─ GroupByKey ─ DropDuplicateEntries
                                          │   ─ GroupByHost ─ FetchArticles ─┬─ documents
                                          └─ dead letters ───────────────────┴─ dead letters

Each feed is fetched once (batch; in streaming, the edge poller
``threadwatch poll-feeds`` does the polling, see ``pipeline/edge/poll_feeds.py``).
Requests are grouped by host so that one worker fetches a host's feeds and
pages in turn, spaced by the politeness delay, while different hosts go in
parallel. Entries are de-duplicated by their key (canonical link, else guid)
before any page is fetched: the same article from two feeds is fetched once.

Accounting, in Beam metrics: ``feeds_read`` and ``feeds_dead_lettered``
(fetched but yielding nothing, or not fetched); every entry ends as an article handed to
extraction (``feed_entries_articles``, of which ``feed_entries_fallback``
use the entry's own text), a duplicate (``feed_entries_duplicates``) or a
dead letter (``feed_entries_dead_lettered``); ``feed_entries`` is their sum.
A feed that yields nothing is one dead letter (stage ``feed``).
"""

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows, TimestampCombiner

from transforms.core.errors import ItemError
from transforms.core.metrics import count_dead_letter, counter
from transforms.core.records import DEAD_LETTER, DeadLetter
from transforms.core.settings import ExtractionSettings
from transforms.sources.feed_entries import (
    entry_document,
    feed_dead_letter,
    first_entries,
    read_feed,
)
from transforms.sources.feed_types import FeedEntry, FeedList, FeedSpec
from transforms.sources.fetch_types import FetchPolicy
from transforms.sources.http_fetch import HttpFetcher


def host_of(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").lower()


class _FetchingFn(beam.DoFn):
    """A DoFn with one HTTP client per worker instance: its connections are reused."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._fetcher: HttpFetcher | None = None

    def setup(self) -> None:
        self._fetcher = HttpFetcher(self._policy)

    def teardown(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()


class _FetchFeedsFn(_FetchingFn):
    """One host's feeds, in turn → their entries (+ dead letters)."""

    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(policy)
        self._feeds = counter("feeds_read")
        self._failed = counter("feeds_dead_lettered")
        self._entries = counter("feed_entries")
        self._dead_entries = counter("feed_entries_dead_lettered")
        self._items = counter("items_read")

    def process(self, element: tuple[str, Iterable[tuple[int, FeedSpec]]]) -> Iterator[Any]:
        assert self._fetcher is not None
        for position, spec in sorted(element[1], key=lambda p: p[0]):
            try:
                read = read_feed(self._fetcher, spec, position)
            except ItemError as exc:
                self._failed.inc()
                yield self._dead(feed_dead_letter(spec, exc))
                continue
            except Exception as exc:  # one odd feed must not stop the others
                self._failed.inc()
                detail = f"{type(exc).__name__}: {exc}"
                yield self._dead(DeadLetter(spec.url, spec.url, "feed", "unexpected_error", detail))
                continue
            self._feeds.inc()
            assert read.feed is not None  # no validators were sent: never a 304
            self._entries.inc(len(read.feed.entries) + len(read.feed.rejected))
            for letter in read.feed.rejected:
                self._dead_entries.inc()
                yield self._dead(letter)
            yield from read.feed.entries

    def _dead(self, letter: DeadLetter) -> Any:
        self._items.inc()  # items that go on are counted by ExtractText
        count_dead_letter(letter)
        return beam.pvalue.TaggedOutput(DEAD_LETTER, letter)


class _DropDuplicateEntriesFn(beam.DoFn):
    """Entries with one key → the first (feed order, then entry order)."""

    def __init__(self) -> None:
        self._duplicates = counter("feed_entries_duplicates")

    def process(self, element: tuple[str, Iterable[FeedEntry]]) -> Iterator[FeedEntry]:
        kept, duplicates = first_entries(element[1])
        if duplicates:
            self._duplicates.inc(len(duplicates))
        yield kept


class _FetchArticlesFn(_FetchingFn):
    """One host's entries, in turn → raw documents (page, or the entry's own text)."""

    def __init__(self, policy: FetchPolicy, settings: ExtractionSettings) -> None:
        super().__init__(policy)
        self._settings = settings
        self._articles = counter("feed_entries_articles")
        self._fallback = counter("feed_entries_fallback")
        self._dead_entries = counter("feed_entries_dead_lettered")
        self._items = counter("items_read")

    def process(self, element: tuple[str, Iterable[FeedEntry]]) -> Iterator[Any]:
        entries = sorted(element[1], key=lambda e: (e.position, e.index))
        for entry in entries:
            outcome = entry_document(entry, self._fetcher, self._settings)
            if isinstance(outcome.item, DeadLetter):
                self._dead_entries.inc()
                self._items.inc()
                count_dead_letter(outcome.item)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, outcome.item)
                continue
            self._articles.inc()
            if outcome.fallback is not None:
                self._fallback.inc()
                counter(f"feed_entries_fallback.{outcome.fallback}").inc()
            yield outcome.item


class ReadFeeds(beam.PTransform):  # type: ignore[type-arg]
    """Fetches every feed once and each new entry's page; outputs ``main`` and ``dead_letter``.

    ``main`` holds ``RawDocument``s (``meta.origin`` ``feed`` or ``fetch``,
    ``meta.text_from`` ``page`` or ``entry``) for the same ``ExtractText``
    stage as every other source.
    """

    def __init__(self, feeds: FeedList, settings: ExtractionSettings) -> None:
        super().__init__()
        self._feeds = feeds
        self._settings = settings

    def expand(self, pbegin: beam.pvalue.PBegin) -> Any:
        policy = self._feeds.http
        # Keep elements at the start of time through the groupings (not at
        # the end of the global window): ExtractText re-stamps each article
        # with its publication time, and nothing here may hold the watermark.
        at_start = beam.WindowInto(
            GlobalWindows(), timestamp_combiner=TimestampCombiner.OUTPUT_AT_EARLIEST
        )
        fetched = (
            pbegin
            | "FeedList" >> beam.Create(list(enumerate(self._feeds.feeds)))
            | "KeyFeedsByHost" >> beam.Map(lambda p: (host_of(p[1].url), p))
            | "FeedsAtStart" >> at_start
            | "GroupFeedsByHost" >> beam.GroupByKey()
            | "FetchFeeds"
            >> beam.ParDo(_FetchFeedsFn(policy)).with_outputs(DEAD_LETTER, main="main")
        )
        articles = (
            fetched["main"]
            | "KeyByArticle" >> beam.Map(lambda e: (e.key, e))
            | "EntriesAtStart" >> at_start
            | "GroupByArticle" >> beam.GroupByKey()
            | "DropDuplicateEntries" >> beam.ParDo(_DropDuplicateEntriesFn())
            | "KeyByHost" >> beam.Map(lambda e: (e.host, e))
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchArticles"
            >> beam.ParDo(_FetchArticlesFn(policy, self._settings)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
        dead = (fetched[DEAD_LETTER], articles[DEAD_LETTER]) | "FeedDeadLetters" >> beam.Flatten()
        return {"main": articles["main"], DEAD_LETTER: dead}
