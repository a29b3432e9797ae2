"""The labelled-stream format used by ``threadwatch eval``.

One JSON object per line:

    id         unique article id (string)
    text       article text (plain text)
    title      optional headline
    published  optional ISO 8601 time; the article's event time
    url        optional
    story      gold story label (any string): articles on the same event share it
    thread     optional gold thread label: stories of one long-running storyline
    role       "stream" (default): scored; "exemplar": defines the watched thread
               named in ``thread`` (it builds the thread and is not scored)
    language   optional language tag (or ``lang``): stated, so not detected

Any corpus with story labels fits; ``pipeline.evaluation.ecbplus`` converts ECB+.
"""

import dataclasses
import json
from typing import Any

from pipeline.config.settings import read_text
from transforms.core.errors import ConfigError
from transforms.core.records import ArticleMeta, RawDocument
from transforms.core.settings import ThreadSpec
from transforms.text.dates import parse_datetime

_FIELDS = {
    "id", "text", "title", "published", "url", "story", "thread", "role", "source", "language",
    "lang",
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class LabelledRecord:
    id: str
    text: str
    story: str | None
    thread: str | None
    role: str
    title: str | None = None
    published: str | None = None
    url: str | None = None
    source: str | None = None
    #: The stated language as given (``language`` or ``lang``), if any.
    language: str | None = None


def parse_stream(text: str, path: str) -> list[LabelledRecord]:
    """Parses and validates a labelled stream; errors name the file, line and field."""
    records: list[LabelledRecord] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(path, f"invalid JSON: {exc}", key=where) from None
        if not isinstance(obj, dict):
            raise ConfigError(path, "must be a JSON object", key=where)
        unknown = set(obj) - _FIELDS
        if unknown:
            raise ConfigError(
                path,
                f"unknown field (known: {', '.join(sorted(_FIELDS))})",
                key=f"{where}.{sorted(unknown)[0]}",
            )
        for field in ("id", "text"):
            if not isinstance(obj.get(field), str) or not obj[field].strip():
                raise ConfigError(path, "must be a non-empty string", key=f"{where}.{field}")
        role = obj.get("role", "stream")
        if role not in ("stream", "exemplar"):
            raise ConfigError(path, "must be 'stream' or 'exemplar'", key=f"{where}.role")
        if role == "exemplar" and not obj.get("thread"):
            raise ConfigError(path, "an exemplar must name its thread", key=f"{where}.thread")
        if role == "stream" and not obj.get("story"):
            raise ConfigError(path, "a stream article needs its gold story", key=f"{where}.story")
        if obj.get("published") is not None:
            try:
                parse_datetime(str(obj["published"]))
            except ValueError as exc:
                raise ConfigError(path, str(exc), key=f"{where}.published") from None
        if "language" in obj and "lang" in obj and obj["language"] != obj["lang"]:
            raise ConfigError(path, "'language' and 'lang' disagree", key=f"{where}.lang")
        language = obj.get("language", obj.get("lang"))
        if language is not None and (not isinstance(language, str) or not language.strip()):
            raise ConfigError(path, "must be a non-empty string", key=f"{where}.language")
        if obj["id"] in seen:
            raise ConfigError(path, f"duplicate id {obj['id']!r}", key=f"{where}.id")
        seen.add(obj["id"])
        records.append(
            LabelledRecord(
                id=obj["id"],
                text=obj["text"],
                story=_opt(obj, "story"),
                thread=_opt(obj, "thread"),
                role=role,
                title=_opt(obj, "title"),
                published=_opt(obj, "published"),
                url=_opt(obj, "url"),
                source=_opt(obj, "source"),
                language=language,
            )
        )
    return records


def _opt(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else str(value)


def read_stream(path: str) -> list[LabelledRecord]:
    return parse_stream(read_text(path), path)


def document(record: LabelledRecord, path: str) -> RawDocument:
    """A labelled record as the pipeline's input item (labels stay behind)."""
    meta = ArticleMeta(
        title=record.title,
        url=record.url,
        source=record.source,
        published=parse_datetime(record.published) if record.published else None,
        language=record.language,
        origin="document",
    )
    return RawDocument(
        item_id=record.id,
        uri=record.url or f"{path}#{record.id}",
        content=record.text.encode(),
        media_type="text/plain",
        meta=meta,
        role="exemplar" if record.role == "exemplar" else "article",
        thread_id=record.thread if record.role == "exemplar" else None,
    )


def exemplar_threads(records: list[LabelledRecord]) -> list[ThreadSpec]:
    """One watched thread per thread label that has exemplars (no description)."""
    labels = sorted({r.thread for r in records if r.role == "exemplar" and r.thread})
    return [ThreadSpec(id=label, title=label, description="") for label in labels]
