"""From raw bytes to a clean, dated article.

One function, ``extract_article``, used for every source (files, JSON
objects, feed entries, fetched pages). HTML goes through trafilatura; plain
text and Markdown through ``textclean`` because trafilatura returns nothing
for text that is not HTML. Failures raise ``ItemError`` subclasses whose
``reason`` becomes the dead letter's reason.
"""

import dataclasses
import datetime as dt
import re
from typing import Any

import trafilatura
import yaml

from transforms.core.errors import ExtractionError, ReadError
from transforms.core.records import Article, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.text import cleaning
from transforms.text.charset import BINARY_MAGIC, decode_text
from transforms.text.dates import find_date, parse_datetime
from transforms.text.language import normalise_language
from transforms.text.scripts import count_words


def _control_ratio(text: str) -> float:
    sample = text[:4096]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / max(1, len(sample))


@dataclasses.dataclass(frozen=True)
class _Extracted:
    title: str | None
    body: str
    published: dt.datetime | None
    published_source: str | None
    author: str | None
    sitename: str | None


def _from_html(data: bytes, url: str) -> _Extracted:
    if data.startswith(BINARY_MAGIC[:-2]) or b"\x00" in data[:8192]:
        raise ReadError("binary", "binary data where HTML was expected")
    document = trafilatura.bare_extraction(
        data,
        url=url if url.startswith("http") else None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
    )
    if isinstance(document, dict):  # only with as_dict=True, which is not used
        raise TypeError("trafilatura returned a dict")
    if document is None or not (document.text or "").strip():
        raise ExtractionError("no_text", "trafilatura found no article text in the HTML")
    published = None
    if document.date:
        try:
            published = parse_datetime(document.date)
        except ValueError:
            published = None
    return _Extracted(
        title=document.title or None,
        body=document.text or "",
        published=published,
        published_source="document" if published else None,
        author=document.author or None,
        sitename=document.sitename or None,
    )


def _from_text(text: str, markdown: bool) -> _Extracted:
    front: dict[str, Any] = {}
    heading = None
    if markdown:
        text, block = cleaning.split_front_matter(text)
        if block:
            try:
                loaded = yaml.safe_load(block)
            except yaml.YAMLError:
                loaded = None
            if isinstance(loaded, dict):
                front = {str(k).lower(): v for k, v in loaded.items()}
        text, heading = cleaning.markdown_to_text(text)
    cleaned = cleaning.clean_plain_text(text)
    published, published_source = None, None
    for key in ("published", "date"):
        value = front.get(key)
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        if isinstance(value, str):
            try:
                published, published_source = parse_datetime(value), "document"
                break
            except ValueError:
                pass
    if published is None:
        # The dateline the cleaner removed, else the first date near the top.
        head = cleaned.dateline or "\n".join(text.splitlines()[:40])
        found = find_date(head)
        if found is not None:
            published, published_source = found[0], "text"
    title = front.get("title") if isinstance(front.get("title"), str) else None
    return _Extracted(
        title=title or heading or cleaned.title,
        body=cleaned.body,
        published=published,
        published_source=published_source,
        author=front.get("author") if isinstance(front.get("author"), str) else None,
        sitename=None,
    )


def fallback_title(body: str, words: int = 14) -> str:
    """The first sentence, shortened: better than no title in an alert."""
    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
    tokens = first.split()
    return " ".join(tokens[:words]) + ("…" if len(tokens) > words else "")


def check_not_future(
    published: dt.datetime, source: str, now: dt.datetime, tolerance_hours: float
) -> None:
    """Raises ``ExtractionError('future_date')`` for a date past ``now`` plus the tolerance.

    Event time is the publication time, and the clustering clock only moves
    forward: one article dated 2999 (a typo, a wrong clock, a hostile feed)
    would make every later article "late" for good, in this run and in every
    run that resumes its state. A date is trusted only up to a little past
    now (time zones, clocks slightly off); whatever its source, a file's
    modification time included.
    """
    limit = now + dt.timedelta(hours=tolerance_hours)
    if published > limit:
        ahead = (published - now).total_seconds() / 3600
        raise ExtractionError(
            "future_date",
            f"published {published.astimezone(dt.UTC).isoformat()} (from {source}) is "
            f"{ahead:.1f} h after now ({now.astimezone(dt.UTC).isoformat()}), beyond the "
            f"tolerance of {tolerance_hours:g} h (extraction.future_tolerance_hours)",
        )


def extract_article(
    doc: RawDocument, settings: ExtractionSettings, now: dt.datetime | None = None
) -> Article:
    """Turns one raw item into an article, or raises an ``ItemError``.

    ``now`` (the current time when None) bounds the publication date: see
    ``check_not_future``.
    """
    if len(doc.content) > settings.max_bytes:
        raise ReadError(
            "too_large", f"{len(doc.content)} bytes is over the {settings.max_bytes}-byte cap"
        )
    if doc.media_type == "text/html":
        if not doc.content.strip():
            raise ReadError("empty", "the item is empty or whitespace only")
        extracted = _from_html(doc.content, doc.meta.url or doc.uri)
    else:
        text = decode_text(doc.content)
        if _control_ratio(text) > 0.05:
            raise ReadError("binary", "too many control characters for text")
        extracted = _from_text(text, markdown=doc.media_type == "text/markdown")

    body = extracted.body.strip()
    known_title = doc.meta.title or extracted.title or ""
    # Chinese, Thai… count in word-sized units, not by spaces (``scripts``).
    word_count = count_words(body) + count_words(known_title)
    minimum = settings.min_words
    if doc.media_type == "text/html" and settings.page_min_words is not None:
        minimum = settings.page_min_words
    if word_count < minimum:
        raise ExtractionError(
            "no_text",
            f"{word_count} words of title and text after cleaning (minimum {minimum})",
        )

    meta = doc.meta
    if meta.published is not None:
        published, published_source = meta.published, meta.origin
    elif extracted.published is not None:
        published, published_source = extracted.published, extracted.published_source or "text"
    elif doc.mtime is not None:
        published, published_source = dt.datetime.fromtimestamp(doc.mtime, tz=dt.UTC), "mtime"
    else:
        raise ExtractionError(
            "no_date",
            "no publication date in metadata, document or text, and no file modification time",
        )
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt.UTC)
    check_not_future(
        published,
        published_source,
        dt.datetime.now(dt.UTC) if now is None else now,
        settings.future_tolerance_hours,
    )

    return Article(
        id=doc.item_id,
        url=meta.url or doc.uri,
        title=(meta.title or extracted.title or fallback_title(body)).strip(),
        text=body,
        published=published.astimezone(dt.UTC),
        published_source=published_source,
        source=meta.source or extracted.sitename or "",
        author=meta.author or extracted.author or "",
        # The stated language, else "" for ``Fingerprint`` to detect.
        language=normalise_language(meta.language) or "",
        role=doc.role,
        thread_id=doc.thread_id,
        text_from=meta.text_from,
    )
