"""Feeds through Beam: ``ReadFeeds`` accounting, real pages behind a feed, alerts end to end."""

import dataclasses
import datetime as dt
import gzip
import html
import json
import statistics
from collections.abc import Iterator, Sequence
from email.utils import format_datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.summary import counters_from_result, summarise
from tests.feed_server import FeedServer, Reply, gzip_reply
from tests.support import FIXTURES, REPO, SETTINGS, CachedModelHandler, make_job, run_job
from tests.transforms.text.test_extraction import token_f1
from transforms.core.records import RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.feed_entries import entry_document, read_feed
from transforms.sources.feed_types import FeedList, FeedSpec
from transforms.sources.fetch_types import FetchPolicy
from transforms.sources.http_fetch import HttpFetcher
from transforms.sources.read_feeds import ReadFeeds
from transforms.text.extraction import extract_article

#: Loopback is private: allowed here explicitly (the default refuses it).
POLICY = FetchPolicy(
    connect_timeout_seconds=2,
    read_timeout_seconds=2,
    total_timeout_seconds=10,
    retries=1,
    backoff_seconds=0.05,
    max_bytes=1_000_000,
    host_delay_seconds=0,
    allow_private_hosts=True,
)
PAGES = FIXTURES / "extraction"
TRUTH = {
    **json.loads((PAGES / "ground-truth.json").read_text()),
    **json.loads((PAGES / "ground-truth-sample.json").read_text()),
}
SUMMARY = (
    "Officials said the talks would continue next week in the capital, according to a statement."
)


def rss(items: Sequence[dict[str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 feed; each item's keys are RSS elements (title, link, pubDate, description…)."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{html.escape(v)}</{k}>" for k, v in item.items()) + "</item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title>{body}</channel></rss>"
    ).encode()


def date(text: str) -> str:
    return format_datetime(dt.datetime.fromisoformat(text).astimezone(dt.UTC), usegmt=True)


def page_bytes(key: str) -> bytes:
    return gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes())


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_read_feeds_accounts_for_every_feed_and_entry(server: FeedServer) -> None:
    keys = sorted(TRUTH)
    server.route("/pages/one.html", gzip_reply(page_bytes(keys[0])))
    server.route("/pages/two.html", gzip_reply(page_bytes(keys[1])))
    server.route("/pages/big.html", Reply(b"<p>" + b"x" * 2_000_000 + b"</p>"))
    when = date("2019-11-18T12:00:00+00:00")
    server.route(
        "/a.xml",
        Reply(
            rss(
                [
                    {"title": "One", "link": server.url("/pages/one.html"), "pubDate": when},
                    {"title": "Gone", "link": server.url("/pages/gone"), "description": SUMMARY},
                    {
                        "title": "Metadata",
                        "link": "http://169.254.169.254/latest/meta-data/",
                        "description": SUMMARY,
                    },
                    {"title": "A title and nothing else"},
                    {"title": "Gone, no text", "link": server.url("/pages/gone2")},
                    {"title": "Big", "link": server.url("/pages/big.html"), "description": SUMMARY},
                ]
            ),
            headers={"Content-Type": "application/rss+xml"},
        ),
    )
    # The same article as /a.xml's first entry, with a tracking parameter.
    server.route(
        "/b.xml",
        Reply(rss([{"title": "Same", "link": server.url("/pages/one.html?utm_source=b")}])),
    )
    server.route(
        "/flaky.xml",
        Reply(b"busy", 503),
        Reply(rss([{"title": "Two", "link": server.url("/pages/two.html"), "pubDate": when}])),
    )
    latin = rss(
        [{"title": "Lavrov’s visit — café", "link": server.url("/gone3"), "description": SUMMARY}]
    )
    server.route(
        "/latin.xml", Reply(latin, headers={"Content-Type": "text/xml; charset=iso-8859-1"})
    )
    server.route("/home.xml", Reply(b"<html><body><p>Welcome</p></body></html>"))
    server.route("/loop.xml", Reply(b"", 302, {"Location": "/loop2.xml"}))
    server.route("/loop2.xml", Reply(b"", 302, {"Location": "/loop.xml"}))
    server.route("/huge.xml", Reply(b"<rss>" + b" " * 2_000_000 + b"</rss>"))
    names = ("a", "b", "flaky", "latin", "home", "loop", "huge")
    feeds = FeedList(tuple(FeedSpec(server.url(f"/{n}.xml"), name=n) for n in names), POLICY)

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    outputs = pipeline | ReadFeeds(feeds, ExtractionSettings())
    docs = outputs["main"] | beam.Map(lambda d: (d.item_id.rsplit("/", 1)[-1], d.meta.text_from))
    letters = outputs["dead_letter"] | beam.Map(
        lambda d: (d.uri.rsplit("/", 1)[-1], d.stage, d.reason)
    )
    titles = outputs["main"] | "Titles" >> beam.Map(lambda d: d.meta.title)
    assert_that(
        docs,
        equal_to(
            [
                ("one.html", "page"),
                ("two.html", "page"),
                ("gone", "entry"),
                ("", "entry"),  # the metadata service link: never fetched
                ("big.html", "entry"),
                ("gone3", "entry"),
            ]
        ),
        label="documents",
    )
    assert_that(
        letters,
        equal_to(
            [
                ("a.xml#entry-3", "feed", "no_link_or_text"),
                ("gone2", "fetch", "http_404"),
                ("home.xml", "feed", "not_a_feed"),
                ("loop.xml", "feed", "redirect_loop"),
                ("huge.xml", "feed", "too_large"),
            ]
        ),
        label="dead letters",
    )
    assert_that(
        titles,
        equal_to(["One", "Two", "Gone", "Metadata", "Big", "Lavrov’s visit — café"]),
        label="titles decoded despite the wrong declared charset",
    )
    result = pipeline.run()
    result.wait_until_finish()

    counters = counters_from_result(result)
    assert counters["feeds_read"] == 4 and counters["feeds_dead_lettered"] == 3
    assert counters["feed_entries"] == 9
    assert counters["feed_entries_articles"] == 6 and counters["feed_entries_fallback"] == 4
    assert counters["feed_entries_duplicates"] == 1
    assert counters["feed_entries_dead_lettered"] == 2
    assert counters["feed_entries_fallback.unsafe_url"] == 1
    assert counters["dead_letters.fetch.http_404"] == 1
    assert server.hits("/pages/one.html") == 1  # the duplicate was not fetched again
    assert server.hits("/flaky.xml") == 2  # 503, then the retry
    lines = summarise(counters, []).lines()
    assert "feeds:             7  (4 read, 3 dead-lettered)" in lines
    assert "  duplicates:      1" in lines


def test_real_news_pages_behind_a_feed_are_extracted_like_the_ground_truth(
    server: FeedServer,
) -> None:
    keys = sorted(TRUTH)
    items = []
    for number, key in enumerate(keys):
        server.route(f"/news/{number}.html", gzip_reply(page_bytes(key)))
        items.append({"title": f"Story {number}", "link": server.url(f"/news/{number}.html")})
    server.route(
        "/news.xml", Reply(rss(items, "News"), headers={"Content-Type": "application/rss+xml"})
    )
    settings = ExtractionSettings()
    scores: dict[str, float] = {}
    with HttpFetcher(POLICY) as fetcher:
        read = read_feed(fetcher, FeedSpec(server.url("/news.xml")))
        assert read.feed is not None
        for entry, key in zip(read.feed.entries, keys, strict=True):
            outcome = entry_document(entry, fetcher, settings)
            assert isinstance(outcome.item, RawDocument) and outcome.fallback is None
            article = extract_article(outcome.item, settings)
            scores[key] = token_f1(article.text, TRUTH[key]["articleBody"])
            assert article.published_source == "fetch"  # the feed gave no dates
    mean = statistics.mean(scores.values())
    print("\ntoken F1 of extracted text vs ground truth, pages served behind a feed:")
    for key, score in scores.items():
        print(f"  {key[:12]}  {score:.3f}")
    print(f"  mean {mean:.3f}  (minimum pinned: mean {MIN_MEAN_F1}, each page {MIN_PAGE_F1})")
    # Pinned; lowering them is a decision made here, not a silent regression.
    assert mean >= MIN_MEAN_F1
    assert min(scores.values()) >= MIN_PAGE_F1
    assert sum(score >= 0.95 for score in scores.values()) >= 9


MIN_MEAN_F1 = 0.92
#: One page of the sample (b3c19dd5f061, a Brazilian blog) extracts badly
#: with trafilatura whatever the source (0.338 read straight from the file).
MIN_PAGE_F1 = 0.33


TREATY = "russia-iran-strategic-treaty"
SEED = "003_a65937787e1f3de3.txt"


def later_page(title: str, body: str, published: str) -> bytes:
    """A news page (HTML) with the given headline, date and paragraphs."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p.strip())
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title>"
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><nav><a href='/'>Home</a> | <a href='/world'>World</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{paragraphs}</article>"
        f"<footer>© Example News</footer></body></html>"
    ).encode()


def test_a_feed_entry_on_a_later_development_alerts_on_the_thread(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler, server: FeedServer
) -> None:
    # The later page is one seed's own text (the October 2024 Ashgabat meeting),
    # served as a January 2025 article: by then that story has closed, so the
    # page opens a new story, and it is on the watched Russia–Iran thread.
    settings = ExtractionSettings()
    seed_doc = RawDocument(SEED, "file:///seed", (seeds_dir / SEED).read_bytes(), "text/plain")
    seed = extract_article(dataclasses.replace(seed_doc, mtime=0.0), settings)
    unrelated = json.loads((FIXTURES / "ecbplus" / "unrelated_1_11ecb.json").read_text())
    treaty_title = "Putin and Pezeshkian sign Russia–Iran strategic partnership treaty"
    server.route(
        "/world/treaty.html",
        gzip_reply(later_page(treaty_title, seed.text, "2025-01-17T12:00:00Z")),
    )
    server.route(
        "/people/rehab.html",
        gzip_reply(later_page(unrelated["title"], unrelated["text"], "2025-01-18T09:00:00Z")),
    )
    items = [
        {
            "title": treaty_title,
            "link": server.url("/world/treaty.html?utm_source=rss"),
            "pubDate": date("2025-01-17T12:00:00+00:00"),
            "guid": "treaty-2025",
        },
        {
            "title": unrelated["title"],
            "link": server.url("/people/rehab.html"),
            "pubDate": date("2025-01-18T09:00:00+00:00"),
        },
    ]
    server.route("/feed.xml", Reply(rss(items, "Example News")))
    feeds = FeedList((FeedSpec(server.url("/feed.xml")),), POLICY)
    job = dataclasses.replace(make_job(tmp_path, seeds_dir), feeds=feeds)

    result = run_job(job, model_handler)

    treaty_url = server.url("/world/treaty.html")
    rehab_url = server.url("/people/rehab.html")
    alerts = {a["article"]["id"]: a for a in result.outputs["alerts"]}
    assert list(alerts) == ["002_dc85ee8fd00bc9d9.txt", "000_46b6a571614f8e47.txt", treaty_url]
    feed_alert = alerts[treaty_url]
    assert feed_alert["thread"]["id"] == TREATY
    assert feed_alert["article"]["url"] == treaty_url  # canonical: no utm_source
    assert feed_alert["article"]["published"] == "2025-01-17T12:00:00Z"
    assert feed_alert["article"]["published_source"] == "feed"
    assert feed_alert["article"]["text_from"] == "page"
    assert feed_alert["article"]["source"] == "Example News"
    (rehab,) = [a for a in result.outputs["assignments"] if a["article"]["id"] == rehab_url]
    assert rehab["action"] == "opened" and rehab["thread_id"] != TREATY
    assert rehab["article"]["text_from"] == "page"
    seed_assignments = [
        a for a in result.outputs["assignments"] if "://127." not in a["article"]["id"]
    ]
    assert len(seed_assignments) == 5
    assert all(a["article"]["text_from"] is None for a in seed_assignments)
    c = result.counters
    assert c["items_read"] == 7 == c["articles_clustered"]
    assert (c["feeds_read"], c["feed_entries"], c["feed_entries_articles"]) == (1, 2, 2)
    lines = summarise(c, result.outputs["alerts"]).lines()
    assert "alerts:            3" in lines and "  to extraction:   2" in lines


def test_feed_options_reach_the_job(tmp_path: Path) -> None:
    from pipeline.graph import Job

    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
    flags = ["--feeds", str(path), "--source", "", "--settings", SETTINGS]
    flags += ["--threads", str(REPO / "config" / "threads.yaml")]
    job = Job.from_options(PipelineOptions(flags))
    assert job.feeds is not None and not job.feeds.http.allow_private_hosts
    job = Job.from_options(PipelineOptions([*flags, "--allow_private_hosts"]))
    assert job.feeds is not None and job.feeds.http.allow_private_hosts


def test_streaming_feeds_without_a_subscription_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
    flags = ["run", "--streaming", "--feeds", str(path), "--source", "", "--settings", SETTINGS]
    flags += ["--output", str(tmp_path / "out")]

    assert main(flags) == 2
    error = capsys.readouterr().err
    assert "--streaming with --feeds needs --input_subscription" in error
    assert "threadwatch poll-feeds" in error and "without --streaming" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text_from", ["page", "entry", None])
def test_text_from_survives_embedding_and_the_coder(text_from: str | None) -> None:
    import numpy as np

    from transforms.core.coders import EmbeddedArticleCoder
    from transforms.core.records import Article, Features
    from transforms.embedding.handler import to_embedded

    article = Article(
        id="a",
        url="http://example.com/a",
        title="T",
        text="x",
        published=dt.datetime(2025, 1, 17, tzinfo=dt.UTC),
        published_source="feed",
        features=Features("h", (1, 2), (("iran", 2),)),
        text_from=text_from,
    )
    embedded = to_embedded(article, np.ones(4, dtype=np.float32))
    coder = EmbeddedArticleCoder()
    decoded = coder.decode(coder.encode(embedded))
    assert decoded.text_from == text_from
    assert decoded.ref()["text_from"] == text_from
    assert decoded.ref() == embedded.ref()
