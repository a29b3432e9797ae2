"""Polling feeds for streaming: conditional GET, entries published once, restarts, Pub/Sub."""

import datetime as dt
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import ServiceUnavailable

from pipeline.cli import main
from pipeline.cli.run import start
from pipeline.edge.poll_feeds import FeedPoller, article_message
from pipeline.edge.publish_retry import Backoff
from tests.feed_server import FeedServer, Reply, Request
from tests.pubsub_channel import Channel, threadwatch_process
from tests.pubsub_emulator import PROJECT
from tests.support import REPO, SETTINGS, THREADS, CachedModelHandler
from transforms.core.records import ArticleMeta, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.feed_types import FeedList, FeedSpec
from transforms.sources.fetch_types import FetchPolicy
from transforms.sources.folder import json_item

POLICY = FetchPolicy(retries=0, host_delay_seconds=0, allow_private_hosts=True)
BODY = " ".join(["Negotiators from both countries met again on Thursday to settle the text."] * 4)


class Site:
    """A feed whose content and ETag change when the test says so; pages for each entry."""

    def __init__(self, server: FeedServer, pages: tuple[str, ...] = ("e1", "e2", "e3")) -> None:
        self.server = server
        self.entries = ["e1", "e2"]
        self.version = "v1"
        self.honour_etag = True
        server.handle("/feed.xml", self.feed)
        for name in pages:
            server.route(f"/p/{name}.html", self.page(name))

    @staticmethod
    def page(name: str, delay: float = 0.0) -> Reply:
        page = f"<html><body><article><h1>{name}</h1><p>{BODY}</p></article></body></html>"
        return Reply(page.encode(), headers={"Content-Type": "text/html"}, delay=delay)

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


def test_a_failed_publish_defers_the_other_feeds_which_stay_due(
    server: FeedServer, tmp_path: Path
) -> None:
    Site(server)
    server.route("/other.xml", Reply(b'<rss version="2.0"><channel></channel></rss>'))
    clock, sent, calls = Clock(), list[bytes](), [0]

    def down_once(data: bytes) -> None:  # Pub/Sub down for the first pass's two attempts
        calls[0] += 1
        if calls[0] <= 2:
            raise ConnectionError("Pub/Sub unavailable")
        sent.append(data)

    specs = tuple(FeedSpec(server.url(p), poll_seconds=60) for p in ("/feed.xml", "/other.xml"))
    failing = FeedPoller(
        FeedList(specs, POLICY),
        ExtractionSettings(),
        down_once,
        tmp_path / "s.json",
        log=lambda _: None,
        now=clock,
        backoff=Backoff(attempts=2),
        sleep=lambda _: None,
    )
    report = failing.poll()  # does not raise: the process keeps running
    assert (report.feeds_polled, report.feeds_deferred, report.published) == (1, 1, 0)
    assert (report.entries, report.not_published) == (2, 2)
    assert len(report.publish_failures) == 1 and server.hits("/other.xml") == 0
    # The deferred feed is still due at once; the failed one waits its interval.
    report = failing.poll()
    assert (report.feeds_polled, server.hits("/other.xml"), server.hits("/feed.xml")) == (1, 1, 1)
    clock.advance(60)
    report = failing.poll()
    assert (report.published, len(sent)) == (2, 2)
    feed_requests = [r for r in server.requests if r.path == "/feed.xml"]
    assert len(feed_requests) == 2  # validators were not advanced: fetched in full again
    assert "if-none-match" not in feed_requests[-1].headers
    clock.advance(60)
    assert failing.poll().not_modified == 1  # now they are: the feed answers 304


@pytest.fixture
def channel(pubsub: str, request: pytest.FixtureRequest) -> Channel:
    return Channel(request.node.name)


def saved(state: Path) -> tuple[str | None, list[str]]:
    """The feed's ETag and the entries remembered, as the state file has them now."""
    if not state.exists():
        return None, []
    loaded = json.loads(state.read_text())
    (feed,) = loaded["feeds"].values()
    return feed["etag"], loaded["seen"]


def test_publishes_that_fail_at_first_are_retried_and_each_entry_arrives_once(
    channel: Channel, server: FeedServer, tmp_path: Path
) -> None:
    site, state, calls = Site(server), tmp_path / "poll.json", list[str | None]()
    site.entries = ["e1", "e2", "e3"]

    def fails_three_times(data: bytes) -> None:  # the real publish, after three failures
        calls.append(saved(state)[0])  # the ETag the state file holds at each attempt
        if len(calls) <= 3:
            raise ServiceUnavailable("Pub/Sub unavailable")
        channel.send(data)

    slept: list[float] = []
    feeds = FeedList((FeedSpec(server.url("/feed.xml"), poll_seconds=60),), POLICY)
    backoff = Backoff(attempts=5, first_seconds=0.5, multiplier=2, max_seconds=1)
    report = FeedPoller(
        feeds,
        ExtractionSettings(),
        fails_three_times,
        state,
        log=lambda _: None,
        backoff=backoff,
        sleep=slept.append,
    ).poll()

    assert (report.published, report.publish_failures) == (3, [])
    assert slept == [0.5, 1, 1]  # doubling, capped; then e1's fourth attempt went through
    assert calls == [None] * 6  # the ETag was not saved while entries were unpublished
    assert saved(state)[0] == '"v1"'
    ids = [server.url(f"/p/{n}.html") for n in site.entries]
    assert channel.received(3) == dict.fromkeys(ids, 1)


def test_publishes_failing_past_their_retries_leave_the_etag_and_go_at_the_next_poll(
    channel: Channel, server: FeedServer, tmp_path: Path
) -> None:
    site, state, clock, calls, logged = (
        Site(server),
        tmp_path / "poll.json",
        Clock(),
        [0],
        list[str](),
    )
    site.entries = ["e1", "e2", "e3"]
    ids = [server.url(f"/p/{n}.html") for n in site.entries]

    def down_for_a_while(data: bytes) -> None:  # publishes 2, 3 and 4 fail
        calls[0] += 1
        if calls[0] in (2, 3, 4):
            raise ServiceUnavailable("Pub/Sub unavailable")
        channel.send(data)

    def make() -> FeedPoller:
        feeds = FeedList((FeedSpec(server.url("/feed.xml"), poll_seconds=60),), POLICY)
        return FeedPoller(
            feeds,
            ExtractionSettings(),
            down_for_a_while,
            state,
            log=logged.append,
            now=clock,
            backoff=Backoff(attempts=2),
            sleep=lambda _: None,
        )

    running = make()
    report = running.poll()  # e1 goes; e2 fails twice: the poll stops there, without raising
    assert (report.entries, report.published, report.not_published) == (3, 1, 2)
    assert report.publish_failures == [
        f"{server.url('/feed.xml')}: {ids[1]}: not published after 2 attempt(s): "
        "ServiceUnavailable('Pub/Sub unavailable')"
    ]
    assert any("publish failed" in line for line in logged)
    assert saved(state) == (None, ids[:1])  # e1 remembered; the ETag not advanced

    clock.advance(60)
    report = running.poll()  # the same process, still running: the old validators
    assert "if-none-match" not in server.requests[-3].headers
    assert server.requests[-3].path == "/feed.xml"
    assert (report.already_seen, report.published, report.publish_failures) == (1, 2, [])
    assert saved(state) == ('"v1"', ids)

    clock.advance(60)
    assert make().poll().not_modified == 1  # a restart: the ETag is saved now, a 304
    assert channel.received(3) == dict.fromkeys(ids, 1)  # each entry once, e1 included


def poll_feeds_once(feeds: Path, topic: str, state: Path, log: Path) -> "subprocess.Popen[bytes]":
    """``threadwatch poll-feeds --once`` as its own process (PUBSUB_EMULATOR_HOST inherited)."""
    args = ["poll-feeds", "--once", "--feeds", str(feeds), "--topic", topic]
    return threadwatch_process([*args, "--state", str(state), "--allow_private_hosts"], log)


def feeds_file(server: FeedServer, tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"http: {{host_delay_seconds: 0}}\nfeeds:\n  - {server.url('/feed.xml')}\n")
    return feeds


def test_poll_feeds_killed_mid_poll_resumes_without_losing_or_repeating_an_entry(
    channel: Channel, server: FeedServer, tmp_path: Path
) -> None:
    """SIGKILL while an entry's page is fetched: every entry arrives exactly once.

    The kill lands while entry k's page is being fetched, after entry k-1's
    publish and the state write that follows it, so this is outside the one
    window that can repeat an entry (see the next test).
    """
    names = ("e1", "e2", "e3", "e4", "e5", "e6")
    site, state, log = Site(server, names), tmp_path / "poll.json", tmp_path / "poller.log"
    site.entries = list(names)
    ids = [server.url(f"/p/{n}.html") for n in names]
    runs: list[subprocess.Popen[bytes]] = []

    def killing_at_first_fetch(name: str) -> Callable[[Request], Reply]:
        def answer(_: Request) -> Reply:
            if server.hits(f"/p/{name}.html") == 1:
                runs[-1].kill()  # SIGKILL
            return Site.page(name)

        return answer

    for name in ("e3", "e5"):
        server.handle(f"/p/{name}.html", killing_at_first_fetch(name))
    feeds = feeds_file(server, tmp_path)
    outcomes = []
    for _ in range(4):
        runs.append(poll_feeds_once(feeds, channel.topic, state, log))
        outcomes.append((runs[-1].wait(timeout=120), saved(state)))
    assert (
        outcomes
        == [
            (-signal.SIGKILL, (None, ids[:2])),  # killed fetching e3: e1, e2 out and remembered
            (-signal.SIGKILL, (None, ids[:4])),  # again (fetched in full), killed fetching e5
            (0, ('"v1"', ids)),  # e5, e6 out: only now is the ETag saved
            (0, ('"v1"', ids)),  # a 304
        ]
    ), log.read_text()
    feed_requests = [
        r.headers.get("if-none-match") for r in server.requests if r.path == "/feed.xml"
    ]
    assert feed_requests == [None, None, None, '"v1"']
    assert channel.received(6) == dict.fromkeys(ids, 1), log.read_text()


def test_poll_feeds_killed_at_any_moment_loses_no_entry(
    channel: Channel, server: FeedServer, tmp_path: Path
) -> None:
    """SIGKILLs at moments that fall anywhere in a poll: no entry is lost.

    What is guaranteed: every entry arrives; an entry remembered in the state
    file was published; a saved ETag means every entry is remembered; and a
    kill repeats at most the one entry in flight (published, its state write
    not yet done), so duplicates are at most the kills. The job's duplicate
    detection (same id) absorbs those.
    """
    names = tuple(f"e{i}" for i in range(1, 9))
    site, state, log = Site(server, names), tmp_path / "poll.json", tmp_path / "poller.log"
    site.entries = list(names)
    for name in names:
        server.route(f"/p/{name}.html", Site.page(name, delay=0.05))
    ids = [server.url(f"/p/{n}.html") for n in names]
    delays = [0.15, 0.25, 0.2, 0.3, 0.25, 0.35]  # seconds after the feed's request
    runs: list[subprocess.Popen[bytes]] = []
    timers: list[threading.Timer] = []

    def feed_then_kill(request: Request) -> Reply:
        if len(runs) <= len(delays):
            timers.append(threading.Timer(delays[len(runs) - 1], runs[-1].kill))
            timers[-1].start()
        return site.feed(request)

    server.handle("/feed.xml", feed_then_kill)
    feeds = feeds_file(server, tmp_path)
    kills, remembered = 0, set[str]()
    for _ in range(len(delays) + 1):
        runs.append(poll_feeds_once(feeds, channel.topic, state, log))
        returncode = runs[-1].wait(timeout=120)
        for timer in timers:
            timer.cancel()
        assert returncode in (0, -signal.SIGKILL), log.read_text()
        etag, seen = saved(state)  # the state file is whole, whatever the moment
        assert etag is None or seen == ids
        remembered.update(seen)
        if returncode == 0:
            break
        kills += 1
    assert returncode == 0 and saved(state) == ('"v1"', ids)
    counts = channel.received(len(ids))
    assert set(counts) == set(ids) >= remembered  # none lost; remembered means published
    assert counts.total() - len(ids) <= kills, counts


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
