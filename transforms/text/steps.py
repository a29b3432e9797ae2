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
from transforms.text.language import LanguageDetector, normalise_language

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
        letter = DeadLetter(
            doc.item_id, doc.uri, "extract", reason, detail, normalise_language(doc.meta.language)
        )
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
    def __init__(self, watch_terms: Iterable[str], default_language: str) -> None:
        self._terms = tuple(sorted(watch_terms))
        self._default_language = default_language
        self._matcher: WatchTermMatcher | None = None
        self._detector: LanguageDetector | None = None
        self._detected = counter("languages_detected")

    def setup(self) -> None:
        self._matcher = WatchTermMatcher(self._terms)
        self._detector = LanguageDetector()  # the model loads once per worker

    def process(self, article: Article) -> Iterator[Article]:
        assert self._matcher is not None and self._detector is not None
        language = article.language
        if not language:  # a stated language wins; else the text's
            language = self._detector.detect(f"{article.title}\n{article.text}") or ""
            if language:
                self._detected.inc()
        yield dataclasses.replace(
            article,
            language=language or self._default_language,
            features=compute_features(
                article.title, article.text, self._matcher, item_id=article.id
            ),
        )


class Fingerprint(beam.PTransform):  # type: ignore[type-arg]
    """Adds the language, duplicate signatures, salient terms and watched-term hits.

    The language is the article's stated one (``Article.language``), else the
    one detected in its title and text (``LanguageDetector``), else
    ``default_language`` (a text with no letters).
    """

    def __init__(self, watch_terms: Iterable[str], default_language: str = "en") -> None:
        super().__init__()
        self._watch_terms = tuple(sorted(watch_terms))
        self._default_language = default_language

    def expand(self, articles: beam.pvalue.PCollection[Article]) -> Any:
        return articles | "ComputeFeatures" >> beam.ParDo(
            _FingerprintFn(self._watch_terms, self._default_language)
        )
