"""Polling feeds for streaming: conditional GET, entries published once, restarts, Pub/Sub."""

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main, start
from pipeline.feed_poller import FeedPoller, article_message
from tests.feed_server import FeedServer, Reply, Request
from tests.pubsub_emulator import PROJECT
from tests.support import REPO, SETTINGS, THREADS, CachedModelHandler
from transforms.feeds import FeedList, FeedSpec
from transforms.folder import json_item
from transforms.http_fetch import FetchPolicy
from transforms.records import ArticleMeta, RawDocument
from transforms.settings import ExtractionSettings

POLICY = FetchPolicy(retries=0, host_delay_seconds=0, allow_private_hosts=True)
BODY = " ".join(["Negotiators from both countries met again on Thursday to settle the text."] * 4)


class Site:
    """A feed whose content and ETag change when the test says so; pages for each entry."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.entries = ["e1", "e2"]
        self.version = "v1"
        self.honour_etag = True
        server.handle("/feed.xml", self.feed)
        for name in ("e1", "e2", "e3"):
            page = f"<html><body><article><h1>{name}</h1><p>{BODY}</p></article></body></html>"
            server.route(
                f"/p/{name}.html", Reply(page.encode(), headers={"Content-Type": "text/html"})
            )

    def feed(self, request: Request) -> Reply:
        etag = f'"{self.version}"'
        if self.honour_etag and request.headers.get("if-none-match") == etag:
            return Reply(b"", 304, {"ETag": etag})
        items = "".join(
            f"<item><title>Entry {n}</title><link>{self.server.url(f'/p/{n}.html')}</link>"
            f"<pubDate>Fri, 17 Jan 2025 1{i}:00:00 GMT</pubDate></item>"
            for i, n in enumerate(self.entries)
        )
        body = f'<rss version="2.0"><channel><title>Site</title>{items}</channel></rss>'
        return Reply(body.encode(), 200, {"ETag": etag, "Content-Type": "application/rss+xml"})


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2025, 1, 17, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def poller(
    server: FeedServer, sent: list[dict[str, str]], state: Path, clock: Clock, memory: int = 100
) -> FeedPoller:
    feeds = FeedList((FeedSpec(server.url("/feed.xml"), poll_seconds=60),), POLICY)
    return FeedPoller(
        feeds,
        ExtractionSettings(),
        lambda data: sent.append(json.loads(data)),
        state,
        memory=memory,
        log=lambda _: None,
        now=clock,
    )


def test_new_entries_are_published_once_across_polls_and_restarts(
    server: FeedServer, tmp_path: Path
) -> None:
    site, clock = Site(server), Clock()
    sent: list[dict[str, str]] = []
    state = tmp_path / "poll.json"
    first = poller(server, sent, state, clock)

    report = first.poll()
    assert (report.published, report.entries) == (2, 2)
    assert [m["id"] for m in sent] == [server.url("/p/e1.html"), server.url("/p/e2.html")]
    assert sent[0]["published"] == "2025-01-17T10:00:00+00:00"
    assert sent[0]["published_source"] == "feed" and sent[0]["text_from"] == "page"
    assert first.poll().feeds_polled == 0  # not due for another 60 s

    clock.advance(60)
    report = first.poll()  # unchanged: the server answers 304 to the ETag
    assert (report.not_modified, report.published) == (1, 0)
    assert server.requests[-1].headers["if-none-match"] == '"v1"'

    site.entries, site.version = ["e3", "e1", "e2"], "v2"
    clock.advance(60)
    report = first.poll()
    assert (report.published, report.already_seen) == (1, 2)
    assert sent[-1]["id"] == server.url("/p/e3.html")

    # A restarted poller reads its state: the ETag (304 again) and what it published.
    site.honour_etag = False  # a server that ignores validators: the seen ids still hold
    clock.advance(60)
    report = poller(server, sent, state, clock).poll()
    assert (report.published, report.already_seen) == (0, 3)
    assert len(sent) == 3


def test_memory_of_published_entries_is_bounded(server: FeedServer, tmp_path: Path) -> None:
    site, clock = Site(server), Clock()
    sent: list[dict[str, str]] = []
    site.entries = ["e1", "e2", "e3"]
    bounded = poller(server, sent, tmp_path / "poll.json", clock, memory=2)
    bounded.poll()
    assert bounded.seen == [server.url("/p/e2.html"), server.url("/p/e3.html")]


def test_an_entry_whose_publish_failed_is_sent_at_the_next_poll(
    server: FeedServer, tmp_path: Path
) -> None:
    Site(server)
    clock, sent, failures = Clock(), [], [1]

    def flaky(data: bytes) -> None:
        if failures:
            failures.pop()
            raise ConnectionError("Pub/Sub unavailable")
        sent.append(json.loads(data))

    feeds = FeedList((FeedSpec(server.url("/feed.xml"), poll_seconds=60),), POLICY)
    flaky_poller = FeedPoller(
        feeds, ExtractionSettings(), flaky, tmp_path / "s.json", log=lambda _: None, now=clock
    )
    with pytest.raises(ConnectionError):
        flaky_poller.poll()
    clock.advance(60)
    server.handle("/feed.xml", Site(server).feed)  # forget the ETag's 304: same entries
    flaky_poller = FeedPoller(
        feeds, ExtractionSettings(), flaky, tmp_path / "s.json", log=lambda _: None, now=clock
    )
    flaky_poller.poll()
    assert [m["id"] for m in sent] == [server.url("/p/e1.html"), server.url("/p/e2.html")]


def test_poll_feeds_publishes_article_messages_to_pubsub(
    pubsub: str, server: FeedServer, tmp_path: Path
) -> None:
    import google.cloud.pubsub_v1 as pubsub_v1

    Site(server)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, "feed-articles")
    subscription = subscriber.subscription_path(PROJECT, "feed-articles-job")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"http: {{host_delay_seconds: 0}}\nfeeds:\n  - {server.url('/feed.xml')}\n")
    args = ["poll-feeds", "--feeds", str(feeds), "--topic", topic, "--once"]
    args += ["--state", str(tmp_path / "poll.json"), "--allow_private_hosts"]

    assert main(args) == 0
    assert main(args) == 0  # the second poll gets a 304 and publishes nothing

    received: list[dict[str, str]] = []
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    while len(received) < 2 and dt.datetime.now(dt.UTC) < deadline:
        response = subscriber.pull(subscription=subscription, max_messages=10, timeout=10)
        for message in response.received_messages:
            received.append(json.loads(message.message.data))
        if response.received_messages:
            subscriber.acknowledge(
                subscription=subscription,
                ack_ids=[m.ack_id for m in response.received_messages],
            )
    response = subscriber.pull(subscription=subscription, max_messages=10, timeout=3)
    assert response.received_messages == []  # nothing else was published
    assert sorted(m["id"] for m in received) == [
        server.url("/p/e1.html"),
        server.url("/p/e2.html"),
    ]
    # What the streaming job's ReadArticleMessages makes of a message: an HTML document.
    item = json_item(received[0], "message", "pubsub://x", None)
    assert isinstance(item, RawDocument) and item.media_type == "text/html"
    # The feed's flags cross Pub/Sub: dated by the feed, text from the page.
    assert (item.meta.origin, item.meta.text_from) == ("feed", "page")
    assert item.meta.published == dt.datetime(
        2025, 1, 17, 10 + int(item.item_id[-6]) - 1, 0, tzinfo=dt.UTC
    )
    assert server.hits("/feed.xml") == 2 and server.requests[-1].headers.get("if-none-match")


def test_streaming_run_reads_feeds_once_then_keeps_reading_pubsub(
    pubsub: str, server: FeedServer, tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    """`threadwatch run --streaming --feeds F --input_subscription S`, started and cancelled.

    The feed (one entry, its page a seed's July 2022 text) is read at start and
    alerts on the watched thread; the job keeps running, and a feed article
    published later as a message (as poll-feeds sends it, its page unusable so
    the entry's text stood in) alerts too, with its flags kept across Pub/Sub.
    """
    import google.cloud.pubsub_v1 as pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, "stream-feed-articles")
    subscription = subscriber.subscription_path(PROJECT, "stream-feed-articles-job")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)
    seeds = REPO / "seeds"
    page_text = (seeds / "002_dc85ee8fd00bc9d9.txt").read_bytes()
    server.route("/p/visit.txt", Reply(page_text, headers={"Content-Type": "text/plain"}))
    item = f"<item><link>{server.url('/p/visit.txt')}</link>"
    item += "<pubDate>Tue, 12 Jul 2022 00:00:00 GMT</pubDate></item>"
    feed = f'<rss version="2.0"><channel><title>Site</title>{item}</channel></rss>'
    server.route("/feed.xml", Reply(feed.encode(), headers={"Content-Type": "application/rss+xml"}))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"http: {{host_delay_seconds: 0}}\nfeeds:\n  - {server.url('/feed.xml')}\n")
    output = tmp_path / "out"
    flags = ["--streaming", "--source", "", "--feeds", str(feeds), "--allow_private_hosts"]
    flags += ["--input_subscription", subscription, "--output", str(output)]
    flags += ["--threads", THREADS, "--settings", SETTINGS, "--pane_seconds", "1"]

    def alerts(count: int) -> list[dict[str, Any]]:
        written: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(written) < count:
            time.sleep(0.5)
            files = sorted((output / "alerts").glob("*.jsonl"))
            written = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        return sorted(written, key=lambda a: a["event_time"])

    # The local runner's Pub/Sub reader has one worker thread and pulls with
    # a 30 s deadline: its watermark (wall clock) moves, and a cancel returns,
    # only when a pull does. An empty message a second (a dead letter) keeps
    # pulls short, as traffic does on a real topic.
    ticking = threading.Event()

    def tick() -> None:
        while not ticking.wait(1.0):
            publisher.publish(topic, b"{}").result(timeout=30)

    ticker = threading.Thread(target=tick, daemon=True)
    job, result = start(flags, handler=model_handler)
    ticker.start()
    try:
        assert job.streaming and job.feeds is not None
        from_feed = alerts(1)
        assert [a["article"]["id"] for a in from_feed] == [server.url("/p/visit.txt")]
        # Still running: a feed article arriving now as a message is processed too.
        later = RawDocument(
            "https://example.com/ashgabat",
            "https://example.com/ashgabat",
            (seeds / "000_46b6a571614f8e47.txt").read_bytes(),
            "text/plain",
            ArticleMeta(
                source="Semafor",
                published=dt.datetime(2024, 10, 10, 19, 36, tzinfo=dt.UTC),
                origin="feed",
                text_from="entry",
            ),
        )
        publisher.publish(topic, json.dumps(article_message(later)).encode()).result(timeout=30)
        both = alerts(2)
    finally:
        result.cancel()
        ticking.set()
        ticker.join(timeout=30)
    assert [a["article"]["id"] for a in both] == [server.url("/p/visit.txt"), later.item_id]
    flags_kept = [(a["article"]["published_source"], a["article"]["text_from"]) for a in both]
    assert flags_kept == [("feed", "page"), ("feed", "entry")]
    assert server.hits("/feed.xml") == 1  # read once at start, not polled
