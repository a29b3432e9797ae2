"""Reading a feed and its entries' pages, without Beam: entries become ``RawDocument``s.

``read_feed`` fetches (conditionally) and parses one feed. ``entry_document``
fetches an entry's linked page and hands it on as a ``RawDocument`` for the
same ``ExtractText`` stage as every other source; when the page cannot be
fetched, is not HTML or has no article text, the entry's own content or
summary stands in, flagged ``text_from="entry"``.
"""

import dataclasses
from collections.abc import Iterable

from transforms.core.errors import ItemError
from transforms.core.records import ArticleMeta, DeadLetter, MediaType, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.feed_parse import canonical_link, feed_response_headers, parse_feed
from transforms.sources.feed_types import HTML_TYPES, FeedEntry, FeedSpec, ParsedFeed
from transforms.sources.fetch_types import FEED_ACCEPT, PAGE_ACCEPT, Validators
from transforms.sources.http_fetch import HttpFetcher
from transforms.text.charset import decode_page
from transforms.text.extraction import extract_article


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
    if result.media_type in HTML_TYPES:
        media = "text/html"
    elif result.media_type == "text/plain":
        media = "text/plain"
    else:
        raise ItemError("not_html", f"{result.final_url} is {result.media_type}, not a page")
    text, _encoding = decode_page(result.content, result.charset)
    url = canonical_link(result.final_url, result.final_url) or result.final_url
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
