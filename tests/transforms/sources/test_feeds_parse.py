"""Parsing feeds from bytes (no network): formats, dates, bozo feeds, entity attacks."""

import datetime as dt
import resource
import time

import pytest

from tests.support import FIXTURES
from transforms.sources.feed_parse import html_to_text, parse_feed
from transforms.sources.feed_types import FeedError, FeedSpec, ParsedFeed

FETCHED = dt.datetime(2025, 1, 20, 12, 0, tzinfo=dt.UTC)
SPEC = FeedSpec("https://news.example.com/feed/")
CORPUS = FIXTURES / "feeds"


def parse(data: bytes, content_type: str = "application/xml") -> ParsedFeed:
    return parse_feed(data, SPEC, FETCHED, {"content-type": content_type})


RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World News</title><language>en-gb</language>
<item><title>Putin and Pezeshkian sign a strategic partnership treaty</title>
<link>/world/treaty?utm_source=rss&amp;id=7</link><guid isPermaLink="false">t-1</guid>
<pubDate>Fri, 17 Jan 2025 14:30:00 +0300</pubDate>
<description>&lt;p&gt;The treaty was signed in &lt;b&gt;Moscow&lt;/b&gt;.&lt;/p&gt;
</description></item>
<item><title>Undated brief</title><link>https://news.example.com/brief</link></item>
<item><title>From the future</title><link>https://news.example.com/future</link>
<pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate></item>
<item><title>A title and nothing else</title></item>
</channel></rss>"""


def test_rss20_entries_links_dates_and_rejects() -> None:
    feed = parse_feed(RSS20, SPEC, FETCHED, {"content-type": "application/rss+xml"})
    assert feed.format == "rss20" and feed.title == "World News" and feed.problem is None
    treaty, brief, future = feed.entries
    # Relative link resolved against the feed, tracking parameter dropped: one key per article.
    assert treaty.link == treaty.key == "https://news.example.com/world/treaty?id=7"
    assert treaty.published == dt.datetime(2025, 1, 17, 11, 30, tzinfo=dt.UTC)
    assert treaty.date_from == "feed"
    assert treaty.text == "The treaty was signed in Moscow."
    assert treaty.language == "en-gb" and treaty.source == "World News"
    # No date, or a date past the fetch time: the fetch time, flagged.
    assert (brief.published, brief.date_from) == (FETCHED, "fetch")
    assert (future.published, future.date_from) == (FETCHED, "fetch")
    (rejected,) = feed.rejected
    assert (rejected.stage, rejected.reason) == ("feed", "no_link_or_text")
    assert "A title and nothing else" in rejected.detail


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("wellformed/rss/rss_version_090.xml", "rss090"),
        ("wellformed/rss/rss_version_091_netscape.xml", "rss091n"),
        ("wellformed/rss/rss_version_092.xml", "rss092"),
        ("wellformed/rdf/rdf_channel_title.xml", "rss10"),
        ("wellformed/rss/rss_version_20.xml", "rss20"),
        ("wellformed/atom/feed_title.xml", "atom03"),
        ("wellformed/atom10/feed_title.xml", "atom10"),
    ],
)
def test_every_feed_format_is_recognised(path: str, version: str) -> None:
    data = (CORPUS / path).read_bytes()
    try:
        feed = parse_feed(data, SPEC, FETCHED)
    except FeedError as exc:
        assert exc.reason == "no_entries"  # a format fixture without items
        assert version in str(exc)
    else:
        assert feed.format == version


def test_atom10_entry_with_content_and_updated_date() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>
    <entry><id>urn:uuid:1</id><title type="html">Iran &amp;amp; Russia</title>
    <link rel="alternate" href="https://wire.example.org/a/1"/>
    <updated>2024-10-11T09:00:00-04:00</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>One.</p><p>Two.</p></div>
    </content></entry></feed>"""
    (entry,) = parse(atom, "application/atom+xml").entries
    assert entry.title == "Iran & Russia" and entry.guid == "urn:uuid:1"
    assert entry.published == dt.datetime(2024, 10, 11, 13, 0, tzinfo=dt.UTC)
    assert entry.text == "One.\n\nTwo."


def test_json_feed_is_read_with_json() -> None:
    data = (CORPUS / "json" / "example.json").read_bytes()
    feed = parse_feed(data, SPEC, FETCHED, {"content-type": "application/feed+json"})
    assert feed.format == "json1" and feed.title == "My Example Feed"
    second, first = feed.entries
    assert second.link == "https://example.org/second-item" and second.text == (
        "This is a second item."
    )
    assert first.text == "Hello, world!"  # content_html to text; the script is dropped
    assert first.author == "you" and first.date_from == "fetch"


def test_a_bozo_feed_yields_what_it_can_with_the_problem_recorded() -> None:
    broken = RSS20.replace(b"</channel></rss>", b"<item><title>cut off")
    feed = parse(broken)
    assert feed.problem is not None
    assert [e.title for e in feed.entries][:1] == [
        "Putin and Pezeshkian sign a strategic partnership treaty"
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<html><head><title>Home</title></head><body>Hi</body></html>", "not_a_feed"),
        (b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', "no_entries"),
        (b"\x00\x01\x02 binary junk \xff\xfe", "malformed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "no_entries"),
        (b'{"not": "a feed"}', "not_a_feed"),
        (b'{"version": ', "malformed"),
    ],
)
def test_a_feed_that_yields_nothing_raises_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as info:
        parse(data)
    assert info.value.reason == reason


LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol "lol">"""
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"""]><rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><link>https://a.example/x</link></item></channel></rss>"""
)


def test_entity_expansion_attacks_do_not_expand() -> None:
    quadratic = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
        b'<rss version="2.0"><channel><item><link>https://a.example/y</link><title>'
        + b"&a;" * 50_000
        + b"</title></item></channel></rss>"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    laughs = parse(LAUGHS).entries
    square = parse(quadratic).entries
    assert time.monotonic() - started < 5
    # A billion laughs would be 3 GB of title; 50,000 × 50,000 bytes would be 2.5 GB.
    assert len(laughs[0].title) < 1_000 and len(square[0].title) < 1_000_000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = "<p>First&nbsp;line.</p><script>alert(1)</script><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(html) == "First line.\n\na\n\nb"
