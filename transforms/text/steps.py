"""``ExtractText`` and ``Fingerprint``: thin DoFns over the pure extraction code."""

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue

from transforms.core.errors import ItemError
from transforms.core.metrics import count_dead_letter, counter
from transforms.core.records import DEAD_LETTER, Article, DeadLetter, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.text.extraction import extract_article
from transforms.text.fingerprint import WatchTermMatcher, compute_features

#: Seconds since the epoch, now; tests inject a fixed one.
Clock = Callable[[], float]


class _ExtractFn(beam.DoFn):
    def __init__(self, settings: ExtractionSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._cleaned = counter("articles_cleaned")
        self._thread_docs = counter("thread_documents")
        self._read = counter("items_read")

    def process(self, doc: RawDocument) -> Iterator[Any]:
        if doc.role == "article":
            self._read.inc()  # every source's items pass here, or die at their reader
        try:
            now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
            article = extract_article(doc, self._settings, now)
        except ItemError as exc:
            yield self._dead(doc, exc.reason, str(exc))
            return
        except Exception as exc:  # one bad page must not stop the run
            yield self._dead(doc, "unexpected_error", f"{type(exc).__name__}: {exc}")
            return
        (self._cleaned if article.role == "article" else self._thread_docs).inc()
        # Event time is the article's own publication time.
        yield TimestampedValue(article, article.timestamp)

    def _dead(self, doc: RawDocument, reason: str, detail: str) -> Any:
        letter = DeadLetter(doc.item_id, doc.uri, "extract", reason, detail)
        if doc.role == "article":
            count_dead_letter(letter)
        return beam.pvalue.TaggedOutput(DEAD_LETTER, letter)


class ExtractText(beam.PTransform):  # type: ignore[type-arg]
    """Raw documents → clean articles timestamped with their publication time.

    Outputs ``main`` (articles) and ``dead_letter`` (items with no usable text
    or date, with the reason; dates too far past ``clock`` are ``future_date``).
    """

    def __init__(self, settings: ExtractionSettings, clock: Clock | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._clock = clock or time.time

    def expand(self, docs: beam.pvalue.PCollection[Any]) -> Any:
        extract = _ExtractFn(self._settings, self._clock)
        return docs | "Extract" >> beam.ParDo(extract).with_outputs(DEAD_LETTER, main="main")


class _FingerprintFn(beam.DoFn):
    def __init__(self, watch_terms: Iterable[str]) -> None:
        self._terms = tuple(sorted(watch_terms))
        self._matcher: WatchTermMatcher | None = None

    def setup(self) -> None:
        self._matcher = WatchTermMatcher(self._terms)

    def process(self, article: Article) -> Iterator[Article]:
        assert self._matcher is not None
        yield dataclasses.replace(
            article,
            features=compute_features(
                article.title, article.text, self._matcher, item_id=article.id
            ),
        )


class Fingerprint(beam.PTransform):  # type: ignore[type-arg]
    """Adds duplicate signatures, salient terms and watched-term hits to articles."""

    def __init__(self, watch_terms: Iterable[str]) -> None:
        super().__init__()
        self._watch_terms = tuple(sorted(watch_terms))

    def expand(self, articles: beam.pvalue.PCollection[Article]) -> Any:
        return articles | "ComputeFeatures" >> beam.ParDo(_FingerprintFn(self._watch_terms))
