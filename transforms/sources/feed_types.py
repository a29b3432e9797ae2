"""The feed source's records: what is read (``FeedSpec``), what a feed yields.

Plain frozen dataclasses: ``pipeline.config.feeds`` builds ``FeedList`` from
``feeds.yaml`` or OPML; ``feed_parse`` fills ``ParsedFeed``.
"""

import dataclasses
import datetime as dt
from typing import Literal
from urllib.parse import urlsplit

from transforms.core.errors import ItemError
from transforms.core.records import DeadLetter
from transforms.sources.fetch_types import FetchPolicy

#: A date further than this ahead of the fetch time is not believed.
FUTURE_SLACK = dt.timedelta(days=1)
HTML_TYPES = ("text/html", "application/xhtml+xml", "")


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
