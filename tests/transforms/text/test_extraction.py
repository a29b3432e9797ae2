"""Raw items to clean, dated articles; bad items to specific errors."""

import dataclasses
import datetime as dt
import gzip
import json
import re
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config.settings import load_settings
from pipeline.summary import counters_from_result
from tests.support import FIXTURES, MULTILINGUAL_SETTINGS, REPO
from transforms.core.errors import ExtractionError, ReadError
from transforms.core.records import ArticleMeta, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.text.charset import decode_text
from transforms.text.extraction import extract_article
from transforms.text.steps import ExtractText

SETTINGS = ExtractionSettings()
PAGES = FIXTURES / "extraction"
TRUTH = json.loads((PAGES / "ground-truth.json").read_text())


def doc(content: bytes, media_type: Any = "text/plain", **meta: Any) -> RawDocument:
    return RawDocument(
        "item", "file:///item", content, media_type, ArticleMeta(**meta), mtime=1_700_000_000.0
    )


def token_f1(predicted: str, truth: str) -> float:
    p, t = predicted.split(), truth.split()
    common = sum(min(p.count(w), t.count(w)) for w in set(p))
    return 0.0 if not common else 2 * common / (len(p) + len(t))


@pytest.mark.parametrize("key", sorted(TRUTH))
def test_real_news_pages_are_extracted_with_title_and_date(key: str) -> None:
    html = gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes())
    article = extract_article(doc(html, "text/html"), SETTINGS)
    assert token_f1(article.text, TRUTH[key]["articleBody"]) >= 0.9
    assert article.title
    assert article.published_source == "document"
    assert (
        dt.datetime(2019, 11, 1, tzinfo=dt.UTC)
        < article.published
        < dt.datetime(2019, 12, 1, tzinfo=dt.UTC)
    )


def test_plain_text_date_comes_from_the_dateline() -> None:
    article = extract_article(
        doc((REPO / "seeds" / "000_46b6a571614f8e47.txt").read_bytes()), SETTINGS
    )
    assert article.published == dt.datetime(2024, 10, 10, 19, 36, tzinfo=dt.UTC)
    assert article.published_source == "text"
    assert article.title.startswith("Putin to meet Iran’s president")


def test_metadata_date_wins_and_mtime_is_the_last_resort() -> None:
    body = ("Officials met in the capital to discuss the agreement. " * 10).encode()
    given = dt.datetime(2022, 7, 19, tzinfo=dt.UTC)
    assert extract_article(doc(body, published=given), SETTINGS).published_source == "manifest"
    fallback = extract_article(doc(body), SETTINGS)
    assert fallback.published_source == "mtime"
    assert fallback.published == dt.datetime.fromtimestamp(1_700_000_000, tz=dt.UTC)
    assert fallback.title == "Officials met in the capital to discuss the agreement."


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "binary"),
        (b"text with a \x00 NUL byte " * 10, "binary"),
        (bytes(range(128, 256)) * 20, "undecodable"),
    ],
)
def test_unreadable_items_raise_read_errors_with_a_reason(content: bytes, reason: str) -> None:
    with pytest.raises(ReadError) as info:
        extract_article(doc(content), SETTINGS)
    assert info.value.reason == reason


def test_oversized_item_is_refused_before_parsing() -> None:
    with pytest.raises(ReadError) as info:
        extract_article(doc(b"x" * 101), ExtractionSettings(max_bytes=100))
    assert info.value.reason == "too_large"


def test_items_without_article_text_are_extraction_errors() -> None:
    with pytest.raises(ExtractionError) as info:
        extract_article(doc(b"AD\nLogin\nShare\nToo short to be news."), SETTINGS)
    assert info.value.reason == "no_text"
    with pytest.raises(ExtractionError):
        extract_article(doc(b"<html><body><nav>Home</nav></body></html>", "text/html"), SETTINGS)


def test_windows_1252_text_is_decoded() -> None:
    text = "The café’s résumé — said the minister. " * 5
    assert decode_text(text.encode("cp1252")).startswith("The caf")


# ---------------------------------------------------------------- dates in the future

NOW = dt.datetime(2024, 10, 11, 12, 0, tzinfo=dt.UTC)
BODY = ("Officials met in the capital to discuss the agreement. " * 10).encode()


FAR = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
LATER = NOW.timestamp() + 90_000  # 25 h after now


@pytest.mark.parametrize(
    ("item", "source"),
    [
        (doc(BODY, published=FAR), "manifest"),
        (doc(BODY, published=FAR, origin="document"), "document"),  # a JSON object's field
        (doc(b"Oct 14, 2024\n" + BODY), "text"),  # the dateline
        (dataclasses.replace(doc(BODY), mtime=LATER), "mtime"),  # a file touched in the future
    ],
)
def test_a_date_past_now_and_the_tolerance_is_a_dead_letter(item: RawDocument, source: str) -> None:
    with pytest.raises(ExtractionError, match=f"from {source}") as info:
        extract_article(item, SETTINGS, now=NOW)
    assert info.value.reason == "future_date"


def test_a_date_within_the_tolerance_is_kept() -> None:
    soon = NOW + dt.timedelta(hours=23, minutes=59)
    article = extract_article(doc(BODY, published=soon), SETTINGS, now=NOW)
    assert article.published == soon
    strict = ExtractionSettings(future_tolerance_hours=0)
    assert extract_article(doc(BODY, published=NOW), strict, now=NOW).published == NOW
    with pytest.raises(ExtractionError):
        extract_article(doc(BODY, published=NOW + dt.timedelta(seconds=1)), strict, now=NOW)


def test_now_defaults_to_the_current_time() -> None:
    seed = doc((REPO / "seeds" / "000_46b6a571614f8e47.txt").read_bytes())
    assert extract_article(seed, SETTINGS).published.year == 2024  # past: kept
    with pytest.raises(ExtractionError) as info:  # in 2024, the seed was in the future
        extract_article(seed, SETTINGS, now=dt.datetime(2024, 10, 9, tzinfo=dt.UTC))
    assert info.value.reason == "future_date"


@pytest.mark.parametrize("hours", [-1.0, 8760.5, float("nan"), float("inf")])
def test_the_tolerance_is_range_checked(hours: float) -> None:
    with pytest.raises(ValueError, match="future_tolerance_hours"):
        ExtractionSettings(future_tolerance_hours=hours)


def test_extract_text_dead_letters_future_dates_by_its_injected_clock() -> None:
    past = dt.datetime(2024, 10, 1, tzinfo=dt.UTC)
    items = [
        dataclasses.replace(doc(BODY, published=past), item_id="past"),
        dataclasses.replace(doc(BODY, published=FAR), item_id="far"),
        dataclasses.replace(doc(BODY), item_id="mtime", mtime=NOW.timestamp() + 86_401),
    ]
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    outputs = pipeline | beam.Create(items) | ExtractText(SETTINGS, clock=NOW.timestamp)
    assert_that(outputs["main"] | beam.Map(lambda a: a.id), equal_to(["past"]), label="kept")
    assert_that(
        outputs["dead_letter"] | beam.Map(lambda d: (d.item, d.stage, d.reason)),
        equal_to([("far", "extract", "future_date"), ("mtime", "extract", "future_date")]),
        label="dead letters",
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = counters_from_result(result)
    assert counters["items_read"] == 3
    assert counters["dead_letters.extract.future_date"] == 2 == counters["dead_letters"]


@pytest.mark.parametrize(
    "blurb",
    [
        "Annie Ernaux is awarded the Nobel Prize in Literature.",
        "Анни Эрно присуждена Нобелевская премия по литературе.",
        "安妮·埃尔诺获得诺贝尔文学奖。",
    ],
)
def test_the_multilingual_settings_keep_a_one_sentence_blurb(blurb: str) -> None:
    """A one-line flash is news there (min_words 5); the default (12) refuses it."""
    multilingual = load_settings(MULTILINGUAL_SETTINGS)
    article = extract_article(doc(blurb.encode()), multilingual.extraction)
    assert article.text == blurb
    with pytest.raises(ExtractionError, match=r"\(minimum 12\)"):
        extract_article(doc(blurb.encode()), SETTINGS)


@pytest.mark.parametrize(
    "page",
    [
        "<title>Just a moment...</title><p>Enable JavaScript and cookies to continue</p>",
        "<title>Page not found</title><p>Sorry, this page does not exist.</p>",
        "<title>Subscribe</title><p>Subscribe to continue reading this article.</p>",
        "<title>Please enable JavaScript</title><p>Please enable JavaScript</p>",
    ],
)
def test_a_page_stub_is_refused_by_the_multilingual_settings_too(page: str) -> None:
    """An HTML page needs page_min_words (12) there: a few words left is a stub."""
    multilingual = load_settings(MULTILINGUAL_SETTINGS).extraction
    with pytest.raises(ExtractionError, match=r"\(minimum 12\)"):
        extract_article(doc(page.encode(), "text/html"), multilingual)
    # The same words as a plain-text item are one (min_words 5 applies).
    words = re.sub(r"<[^>]+>", " ", page).split()
    assert len(words) >= 5
    extract_article(doc(" ".join(words).encode()), multilingual)
