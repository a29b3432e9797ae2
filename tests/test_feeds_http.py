"""The HTTP client against a real server on 127.0.0.1: every fault ends in a specific error."""

import dataclasses
import gzip
import time
from collections.abc import Iterator

import pytest

from tests.feed_server import FeedServer, Reply, Request, gzip_reply
from transforms.http_fetch import (
    BadResponse,
    ConnectionFailed,
    FetchPolicy,
    FetchTimeout,
    HttpFetcher,
    HTTPStatusError,
    RedirectLoop,
    ResponseTooLarge,
    TooManyRedirects,
    Validators,
    decode_page,
)
from transforms.urls import UnsafeURLError

#: Loopback is private: these tests allow it explicitly (the default refuses it).
POLICY = FetchPolicy(
    connect_timeout_seconds=2,
    read_timeout_seconds=0.5,
    total_timeout_seconds=10,
    retries=1,
    backoff_seconds=0.05,
    host_delay_seconds=0,
    allow_private_hosts=True,
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def fetcher(**changes: object) -> HttpFetcher:
    return HttpFetcher(dataclasses.replace(POLICY, **changes))  # type: ignore[arg-type]


def test_gzip_pages_are_decoded_and_the_client_says_who_it_is(server: FeedServer) -> None:
    page = b"<html><body><p>Moscow and Tehran sign a treaty.</p></body></html>"
    server.route("/page", gzip_reply(page))
    with fetcher() as client:
        result = client.fetch(server.url("/page"))
    assert result.status == 200 and result.content == page
    assert result.media_type == "text/html" and result.charset == "utf-8"
    (request,) = server.requests
    assert request.headers["user-agent"].startswith("threadwatch/")
    assert "gzip" in request.headers["accept-encoding"]


def test_a_slow_server_hits_the_read_timeout(server: FeedServer) -> None:
    server.route("/slow", Reply(b"late", delay=2.0))
    started = time.monotonic()
    with fetcher(retries=0) as client, pytest.raises(FetchTimeout) as info:
        client.fetch(server.url("/slow"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_a_dripping_body_hits_the_total_deadline(server: FeedServer) -> None:
    # Each 1 KB arrives within the read timeout; the whole body would take 4 s.
    server.route("/drip", Reply(b"x" * 40_000, drip=0.1))
    started = time.monotonic()
    with fetcher(total_timeout_seconds=1.0) as client, pytest.raises(FetchTimeout):
        client.fetch(server.url("/drip"))
    assert time.monotonic() - started < 2.5


def test_a_500_then_a_200_is_retried_and_succeeds(server: FeedServer) -> None:
    server.route("/flaky", Reply(b"oops", 500), Reply(b"<rss/>"))
    with fetcher() as client:
        result = client.fetch(server.url("/flaky"))
    assert result.content == b"<rss/>" and result.attempts == 2
    assert server.hits("/flaky") == 2


def test_a_persistent_503_is_an_http_error_after_the_retries(server: FeedServer) -> None:
    server.route("/down", Reply(b"down", 503))
    with fetcher(retries=2) as client, pytest.raises(HTTPStatusError) as info:
        client.fetch(server.url("/down"))
    assert info.value.reason == "http_503" and server.hits("/down") == 3


def test_a_404_is_not_retried(server: FeedServer) -> None:
    with fetcher(retries=2) as client, pytest.raises(HTTPStatusError) as info:
        client.fetch(server.url("/missing"))
    assert info.value.reason == "http_404" and server.hits("/missing") == 1


def test_a_refused_connection_is_retried_then_reported(server: FeedServer) -> None:
    url = server.url("/")
    server.__exit__(None, None, None)  # nothing listens on the port any more
    with fetcher(retries=1) as client, pytest.raises(ConnectionFailed) as info:
        client.fetch(url)
    assert info.value.reason == "connection_failed"


def test_conditional_get_gives_304_on_a_re_poll(server: FeedServer) -> None:
    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(b"", 304, {"ETag": '"v1"'})
        headers = {"ETag": '"v1"', "Last-Modified": "Mon, 03 Apr 2023 01:02:03 GMT"}
        return Reply(b"<rss version='2.0'/>", 200, headers)

    server.handle("/feed", feed)
    with fetcher() as client:
        first = client.fetch(server.url("/feed"))
        second = client.fetch(server.url("/feed"), first.validators)
    assert first.validators == Validators('"v1"', "Mon, 03 Apr 2023 01:02:03 GMT")
    assert second.not_modified and second.content == b""
    assert server.requests[1].headers["if-modified-since"] == "Mon, 03 Apr 2023 01:02:03 GMT"


def test_redirects_are_followed_and_loops_and_chains_refused(server: FeedServer) -> None:
    server.route("/old", Reply(b"", 301, {"Location": "/new"}))
    server.route("/new", Reply(b"here"))
    server.route("/a", Reply(b"", 302, {"Location": "/b"}))
    server.route("/b", Reply(b"", 302, {"Location": server.url("/a")}))
    for hop in range(10):
        server.route(f"/r{hop}", Reply(b"", 307, {"Location": f"/r{hop + 1}"}))
    with fetcher(max_redirects=5) as client:
        result = client.fetch(server.url("/old"))
        assert result.final_url == server.url("/new") and result.redirects == (result.final_url,)
        with pytest.raises(RedirectLoop):
            client.fetch(server.url("/a"))
        with pytest.raises(TooManyRedirects):
            client.fetch(server.url("/r0"))
    assert server.hits("/r6") == 0  # stopped at the cap, not followed further


def test_oversized_bodies_are_refused_without_reading_them_whole(server: FeedServer) -> None:
    cap = 100_000
    server.route("/declared", Reply(b"x" * 200_000))
    server.route("/endless", Reply(b"y" * 10_000, repeat=100_000))  # 1 GB, chunked
    bomb = gzip.compress(b"\0" * 200_000_000)  # 200 MB inflated from ~200 KB
    server.route("/bomb", Reply(bomb, 200, {"Content-Encoding": "gzip"}))
    with fetcher(max_bytes=cap) as client:
        for path in ("/declared", "/endless"):
            with pytest.raises(ResponseTooLarge):
                client.fetch(server.url(path))
    started = time.monotonic()
    with fetcher(max_bytes=5_000_000) as client, pytest.raises(ResponseTooLarge):
        client.fetch(server.url("/bomb"))
    assert time.monotonic() - started < 5


def test_a_broken_gzip_body_is_a_bad_response(server: FeedServer) -> None:
    server.route(
        "/broken", Reply(b"\x1f\x8b\x08not gzip at all", 200, {"Content-Encoding": "gzip"})
    )
    with fetcher() as client, pytest.raises(BadResponse):
        client.fetch(server.url("/broken"))


def test_wrong_declared_encodings_are_corrected(server: FeedServer) -> None:
    utf8 = "<p>Lavrov’s visit to Tehran — café talks</p>".encode()
    latin1 = "<p>Réunion à Téhéran: le café est servi, dit le ministre.</p>".encode("latin-1")
    server.route(
        "/utf8-said-latin1", Reply(utf8, 200, {"Content-Type": "text/html; charset=iso-8859-1"})
    )
    server.route(
        "/latin1-said-utf8", Reply(latin1, 200, {"Content-Type": "text/html; charset=utf-8"})
    )
    with fetcher() as client:
        first = client.fetch(server.url("/utf8-said-latin1"))
        second = client.fetch(server.url("/latin1-said-utf8"))
    assert decode_page(first.content, first.charset)[0] == utf8.decode()
    text, encoding = decode_page(second.content, second.charset)
    assert "Réunion à Téhéran" in text and encoding != "utf-8"


def test_loopback_is_refused_by_default_and_nothing_is_sent(server: FeedServer) -> None:
    server.route("/feed", Reply(b"<rss/>"))
    with HttpFetcher(FetchPolicy()) as client, pytest.raises(UnsafeURLError) as info:
        client.fetch(server.url("/feed"))
    assert info.value.reason == "unsafe_url" and "not a public address" in str(info.value)
    assert server.requests == []


def test_a_redirect_to_the_metadata_service_is_refused_at_the_hop(server: FeedServer) -> None:
    server.route("/go", Reply(b"", 302, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    with fetcher() as client, pytest.raises(UnsafeURLError, match="link-local"):
        client.fetch(server.url("/go"))
    assert server.hits("/go") == 1


def test_a_name_that_rebinds_to_loopback_is_refused_at_connection(server: FeedServer) -> None:
    # The name checks out as public, then the connection lands on 127.0.0.1.
    server.route("/feed", Reply(b"<rss/>"))
    client = HttpFetcher(FetchPolicy(), resolve=lambda host, port: ["93.184.216.34"])
    with client, pytest.raises(UnsafeURLError, match="not a public address"):
        client.fetch(server.url("/feed"))


def test_requests_to_one_host_are_spaced_by_the_politeness_delay(server: FeedServer) -> None:
    server.route("/p", Reply(b"ok"))
    started = time.monotonic()
    with fetcher(host_delay_seconds=0.3) as client:
        for _ in range(3):
            client.fetch(server.url("/p"))
    assert time.monotonic() - started >= 0.6
