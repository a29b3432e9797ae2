"""Files of an article folder become items or dead letters, never nothing."""

import json

import pytest

from transforms.errors import ConfigError
from transforms.extraction import extract_article
from transforms.folder import is_article_file, json_item, parse_manifest, split_file
from transforms.records import DeadLetter, RawDocument
from transforms.settings import ExtractionSettings


def items(name: str, data: bytes | None) -> list[RawDocument | DeadLetter]:
    return list(split_file(name, f"file:///f/{name}", data, 1.0, None))


def test_manifest_gives_typed_metadata() -> None:
    manifest = parse_manifest(
        "articles:\n  a.txt:\n    published: 2024-10-10T15:36:00-04:00\n    title: T\n", "m.yaml"
    )
    assert manifest["a.txt"].title == "T"
    assert manifest["a.txt"].published is not None
    assert manifest["a.txt"].published.utcoffset().total_seconds() == -4 * 3600  # type: ignore[union-attr]
    assert manifest["a.txt"].origin == "manifest"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("articles:\n  a.txt:\n    publised: 2024-01-01\n", "articles.a.txt.publised"),
        ("articles:\n  a.txt:\n    published: someday\n", "articles.a.txt.published"),
        ("files: {}\n", "files"),
    ],
)
def test_manifest_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_manifest(text, "seeds/manifest.yaml")
    assert info.value.key == key


def test_text_markdown_html_files_are_one_item_each() -> None:
    kinds = [(n, items(n, b"x")[0]) for n in ("a.txt", "b.md", "c.html", "d.HTM")]
    assert [(n, i.media_type) for n, i in kinds if isinstance(i, RawDocument)] == [
        ("a.txt", "text/plain"),
        ("b.md", "text/markdown"),
        ("c.html", "text/html"),
        ("d.HTM", "text/html"),
    ]


def test_jsonl_gives_one_item_per_object_and_a_dead_letter_per_bad_line() -> None:
    lines = [
        json.dumps({"id": "x1", "text": "body", "published": "2024-01-01"}),
        "{not json",
        json.dumps({"title": "no text"}),
        "",
        json.dumps({"html": "<p>hi</p>", "url": "https://example.com/a"}),
    ]
    result = items("feed.jsonl", "\n".join(lines).encode())
    assert [
        (type(i).__name__, getattr(i, "item_id", getattr(i, "item", None))) for i in result
    ] == [
        ("RawDocument", "x1"),
        ("DeadLetter", "feed.jsonl#2"),
        ("DeadLetter", "feed.jsonl#3"),
        ("RawDocument", "feed.jsonl#5"),
    ]
    assert [i.reason for i in result if isinstance(i, DeadLetter)] == ["invalid_json", "no_text"]
    first = result[0]
    assert isinstance(first, RawDocument) and first.meta.origin == "document"


def test_json_file_may_hold_a_list_of_articles() -> None:
    data = json.dumps({"articles": [{"text": "a"}, {"text": "b"}]}).encode()
    assert [i.item_id for i in items("batch.json", data) if isinstance(i, RawDocument)] == [
        "batch.json#1",
        "batch.json#2",
    ]


def test_unsupported_and_oversized_files_are_dead_letters() -> None:
    (pdf,) = items("report.pdf", b"%PDF-1.4")
    (big,) = items("big.txt", None)
    assert isinstance(pdf, DeadLetter) and pdf.reason == "unsupported_type"
    assert isinstance(big, DeadLetter) and big.reason == "too_large"


def test_manifest_and_hidden_files_are_not_articles() -> None:
    assert not is_article_file("manifest.yaml")
    assert not is_article_file(".DS_Store")
    assert is_article_file("000_x.txt")


FEED_BODY = " ".join(["Negotiators from both countries met again on Thursday."] * 4)


@pytest.mark.parametrize(
    ("flags", "origin", "text_from"),
    [
        # What poll-feeds sends: the feed's flags are kept.
        ({"published_source": "feed", "text_from": "page"}, "feed", "page"),
        ({"published_source": "fetch", "text_from": "entry"}, "fetch", "entry"),
        # A plain JSON object, as before: its date is the document's.
        ({}, "document", None),
        # Values a JSON object cannot claim are ignored, like unknown fields.
        ({"published_source": "manifest", "text_from": "cache"}, "document", None),
        ({"published_source": ["feed"], "text_from": 1}, "document", None),
    ],
)
def test_json_item_keeps_a_feed_articles_flags(
    flags: dict[str, object], origin: str, text_from: str | None
) -> None:
    obj = {"id": "e1", "text": FEED_BODY, "published": "2025-01-17T10:00:00+00:00", **flags}
    item = json_item(obj, "message", "pubsub://s#1", None)
    assert isinstance(item, RawDocument)
    assert (item.meta.origin, item.meta.text_from) == (origin, text_from)
    article = extract_article(item, ExtractionSettings())
    assert (article.published_source, article.text_from) == (origin, text_from)
