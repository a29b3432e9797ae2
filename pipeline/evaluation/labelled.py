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

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, model_validator

from pipeline.config.validation import FileModel, NonBlank, json_lines, read_text, validate
from transforms.core.errors import ConfigError
from transforms.core.records import ArticleMeta, RawDocument
from transforms.core.settings import SettingError, ThreadSpec
from transforms.text.dates import parse_datetime


def _date(value: str | None) -> str | None:
    if value is not None:
        parse_datetime(value)  # its ValueError names the value
    return value


#: Any JSON value but null is taken as its text.
_Label = Annotated[
    str | None, BeforeValidator(lambda value: value if value is None else str(value))
]


class LabelledRecord(FileModel):
    """One line of a labelled stream."""

    id: NonBlank
    text: NonBlank
    story: _Label = None
    thread: _Label = None
    role: Literal["stream", "exemplar"] = "stream"
    title: _Label = None
    published: Annotated[_Label, AfterValidator(_date)] = None
    url: _Label = None
    source: _Label = None
    #: The stated language (``language`` or its synonym ``lang``), if any.
    language: NonBlank | None = None
    #: ``lang``, as the ITN corpus spells it: read into ``language``.
    lang: NonBlank | None = None

    @model_validator(mode="before")
    @classmethod
    def _lang(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lang" in data:
            data = dict(data)
            lang = data.pop("lang")
            if "language" in data and data["language"] != lang:
                raise SettingError("lang", "'language' and 'lang' disagree")
            data["language"] = lang
        return data

    @model_validator(mode="after")
    def _labels(self) -> "LabelledRecord":
        if self.role == "exemplar" and not self.thread:
            raise SettingError("thread", "an exemplar must name its thread")
        if self.role == "stream" and not self.story:
            raise SettingError("story", "a stream article needs its gold story")
        return self


def parse_stream(text: str, path: str) -> list[LabelledRecord]:
    """Parses and validates a labelled stream; errors name the file, line and field."""
    records: list[LabelledRecord] = []
    seen: set[str] = set()
    for where, obj in json_lines(text, path):
        record = validate(LabelledRecord, obj, path, where)
        if record.id in seen:
            raise ConfigError(path, f"duplicate id {record.id!r}", key=f"{where}.id")
        seen.add(record.id)
        records.append(record)
    return records


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
