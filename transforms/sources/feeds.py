"""Feeds as a source, without Beam: parse a feed, turn each entry into an item.

``parse_feed`` reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 with feedparser,
always from bytes (a string may be taken for a URL and fetched), and JSON Feed
1.x with ``json`` (feedparser 6.0 does not read it). A ``bozo`` feed still
yields what it can, with the problem recorded; a feed that yields nothing
raises ``FeedError`` with the reason. Entry dates become UTC; an entry with no
usable date gets the fetch time, flagged as such (``origin="fetch"``).

``entry_document`` fetches an entry's linked page and hands it on as a
``RawDocument`` for the same ``ExtractText`` stage as every other source; when
the page cannot be fetched, is not HTML or has no article text, the entry's
own content or summary stands in, flagged ``text_from="entry"``.

Entity expansion: feedparser drops a feed's DOCTYPE (keeping only harmless
entity declarations) and Python's expat refuses amplification beyond its
limit (``billion laughs``); the tests feed both attacks through this module.
"""

import calendar
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser

from transforms.core.errors import ItemError
from transforms.core.records import ArticleMeta, DeadLetter, MediaType, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.http_fetch import (
    FEED_ACCEPT,
    PAGE_ACCEPT,
    FetchPolicy,
    HttpFetcher,
    Validators,
    decode_page,
    feed_response_headers,
)
from transforms.text.dates import parse_datetime
from transforms.text.extraction import extract_article
from transforms.text.urls import canonical_url

#: A date further than this ahead of the fetch time is not believed.
FUTURE_SLACK = dt.timedelta(days=1)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")


@dataclasses.dataclass(frozen=True)
class FeedSpec:
    """One feed of the feed list (``config/feeds.yaml`` or an OPML file)."""

    url: str
    #: Shown as the articles' source; else the feed's own title.
    name: str | None = None
    #: Streaming: seconds between two polls of this feed.
    poll_seconds: float = 900.0
    #: Fetch each entry's linked page (else use the entry's own text).
    fetch_articles: bool = True
    #: Language of the feed's articles when neither entry nor feed says.
    language: str | None = None


@dataclasses.dataclass(frozen=True)
class FeedList:
    """The validated feed list and the HTTP limits every fetch obeys."""

    feeds: tuple[FeedSpec, ...]
    http: FetchPolicy = dataclasses.field(default_factory=FetchPolicy)
    #: The file it was read from (for messages).
    path: str = ""


class FeedError(ItemError):
    """A feed yielded no entries; ``reason``: ``not_a_feed``, ``malformed``, ``no_entries``."""


@dataclasses.dataclass(frozen=True)
class FeedEntry:
    """One entry of a parsed feed, with what the article needs."""

    feed_url: str
    #: Position of the feed in the feed list and of the entry in the feed:
    #: the first of several copies (same key) is the one kept.
    position: int
    index: int
    #: Identity across feeds and polls: the canonical link, else the feed's
    #: guid, else a hash of the entry's text.
    key: str
    link: str | None
    guid: str | None
    title: str
    #: The entry's content or summary as plain text ("" if none).
    text: str
    published: dt.datetime
    date_from: Literal["feed", "fetch"]
    author: str
    language: str | None
    source: str
    fetch_article: bool

    @property
    def host(self) -> str:
        return (urlsplit(self.link).hostname or "") if self.link else ""


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str
    #: feedparser's version (``rss20``, ``atom10``…) or ``json1``.
    format: str
    #: What feedparser complained about (``bozo``), if anything.
    problem: str | None
    entries: tuple[FeedEntry, ...]
    #: Entries with neither a link nor any text: dead letters.
    rejected: tuple[DeadLetter, ...]


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "tr", "table", "section", "article",
    })  # fmt: skip
    _SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment (feed content is HTML more often than not)."""
    if "<" not in value and "&" not in value:
        text = value
    else:
        parser = _TextExtractor()
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _as_utc(parsed: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _dated(
    candidate: dt.datetime | None, fetched_at: dt.datetime
) -> tuple[dt.datetime, Literal["feed", "fetch"]]:
    if candidate is None or candidate > fetched_at + FUTURE_SLACK:
        return fetched_at.astimezone(dt.UTC), "fetch"
    return candidate.astimezone(dt.UTC), "feed"


def _canonical_link(raw: str | None, base: str) -> str | None:
    if not raw or not raw.strip():
        return None
    absolute = urljoin(base, raw.strip())
    try:
        return canonical_url(absolute)
    except ValueError:
        return absolute


def _key(feed_url: str, link: str | None, guid: str | None, title: str, text: str) -> str:
    if link and link.lower().startswith(("http://", "https://")):
        return link
    if guid:
        return f"{canonical_url(feed_url)}#guid={guid}"
    digest = hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()[:16]
    return f"{canonical_url(feed_url)}#sha1={digest}"


def _entry(
    *,
    spec: FeedSpec,
    position: int,
    index: int,
    feed_title: str,
    feed_language: str | None,
    fetched_at: dt.datetime,
    base: str,
    link: str | None,
    guid: str | None,
    title: str,
    text: str,
    date: dt.datetime | None,
    author: str,
    language: str | None,
) -> FeedEntry | DeadLetter:
    link = _canonical_link(link, base)
    guid = guid.strip() if guid and guid.strip() else None
    title = html_to_text(title) if title else ""
    if not link and not text.strip():
        where = f"{spec.url}#entry-{index}"
        return DeadLetter(
            guid or where,
            where,
            "feed",
            "no_link_or_text",
            f"entry {index} of {spec.url} has neither a link nor any text"
            + (f" (title {title[:80]!r})" if title else ""),
        )
    published, date_from = _dated(date, fetched_at)
    return FeedEntry(
        feed_url=spec.url,
        position=position,
        index=index,
        key=_key(spec.url, link, guid, title, text),
        link=link,
        guid=guid,
        title=title,
        text=text,
        published=published,
        date_from=date_from,
        author=author,
        language=spec.language or language or feed_language,
        source=spec.name or feed_title,
        fetch_article=spec.fetch_articles,
    )


def _entry_text(entry: Mapping[str, Any]) -> str:
    values = [c.get("value") or "" for c in entry.get("content") or [] if isinstance(c, Mapping)]
    values.append(entry.get("summary") or "")
    best = max(values, key=len)
    return html_to_text(best) if best else ""


def _language(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip().split(",")[0].strip()[:35] or None
    return None


def parse_feed(
    data: bytes,
    spec: FeedSpec,
    fetched_at: dt.datetime,
    headers: Mapping[str, str] | None = None,
    position: int = 0,
) -> ParsedFeed:
    """Parses a fetched feed; raises ``FeedError`` when it yields no entries at all."""
    headers = dict(headers or {})
    base = headers.get("content-location") or spec.url
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not data.strip():
        raise FeedError("empty", "the feed is empty")
    if "json" in media_type or data.lstrip()[:1] == b"{":
        return _parse_json_feed(data, spec, fetched_at, base, position)
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=headers, resolve_relative_uris=True
    )
    version = str(parsed.get("version") or "")
    problem = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc is not None else "bozo"
    feed = parsed.get("feed") or {}
    feed_title = html_to_text(str(feed.get("title") or "")) or spec.url
    feed_language = _language(feed.get("language")) or _language(headers.get("content-language"))
    entries: list[FeedEntry] = []
    rejected: list[DeadLetter] = []
    for index, entry in enumerate(parsed.get("entries") or []):
        date = None
        for field in ("published_parsed", "updated_parsed", "created_parsed"):
            date = _as_utc(entry.get(field)) if entry.get(field) else None
            if date is not None:
                break
        item = _entry(
            spec=spec,
            position=position,
            index=index,
            feed_title=feed_title,
            feed_language=feed_language,
            fetched_at=fetched_at,
            base=base,
            link=entry.get("link"),
            guid=entry.get("id") or entry.get("guid"),
            title=str(entry.get("title") or ""),
            text=_entry_text(entry),
            date=date,
            author=html_to_text(str(entry.get("author") or "")),
            language=_language((entry.get("title_detail") or {}).get("language")),
        )
        if isinstance(item, DeadLetter):
            rejected.append(item)
        else:
            entries.append(item)
    if not entries and not rejected:
        if not version and _looks_like_html(data, media_type):
            raise FeedError("not_a_feed", "an HTML page, not a feed")
        if not version and problem:
            raise FeedError("malformed", f"not a readable feed: {problem}")
        if not version:
            raise FeedError("not_a_feed", f"no RSS, Atom or JSON Feed found ({media_type or '?'})")
        raise FeedError(
            "no_entries", f"{version} feed with no entries" + (f" ({problem})" if problem else "")
        )
    return ParsedFeed(spec.url, feed_title, version, problem, tuple(entries), tuple(rejected))


_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)


def _looks_like_html(data: bytes, media_type: str) -> bool:
    return media_type in ("text/html", "application/xhtml+xml") or bool(
        _HTML_START.match(data[:2048])
    )


def _parse_json_feed(
    data: bytes, spec: FeedSpec, fetched_at: dt.datetime, base: str, position: int
) -> ParsedFeed:
    try:
        loaded = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError("malformed", f"not a readable JSON Feed: {exc}") from None
    version = loaded.get("version") if isinstance(loaded, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise FeedError("not_a_feed", "JSON without a JSON Feed 'version'")
    assert isinstance(loaded, dict)
    feed_title = str(loaded.get("title") or "") or spec.url
    feed_language = _language(loaded.get("language"))
    items = loaded.get("items")
    problem = None if isinstance(items, list) else "'items' is not a list"
    entries: list[FeedEntry] = []
    rejected: list[DeadLetter] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            where = f"{spec.url}#entry-{index}"
            rejected.append(
                DeadLetter(where, where, "feed", "invalid_entry", "JSON Feed item is not an object")
            )
            continue
        date = None
        for field in ("date_published", "date_modified"):
            value = item.get(field)
            if isinstance(value, str):
                try:
                    date = parse_datetime(value)
                    break
                except ValueError:
                    problem = f"item {index}: {field}: not a date: {value[:40]!r}"
        text = item.get("content_html") or item.get("content_text") or item.get("summary") or ""
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = ", ".join(
            str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")
        )
        link = item.get("url") or item.get("external_url")
        entry = _entry(
            spec=spec,
            position=position,
            index=index,
            feed_title=feed_title,
            feed_language=feed_language,
            fetched_at=fetched_at,
            base=base,
            link=link if isinstance(link, str) else None,
            guid=str(item["id"]) if item.get("id") not in (None, "") else None,
            title=str(item.get("title") or ""),
            text=html_to_text(text) if isinstance(text, str) else "",
            date=date,
            author=author,
            language=_language(item.get("language")),
        )
        if isinstance(entry, DeadLetter):
            rejected.append(entry)
        else:
            entries.append(entry)
    if not entries and not rejected:
        raise FeedError(
            "no_entries", "JSON Feed with no items" + (f" ({problem})" if problem else "")
        )
    version_code = "json" + version.rsplit("/", 1)[-1].replace(".", "")
    return ParsedFeed(spec.url, feed_title, version_code, problem, tuple(entries), tuple(rejected))


@dataclasses.dataclass(frozen=True)
class FeedRead:
    """One fetch of a feed: its entries, or that it has not changed (304)."""

    spec: FeedSpec
    not_modified: bool
    feed: ParsedFeed | None
    etag: str | None = None
    last_modified: str | None = None


def read_feed(
    fetcher: HttpFetcher,
    spec: FeedSpec,
    position: int = 0,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedRead:
    """Fetches and parses one feed (conditional GET when validators are given).

    Raises ``FetchError``/``UnsafeURLError`` (not fetched) or ``FeedError``
    (fetched, yields nothing): the caller makes the dead letter.
    """
    result = fetcher.fetch(spec.url, Validators(etag, last_modified), accept=FEED_ACCEPT)
    validators = result.validators if not result.not_modified else Validators(etag, last_modified)
    if result.not_modified:
        return FeedRead(spec, True, None, validators.etag, validators.last_modified)
    feed = parse_feed(
        result.content, spec, result.fetched_at, feed_response_headers(result), position
    )
    return FeedRead(spec, False, feed, validators.etag, validators.last_modified)


def feed_dead_letter(spec: FeedSpec, error: ItemError) -> DeadLetter:
    return DeadLetter(spec.url, spec.url, "feed", error.reason, str(error))


@dataclasses.dataclass(frozen=True)
class EntryOutcome:
    """What became of an entry: a document for extraction, or a dead letter."""

    item: RawDocument | DeadLetter
    #: Why the page's text is not used (``timeout``, ``http_404``,
    #: ``unsafe_url``, ``not_html``, ``no_text``, ``not_fetched``…); None
    #: when it is.
    fallback: str | None


def _meta(entry: FeedEntry, url: str | None, text_from: str) -> ArticleMeta:
    return ArticleMeta(
        title=entry.title or None,
        url=url,
        source=entry.source or None,
        published=entry.published,
        language=entry.language,
        author=entry.author or None,
        origin=entry.date_from,
        text_from=text_from,
    )


def _page_document(
    entry: FeedEntry, fetcher: HttpFetcher, settings: ExtractionSettings
) -> RawDocument:
    """The linked page as a document; raises ``ItemError`` when it cannot be the article."""
    assert entry.link is not None
    result = fetcher.fetch(entry.link, accept=PAGE_ACCEPT)
    media: MediaType
    if result.media_type in _HTML_TYPES:
        media = "text/html"
    elif result.media_type == "text/plain":
        media = "text/plain"
    else:
        raise ItemError("not_html", f"{result.final_url} is {result.media_type}, not a page")
    text, _encoding = decode_page(result.content, result.charset)
    url = _canonical_link(result.final_url, result.final_url) or result.final_url
    doc = RawDocument(
        entry.key, result.final_url, text.encode("utf-8"), media, _meta(entry, url, "page")
    )
    # The same pure function ExtractText runs: a page with no article text is
    # known here, while the entry's own text can still stand in for it.
    extract_article(doc, settings)
    return doc


def entry_document(
    entry: FeedEntry, fetcher: HttpFetcher | None, settings: ExtractionSettings
) -> EntryOutcome:
    """The entry's article: its page when that works, else its own text, else a dead letter."""
    problem: ItemError
    if entry.link and entry.fetch_article and fetcher is not None:
        try:
            return EntryOutcome(_page_document(entry, fetcher, settings), None)
        except ItemError as exc:
            problem = exc
        except Exception as exc:  # one odd page must not stop the feed
            problem = ItemError("unexpected_error", f"{type(exc).__name__}: {exc}")
    elif entry.link:
        problem = ItemError("not_fetched", "fetching articles is off for this feed")
    else:
        problem = ItemError("no_link", "the entry has no link")
    uri = entry.link or f"{entry.feed_url}#entry-{entry.index}"
    if not entry.text.strip():
        return EntryOutcome(
            DeadLetter(
                entry.key,
                uri,
                "fetch",
                problem.reason,
                f"{problem}; the entry has no text of its own to fall back on",
            ),
            problem.reason,
        )
    doc = RawDocument(
        entry.key, uri, entry.text.encode("utf-8"), "text/plain", _meta(entry, entry.link, "entry")
    )
    return EntryOutcome(doc, problem.reason)


def first_entries(entries: Iterable[FeedEntry]) -> tuple[FeedEntry, list[FeedEntry]]:
    """The entry kept among copies (first feed, first position) and the duplicates."""
    ordered = sorted(entries, key=lambda e: (e.position, e.index, e.feed_url))
    return ordered[0], ordered[1:]
