"""Parsing a fetched feed, without Beam: RSS, Atom and JSON Feed entries as ``FeedEntry``.

``parse_feed`` reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 with feedparser,
always from bytes (a string may be taken for a URL and fetched), and JSON Feed
1.x with ``json`` (feedparser 6.0 does not read it). A ``bozo`` feed still
yields what it can, with the problem recorded; a feed that yields nothing
raises ``FeedError`` with the reason. Entry dates become UTC; an entry with no
usable date gets the fetch time, flagged as such (``origin="fetch"``).

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
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser

from transforms.core.records import DeadLetter
from transforms.sources.feed_types import FUTURE_SLACK, FeedEntry, FeedError, FeedSpec, ParsedFeed
from transforms.sources.fetch_types import FetchResult
from transforms.text.charset import is_utf8_with_non_ascii
from transforms.text.dates import parse_datetime
from transforms.text.urls import canonical_url


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


def canonical_link(raw: str | None, base: str) -> str | None:
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
    link = canonical_link(link, base)
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


@dataclasses.dataclass
class _Entries:
    """What every entry of one fetched feed shares, and the entries read so far."""

    spec: FeedSpec
    position: int
    feed_title: str
    feed_language: str | None
    fetched_at: dt.datetime
    base: str
    entries: list[FeedEntry] = dataclasses.field(default_factory=list)
    rejected: list[DeadLetter] = dataclasses.field(default_factory=list)

    def add(self, index: int, **fields: Any) -> None:
        """One entry (``_entry``'s per-entry fields): kept, or rejected with its reason."""
        item = _entry(
            spec=self.spec,
            position=self.position,
            index=index,
            feed_title=self.feed_title,
            feed_language=self.feed_language,
            fetched_at=self.fetched_at,
            base=self.base,
            **fields,
        )
        if isinstance(item, DeadLetter):
            self.rejected.append(item)
        else:
            self.entries.append(item)

    def parsed(self, version: str, problem: str | None) -> ParsedFeed:
        return ParsedFeed(
            self.spec.url,
            self.feed_title,
            version,
            problem,
            tuple(self.entries),
            tuple(self.rejected),
        )


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
    read = _Entries(spec, position, feed_title, feed_language, fetched_at, base)
    for index, entry in enumerate(parsed.get("entries") or []):
        date = None
        for field in ("published_parsed", "updated_parsed", "created_parsed"):
            date = _as_utc(entry.get(field)) if entry.get(field) else None
            if date is not None:
                break
        read.add(
            index,
            link=entry.get("link"),
            guid=entry.get("id") or entry.get("guid"),
            title=str(entry.get("title") or ""),
            text=_entry_text(entry),
            date=date,
            author=html_to_text(str(entry.get("author") or "")),
            language=_language((entry.get("title_detail") or {}).get("language")),
        )
    if not read.entries and not read.rejected:
        if not version and _looks_like_html(data, media_type):
            raise FeedError("not_a_feed", "an HTML page, not a feed")
        if not version and problem:
            raise FeedError("malformed", f"not a readable feed: {problem}")
        if not version:
            raise FeedError("not_a_feed", f"no RSS, Atom or JSON Feed found ({media_type or '?'})")
        raise FeedError(
            "no_entries", f"{version} feed with no entries" + (f" ({problem})" if problem else "")
        )
    return read.parsed(version, problem)


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
    read = _Entries(spec, position, feed_title, feed_language, fetched_at, base)
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            where = f"{spec.url}#entry-{index}"
            read.rejected.append(
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
        read.add(
            index,
            link=link if isinstance(link, str) else None,
            guid=str(item["id"]) if item.get("id") not in (None, "") else None,
            title=str(item.get("title") or ""),
            text=html_to_text(text) if isinstance(text, str) else "",
            date=date,
            author=author,
            language=_language(item.get("language")),
        )
    if not read.entries and not read.rejected:
        raise FeedError(
            "no_entries", "JSON Feed with no items" + (f" ({problem})" if problem else "")
        )
    version_code = "json" + version.rsplit("/", 1)[-1].replace(".", "")
    return read.parsed(version_code, problem)


def feed_response_headers(result: FetchResult) -> dict[str, str]:
    """Headers for feedparser: its encoding rules (RFC 3023) plus one correction.

    A charset declared in the header that contradicts a body of valid
    non-ASCII UTF-8 is replaced by UTF-8 (the usual mistake: a server default
    of ISO-8859-1 in front of a UTF-8 feed).
    """
    headers = {
        name: result.headers[name]
        for name in ("content-type", "content-language", "etag", "last-modified")
        if name in result.headers
    }
    headers["content-location"] = result.final_url
    declared = result.charset
    if declared and declared != "utf-8" and is_utf8_with_non_ascii(result.content):
        headers["content-type"] = f"{result.media_type or 'application/xml'}; charset=utf-8"
    return headers
