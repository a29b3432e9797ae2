"""The HTTP client against a real server on 127.0.0.1: every fault ends in a specific error."""

import dataclasses
import email.utils
import gzip
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.feed_server import FeedServer, Reply, Request, gzip_reply, tls_for
from transforms.sources.fetch_types import (
    BadResponse,
    ConnectionFailed,
    FetchPolicy,
    FetchTimeout,
    HTTPStatusError,
    RedirectLoop,
    ResponseTooLarge,
    TooManyRedirects,
    Validators,
)
from transforms.sources.http_fetch import HttpFetcher
from transforms.text.charset import decode_page
from transforms.text.urls import UnsafeURLError

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


#: How late a fetch may end after its deadline on a busy 2-core machine.
MARGIN = 0.5


@pytest.mark.parametrize(
    "reply",
    [
        Reply(b"x" * 40_000, drip=0.1),  # 1 KB every 0.1 s: 4 s in all
        Reply(b"x" * 200, drip=0.2, drip_bytes=1),  # a byte every 0.2 s: 40 s
        Reply(b"x" * 200, drip=0.2, drip_bytes=1, close_delimited=True),  # ends at close
        Reply(b"<rss/>", drip_head=0.2),  # the status line and headers, a byte at a time
    ],
    ids=["kilobytes", "bytes", "bytes-until-close", "head"],
)
def test_a_dripping_response_stops_at_the_total_deadline(server: FeedServer, reply: Reply) -> None:
    # Every byte arrives well within the read timeout (0.5 s): only the
    # deadline of the whole fetch can stop it, whatever the byte rate.
    server.route("/drip", reply)
    started = time.monotonic()
    with fetcher(total_timeout_seconds=1.0) as client, pytest.raises(FetchTimeout) as info:
        client.fetch(server.url("/drip"))
    elapsed = time.monotonic() - started
    assert elapsed <= 1.0 + MARGIN, f"took {elapsed:.2f}s against a 1 s deadline"
    assert "within 1.0s" in str(info.value)


def test_the_deadline_holds_on_a_kept_alive_connection(server: FeedServer) -> None:
    server.route("/fast", Reply(b"<rss/>"))
    server.route("/drip", Reply(b"x" * 200, drip=0.2, drip_bytes=1))
    with fetcher(total_timeout_seconds=1.0) as client:
        assert client.fetch(server.url("/fast")).content == b"<rss/>"
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            client.fetch(server.url("/drip"))
    assert time.monotonic() - started <= 1.0 + MARGIN
    assert server.connections == 1  # the second fetch did reuse the connection


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
    assert server.received_nothing()


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "[::ffff:127.0.0.1]",  # IPv4-mapped: a dual-stack socket reaches 127.0.0.1
        "[::ffff:0:127.0.0.1]",  # IPv4-translated
        "[::127.0.0.1]",  # IPv4-compatible
        "[64:ff9b::127.0.0.1]",  # NAT64
        "[2002:7f00:1::]",  # 6to4
    ],
)
def test_loopback_in_any_ipv6_spelling_is_refused_by_default(server: FeedServer, host: str) -> None:
    with HttpFetcher(FetchPolicy()) as client, pytest.raises(UnsafeURLError) as info:
        client.fetch(f"http://{host}:{server.port}/admin/delete")
    assert "not a public address" in str(info.value)
    assert server.received_nothing()


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",  # connecting to it reaches this host
        "[::]",
        "[::ffff:0.0.0.0]",
        "2130706433",  # 127.0.0.1 as one integer: inet_aton and getaddrinfo accept it
        "0x7f000001",
        "017700000001",
        "0177.0.0.1",  # octal
        "0x7f.0.0.1",
        "127.1",
        "127.0.0.01",
    ],
)
def test_unspecified_and_numeric_spellings_are_refused_even_when_private_hosts_are_allowed(
    server: FeedServer, host: str
) -> None:
    with fetcher() as client, pytest.raises(UnsafeURLError) as info:
        client.fetch(f"http://{host}:{server.port}/admin/delete")
    assert info.value.reason == "unsafe_url"
    assert server.received_nothing()


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "[::ffff:169.254.169.254]",
        "[::169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[fd00:ec2::254]",  # AWS's metadata service over IPv6
        "2852039166",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "169.254.43518",
    ],
)
def test_the_metadata_service_is_refused_in_every_spelling(host: str) -> None:
    # Private hosts allowed. Refused before any connection: the test's network
    # guard would turn a connection attempt into ConnectionFailed instead.
    with fetcher() as client, pytest.raises(UnsafeURLError) as info:
        client.fetch(f"http://{host}/latest/meta-data/")
    assert "never fetched" in str(info.value) or "numeric host" in str(info.value)


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/latest/"],
)
def test_a_redirect_to_the_metadata_service_is_refused_at_the_hop(
    server: FeedServer, location: str
) -> None:
    server.route("/go", Reply(b"", 302, {"Location": location}))
    with fetcher() as client, pytest.raises(UnsafeURLError, match="link-local"):
        client.fetch(server.url("/go"))
    assert [request.path for request in server.requests] == ["/go"]


def test_a_name_that_rebinds_to_loopback_gets_no_request_out(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rebind.example is public for the first lookup and 127.0.0.1 for any
    # later one: the fetch must connect where the check looked, and only there.
    guarded = socket.getaddrinfo  # the test network guard, for every other name
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return guarded(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server.route("/admin/delete", Reply(b"deleted"))
    client = HttpFetcher(FetchPolicy(retries=1, backoff_seconds=0.01, host_delay_seconds=0))
    with client, pytest.raises(ConnectionFailed) as info:
        client.fetch(f"http://rebind.example:{server.port}/admin/delete")
    assert "93.184.216.34" in str(info.value)  # the pinned address (the test guard stops it)
    assert lookups == ["rebind.example"]  # resolved once, retry included
    assert server.received_nothing()


def test_a_pinned_https_connection_keeps_the_name_for_sni_and_the_certificate(
    tmp_path: Path,
) -> None:
    # feeds.test is pinned to 127.0.0.1 by the check; TLS still speaks to the name.
    context, ca_file = tls_for("feeds.test", tmp_path)
    with FeedServer(tls=context) as tls_server:
        tls_server.route("/feed", Reply(b"<rss/>"))
        client = HttpFetcher(POLICY, resolve=lambda host, port: ["127.0.0.1"])
        client._session.verify = str(ca_file)  # the test CA instead of the public ones
        with client:
            result = client.fetch(f"https://feeds.test:{tls_server.port}/feed")
            with pytest.raises(ConnectionFailed, match="certificate"):
                client.fetch(f"https://other.test:{tls_server.port}/feed")
    assert result.status == 200 and result.content == b"<rss/>"
    assert tls_server.server_names[0] == "feeds.test"
    assert tls_server.requests[0].headers["host"] == f"feeds.test:{tls_server.port}"
    assert [request.path for request in tls_server.requests] == ["/feed"]  # other.test: none


def test_nothing_connects_outside_a_checked_fetch(server: FeedServer) -> None:
    from transforms.sources.pinned_http import PinnedSession

    pinned = PinnedSession()
    with pytest.raises(UnsafeURLError, match="outside a fetch"):
        pinned.session.get(server.url("/feed"), timeout=2)
    with pinned.scope(2.0), pytest.raises(UnsafeURLError, match="no checked address"):
        pinned.session.get(server.url("/feed"), timeout=2)
    pinned.close()
    assert server.received_nothing()


def test_ipv6_urls_keep_their_brackets() -> None:
    try:
        running = FeedServer("::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with running as v6:
        v6.route("/old", Reply(b"", 301, {"Location": "/feed?utm_source=x"}))
        v6.route("/feed", Reply(b"<rss/>"))
        with fetcher() as client:
            result = client.fetch(v6.url("/old"))
    assert result.final_url == f"http://[::1]:{v6.port}/feed?utm_source=x"
    assert result.content == b"<rss/>" and v6.connections == 1
    assert v6.requests[0].headers["host"] == f"[::1]:{v6.port}"


def test_requests_to_one_host_are_spaced_by_the_politeness_delay(server: FeedServer) -> None:
    server.route("/p", Reply(b"ok"))
    started = time.monotonic()
    with fetcher(host_delay_seconds=0.3) as client:
        for _ in range(3):
            client.fetch(server.url("/p"))
    assert time.monotonic() - started >= 0.6


def test_a_retry_after_date_is_honoured(server: FeedServer) -> None:
    """``Retry-After`` as an HTTP date (RFC 9110), not only as seconds."""
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    server.route("/busy", Reply(b"busy", 503, {"Retry-After": when}), Reply(b"<rss/>"))
    waits: list[float] = []
    client = HttpFetcher(
        dataclasses.replace(POLICY, total_timeout_seconds=30.0), sleep=waits.append
    )
    with client:
        result = client.fetch(server.url("/busy"))
    assert result.attempts == 2 and server.hits("/busy") == 2
    assert 3.0 <= max(waits) <= 5.0  # the date, a second's resolution, minus the time taken
