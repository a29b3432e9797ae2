"""Typed elements that flow through the pipeline, and the JSON users consume.

Elements are frozen dataclasses rather than free-form dicts so that every
stage states what it reads and writes. The ``to_json`` methods define the
documented output format (see ``config/alert.schema.json``); the version
number changes whenever a field changes meaning.
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

SCHEMA_VERSION = 1

Role = Literal["article", "exemplar", "description", "negative"]
MediaType = Literal["text/plain", "text/markdown", "text/html"]
Vector = npt.NDArray[np.float32]


def iso(ts: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix: one spelling for every output."""
    return ts.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclasses.dataclass(frozen=True)
class ArticleMeta:
    """Metadata known about an item before its text is extracted.

    Comes from a folder's manifest, a JSON object's fields or a feed entry.
    Every field is optional; extraction fills the gaps from the document.
    """

    title: str | None = None
    url: str | None = None
    source: str | None = None
    published: dt.datetime | None = None
    language: str | None = None
    author: str | None = None
    #: Where this metadata came from: ``manifest``, ``document`` (fields of a
    #: JSON object), ``feed``, ``fetch`` (a feed entry with no date: the time
    #: it was fetched) or ``config``; recorded as the date's source.
    origin: str = "manifest"
    #: Feed articles only: ``page`` when the text is the linked page's,
    #: ``entry`` when the page could not be fetched or had no text and the
    #: feed entry's own content or summary stands in (the fallback).
    text_from: str | None = None


@dataclasses.dataclass(frozen=True)
class RawDocument:
    """One input item as read: bytes plus what is known about them."""

    item_id: str
    uri: str
    content: bytes
    media_type: MediaType
    meta: ArticleMeta = ArticleMeta()
    #: Modification time of the file (seconds since the epoch), the last
    #: resort for dating an article.
    mtime: float | None = None
    role: Role = "article"
    thread_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Features:
    """Cheap, embedding-free signals computed from an article's text."""

    #: Hash of the normalised text: equal for exact duplicates.
    exact_hash: str
    #: MinHash signature of word shingles: close for near-duplicates.
    minhash: tuple[int, ...]
    #: Salient terms (mostly named entities) with their counts, most frequent first.
    terms: tuple[tuple[str, int], ...]
    #: The watched threads' required terms that occur in the text (lowercase).
    watch_terms: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Article:
    """A cleaned article: text plus metadata, with where its date came from."""

    id: str
    url: str
    title: str
    text: str
    published: dt.datetime
    #: ``manifest``, ``document``, ``text``, ``mtime``, ``config`` or ``feed``.
    published_source: str
    source: str = ""
    author: str = ""
    #: ISO 639-1 code where one exists (``transforms.text.language``): the
    #: stated one; "" until ``Fingerprint`` detects it.
    language: str = "en"
    role: Role = "article"
    thread_id: str | None = None
    #: Set by the ``Fingerprint`` stage.
    features: Features | None = None
    #: Feed articles only (``ArticleMeta.text_from``): ``page`` or ``entry``;
    #: None for every other source.
    text_from: str | None = None

    @property
    def timestamp(self) -> float:
        return self.published.timestamp()


@dataclasses.dataclass(frozen=True, eq=False)
class EmbeddedArticle:
    """What the clustering stage needs of an article: no body text, a vector.

    The body is dropped here on purpose: the clustering stage buffers its
    input until the watermark passes, and carrying whole articles there would
    make that buffer the biggest thing in memory.
    """

    id: str
    url: str
    title: str
    published: dt.datetime
    published_source: str
    source: str
    language: str
    role: Role
    thread_id: str | None
    features: Features
    vector: Vector
    #: ``Article.text_from``: ``page``, ``entry`` (feed articles) or None.
    text_from: str | None = None

    @property
    def timestamp(self) -> float:
        return self.published.timestamp()

    def ref(self) -> dict[str, Any]:
        """The article as it appears inside output records."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": iso(self.published),
            "published_source": self.published_source,
            "text_from": self.text_from,
            "language": self.language,
        }


#: The tagged output every stage sends its ``DeadLetter``s to.
DEAD_LETTER = "dead_letter"


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """An input item that could not be processed, and why."""

    item: str
    uri: str
    stage: str
    reason: str
    detail: str
    #: The article's language where it is known (stated, or detected before
    #: the stage that failed); None for items that never became an article.
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "item": self.item,
            "uri": self.uri,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
            "language": self.language,
        }


# Events emitted by the story tracker. Each knows its output JSON and the event
# time it happened at (the article's publication time, never the wall clock).


@dataclasses.dataclass(frozen=True)
class Assignment:
    """An article joined an existing story or opened a new one."""

    article: Mapping[str, Any]
    story_id: str
    action: Literal["opened", "joined"]
    similarity: float | None
    thread_id: str | None
    late: bool
    event_time: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "article": dict(self.article),
            "story_id": self.story_id,
            "action": self.action,
            "similarity": self.similarity,
            "thread_id": self.thread_id,
            "late": self.late,
            "event_time": iso(self.event_time),
        }


@dataclasses.dataclass(frozen=True)
class Duplicate:
    """An article recorded as a copy of an earlier one; it opens no story."""

    article: Mapping[str, Any]
    duplicate_of: str
    kind: Literal["exact", "near", "same_id"]
    similarity: float
    event_time: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "article": dict(self.article),
            "duplicate_of": self.duplicate_of,
            "kind": self.kind,
            "similarity": self.similarity,
            "event_time": iso(self.event_time),
        }


@dataclasses.dataclass(frozen=True)
class Alert:
    """A new story appeared on an existing thread."""

    alert_id: str
    thread: Mapping[str, Any]
    story: Mapping[str, Any]
    article: Mapping[str, Any]
    score: float
    matched_by: Literal["description", "story"]
    evidence: Mapping[str, Any]
    event_time: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "type": "new_story_on_thread",
            "thread": dict(self.thread),
            "story": dict(self.story),
            "article": dict(self.article),
            "score": self.score,
            "matched_by": self.matched_by,
            "evidence": dict(self.evidence),
            "event_time": iso(self.event_time),
        }


@dataclasses.dataclass(frozen=True)
class StoryRecord:
    """A story's state when it closed (or when a bounded input ended)."""

    story_id: str
    title: str
    status: Literal["open", "closed"]
    thread_id: str | None
    opened_at: dt.datetime
    last_seen: dt.datetime
    size: int
    article_ids: tuple[str, ...]
    top_terms: tuple[str, ...]
    event_time: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "story_id": self.story_id,
            "title": self.title,
            "status": self.status,
            "thread_id": self.thread_id,
            "opened_at": iso(self.opened_at),
            "last_seen": iso(self.last_seen),
            "size": self.size,
            "article_ids": list(self.article_ids),
            "top_terms": list(self.top_terms),
            "event_time": iso(self.event_time),
        }


@dataclasses.dataclass(frozen=True)
class ThreadRecord:
    """A thread created by the tracker (an emergent storyline)."""

    thread_id: str
    title: str
    kind: Literal["watched", "emergent"]
    first_story_id: str
    event_time: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "thread_id": self.thread_id,
            "title": self.title,
            "kind": self.kind,
            "first_story_id": self.first_story_id,
            "event_time": iso(self.event_time),
        }


Event = Assignment | Duplicate | Alert | StoryRecord | ThreadRecord | DeadLetter
