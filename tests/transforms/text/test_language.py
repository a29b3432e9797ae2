"""Language: stated tags normalised, detection with the packaged model, the Fingerprint stage."""

import datetime as dt
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.text.test_scripts import TEXTS
from transforms.core.records import Article
from transforms.text.language import LanguageDetector, normalise_language
from transforms.text.steps import Fingerprint

EXPECTED = {
    "latin": "en",
    "cyrillic": "ru",
    "arabic": "ar",
    "han": "zh",
    "thai": "th",
    "devanagari": "hi",
}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-GB", "en"),
        ("pt_BR", "pt"),
        (" RU ", "ru"),
        ("rus", "ru"),
        ("ckb", "ckb"),
        ("be-tarask", "be"),
        ("", None),
        ("12", None),
        (None, None),
    ],
)
def test_stated_tags_become_primary_subtags(tag: str | None, expected: str | None) -> None:
    assert normalise_language(tag) == expected


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_each_script_is_detected(detector: LanguageDetector, script: str) -> None:
    for text in TEXTS[script][:3]:
        assert detector.detect(text) == EXPECTED[script], text


def test_detection_is_deterministic_and_needs_letters(detector: LanguageDetector) -> None:
    again = LanguageDetector()
    for group in TEXTS.values():
        for text in group:
            assert detector.detect(text) == again.detect(text)
    assert detector.detect("2022 — 11:30 ... 42%") is None
    assert detector.detect("") is None


def test_the_model_is_inside_the_package() -> None:
    # Loaded from the wheel's own data (tests block every non-loopback address).
    import py3langid.langid as langid

    model = Path(langid.__file__).parent / langid.MODEL_FILE
    assert model.is_file() and model.stat().st_size > 1_000_000


def _article(item: str, text: str, language: str) -> Article:
    return Article(
        id=item,
        url=f"mem://{item}",
        title="",
        text=text,
        published=dt.datetime(2022, 9, 1, tzinfo=dt.UTC),
        published_source="document",
        language=language,
    )


def test_fingerprint_keeps_a_stated_language_and_detects_the_rest() -> None:
    articles = [
        _article("stated", TEXTS["cyrillic"][0], "uk"),  # the source says so: it wins
        _article("detected-zh", TEXTS["han"][0], ""),
        _article("detected-th", TEXTS["thai"][0], ""),
        _article("no-letters", "2022 — 11:30, 42 % ... 17", ""),  # falls back to the default
    ]
    with test_pipeline.TestPipeline() as p:
        languages = (
            p
            | beam.Create(articles)
            | Fingerprint([], default_language="en")
            | beam.Map(lambda a: (a.id, a.language))
        )
        assert_that(
            languages,
            equal_to(
                [
                    ("stated", "uk"),
                    ("detected-zh", "zh"),
                    ("detected-th", "th"),
                    ("no-letters", "en"),
                ]
            ),
        )


@pytest.mark.parametrize(("stated", "recorded"), [("en-GB", "en"), ("RU", "ru"), (None, "")])
def test_extraction_keeps_the_stated_language_as_its_primary_subtag(
    stated: str | None, recorded: str
) -> None:
    from transforms.core.records import ArticleMeta, RawDocument
    from transforms.core.settings import ExtractionSettings
    from transforms.text.extraction import extract_article

    meta = ArticleMeta(
        published=dt.datetime(2022, 9, 1, tzinfo=dt.UTC), language=stated, origin="feed"
    )
    doc = RawDocument("a", "mem://a", TEXTS["latin"][0].encode(), "text/plain", meta)
    article = extract_article(doc, ExtractionSettings(), dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    assert article.language == recorded  # "": Fingerprint detects it
