"""``config/feedback.jsonl``: the analyst's verdicts on alerts, read and appended.

One JSON object per line (schema: ``config/feedback.schema.json``):

    verdict    "relevant", "not-relevant" or "mute"
    thread_id  the alert's thread (absent with a story muted on every thread)
    story_id   the alert's story (absent when a whole thread is muted)
    alert_id   optional: the alert the verdict was given on
    note       optional: why, in the analyst's words
    at         optional: when (ISO 8601); decides nothing about stories, orders
               the verdicts that reach a running job in one step

Appending is the only write: the file is a log an analyst can read, diff and
keep in version control, and the same file gives the same decisions.
"""

import datetime as dt
import json
import os
from typing import Any, Literal

from pydantic import model_validator

from pipeline.config.validation import FileModel, NonBlank, json_lines, read_text, validate
from transforms.core.feedback import FeedbackMark
from transforms.core.settings import SettingError


class FeedbackLine(FileModel):
    """One verdict."""

    verdict: Literal["relevant", "not-relevant", "mute"]
    thread_id: NonBlank | None = None
    story_id: NonBlank | None = None
    alert_id: NonBlank | None = None
    note: str = ""
    at: NonBlank | None = None

    @model_validator(mode="after")
    def _target(self) -> "FeedbackLine":
        if self.verdict != "mute" and not (self.thread_id and self.story_id):
            raise SettingError("story_id", f"a {self.verdict!r} verdict names a thread and a story")
        if self.verdict == "mute" and not (self.thread_id or self.story_id):
            raise SettingError("thread_id", "a mute names a thread or a story")
        return self

    def mark(self) -> FeedbackMark:
        return FeedbackMark(
            verdict=self.verdict,
            thread_id=self.thread_id,
            story_id=self.story_id,
            alert_id=self.alert_id,
            note=self.note,
            at=self.at or "",
        )


def parse_feedback(text: str, path: str) -> list[FeedbackMark]:
    """Every verdict of the file, in file order; errors name the file, line and key."""
    marks: list[FeedbackMark] = []
    for where, obj in json_lines(text, path):
        marks.append(validate(FeedbackLine, obj, path, where).mark())
    return marks


def load_feedback(path: str | None, required: bool = True) -> list[FeedbackMark]:
    """The verdicts of ``path``; none for no path, or for a missing optional file."""
    if not path or (not required and not os.path.exists(path)):
        return []
    return parse_feedback(read_text(path), path)


def append_feedback(path: str, mark: FeedbackMark) -> dict[str, Any]:
    """Appends one verdict (stamped with the time now if it has none); returns the line.

    One ``write`` of a whole line, then fsync: a crash leaves the file with or
    without the verdict, never with half of it.
    """
    line = mark.to_json()
    line["at"] = mark.at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )
    validate(FeedbackLine, line, path, "new line")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
    with open(path, "ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a line someone typed without its newline
                data = b"\n" + data
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return line
