"""Files of an article folder become items or dead letters, never nothing."""

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.summary import counters_from_result
from transforms.core.errors import ConfigError, ReadError
from transforms.core.records import DeadLetter, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.folder import (
    is_article_file,
    json_item,
    list_folder,
    parse_manifest,
    read_bounded,
    read_folder_file,
    resolve_inside,
    split_file,
)
from transforms.sources.read_folder import ReadFolder, load_folder_manifest
from transforms.text.extraction import extract_article


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


@pytest.mark.parametrize(
    ("fields", "language"),
    [
        ({"language": "ru"}, "ru"),
        ({"lang": "zh-Hans"}, "zh-Hans"),  # the other spelling (normalised at extraction)
        ({"language": "ar", "lang": "fa"}, "ar"),  # 'language' first
        ({}, None),  # none stated: Fingerprint detects it
    ],
)
def test_json_objects_state_their_language_as_language_or_lang(
    fields: dict[str, str], language: str | None
) -> None:
    item = json_item({"text": "Текст", **fields}, "a.json", "file:///a.json", None)
    assert isinstance(item, RawDocument) and item.meta.language == language


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


# ---------------------------------------------------------------- hostile folders

BRIEF = b"Storm closes schools across the northern region as snow falls for a third day\n"
SECRET = b"secret outside the folder: the reader must never return this text\n"


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails the test after 10 s instead of letting a blocked read hang the suite."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the read blocked: a hostile entry hung the reader")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def hostile_folder(tmp_path: Path) -> Path:
    """One of each kind of entry a folder must not be trusted with, beside good files."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_bytes(BRIEF)
    (folder / "big.txt").write_bytes(b"word " * 300)
    (folder / "zero.txt").symlink_to("/dev/zero")  # endless, and outside
    os.mkfifo(folder / "pipe.txt")  # no writer: a blocking open waits for ever
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "up.txt").symlink_to(Path("..") / "outside" / "secret.txt")  # relative, still out
    (folder / "alias.txt").symlink_to("good.txt")  # inside: read like the file itself
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.txt").write_bytes(BRIEF)
    (folder / "into_sub.txt").symlink_to(folder / "sub" / "nested.txt")  # inside too
    (folder / "pipe_link.txt").symlink_to("pipe.txt")  # inside, but to a pipe
    (folder / "dangling.txt").symlink_to(folder / "missing.txt")
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / ".hidden").symlink_to("/dev/zero")  # not an item, never looked at
    return folder


#: What each entry of ``hostile_folder`` is, read with a 1,000-byte cap.
HOSTILE_REASONS = {
    "big.txt": "too_large",
    "dangling.txt": "unreadable",
    "loop.txt": "unreadable",
    "pipe.txt": "not_a_regular_file",
    "pipe_link.txt": "not_a_regular_file",
    "secret.txt": "outside_folder",
    "sub": "not_a_regular_file",
    "up.txt": "outside_folder",
    "zero.txt": "outside_folder",
}
HOSTILE_READ = {"alias.txt", "good.txt", "into_sub.txt"}


def outcome(folder: Path, name: str, max_bytes: int = 1000) -> bytes | str:
    try:
        return read_folder_file(folder, name, max_bytes).data
    except ReadError as exc:
        return exc.reason


def test_every_entry_is_listed_but_hidden_ones_and_the_manifest(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path)
    (folder / "manifest.yaml").write_text("articles: {}\n")
    assert list_folder(folder) == sorted(HOSTILE_REASONS.keys() | HOSTILE_READ)


def test_only_regular_files_inside_the_folder_are_read(tmp_path: Path, deadline: None) -> None:
    folder = hostile_folder(tmp_path)
    started = time.monotonic()
    results = {name: outcome(folder, name) for name in list_folder(folder)}
    assert time.monotonic() - started < 2.0  # no endless read, no wait on the pipe
    assert {n: r for n, r in results.items() if isinstance(r, str)} == HOSTILE_REASONS
    assert {n: r for n, r in results.items() if isinstance(r, bytes)} == {
        "alias.txt": BRIEF,
        "good.txt": BRIEF,
        "into_sub.txt": BRIEF,
    }


def test_a_link_out_of_the_folder_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path)
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    with pytest.raises(ReadError, match="outside the folder") as info:
        read_folder_file(folder, "passwd.txt", 1_000_000)
    assert info.value.reason == "outside_folder"
    assert resolve_inside(folder, "alias.txt") == str((folder / "good.txt").resolve())


def test_a_device_is_not_read_even_inside_its_folder(deadline: None) -> None:
    # /dev is the one folder every machine has with a device in it.
    with pytest.raises(ReadError, match="character device") as info:
        read_folder_file("/dev", "zero", 1000)
    assert info.value.reason == "not_a_regular_file"


def test_the_cap_is_the_read_not_the_reported_size(tmp_path: Path) -> None:
    (tmp_path / "exact.txt").write_bytes(b"x" * 1000)
    assert len(read_folder_file(tmp_path, "exact.txt", 1000).data) == 1000
    taken: list[int] = []
    with open("/dev/zero", "rb", buffering=0) as endless:  # reports size 0, never ends

        def read(n: int) -> bytes:
            chunk = endless.read(n)
            taken.append(len(chunk))
            return chunk

        assert read_bounded(read, 1000) is None
    assert sum(taken) == 1001  # one byte past the cap, then stop
    chunks = iter([b"abc", b"de", b""])
    assert read_bounded(lambda n: next(chunks), 5) == b"abcde"


def test_the_manifest_is_read_by_the_same_rules(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "manifest.yaml").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="outside_folder"):
        load_folder_manifest(str(folder))
    (folder / "manifest.yaml").unlink()
    os.mkfifo(folder / "manifest.yaml")
    with pytest.raises(ConfigError, match="not_a_regular_file"):
        load_folder_manifest(str(folder))


def test_read_seed_folder_gives_every_hostile_entry_a_dead_letter(
    tmp_path: Path, deadline: None
) -> None:
    folder = hostile_folder(tmp_path)
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    outputs = pipeline | ReadFolder(str(folder), max_bytes=1000)
    docs = outputs["main"] | beam.Map(lambda d: (d.item_id, d.content))
    letters = outputs["dead_letter"] | beam.Map(lambda d: (d.item, d.stage, d.reason))
    assert_that(docs, equal_to([(n, BRIEF) for n in HOSTILE_READ]), label="documents")
    assert_that(
        letters,
        equal_to([(n, "read", r) for n, r in HOSTILE_REASONS.items()]),
        label="dead letters",
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = counters_from_result(result)
    assert counters["dead_letters"] == len(HOSTILE_REASONS)
    assert counters["dead_letters.read.outside_folder"] == 3
    assert counters["dead_letters.read.not_a_regular_file"] == 3
