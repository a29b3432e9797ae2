"""An analyst's verdicts on alerts: what ``config/feedback.jsonl`` holds, as types.

A verdict names a story on a thread (both ids come from the alert). The
tracker reads the file at every start, and a streaming job also takes marks
as they come (``--feedback_subscription``), from its next step on: a story
marked not relevant never alerts on that thread again and becomes one of its
negative examples; one marked relevant becomes one of its positive examples;
a muted story or thread raises no alert. The same inputs and the same
verdicts give the same outputs, because verdicts are keyed by ids that
derive from the inputs.
"""

import dataclasses
from typing import Any, Literal

from transforms.core.records import EmbeddedArticle

Verdict = Literal["relevant", "not-relevant", "mute"]
VERDICTS: tuple[Verdict, ...] = ("relevant", "not-relevant", "mute")


@dataclasses.dataclass(frozen=True)
class FeedbackMark:
    """One line of the feedback file."""

    verdict: Verdict
    #: The thread the verdict is about; None: a muted story, on every thread.
    thread_id: str | None
    #: The story; None: the whole thread is muted.
    story_id: str | None
    alert_id: str | None = None
    note: str = ""
    #: When the analyst decided (ISO 8601). Decides nothing about stories;
    #: orders the verdicts that reach a running job in the same step.
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        """The feedback file's line for this mark (absent fields left out)."""
        line: dict[str, Any] = {"verdict": self.verdict}
        for key in ("thread_id", "story_id", "alert_id"):
            value = getattr(self, key)
            if value is not None:
                line[key] = value
        if self.note:
            line["note"] = self.note
        if self.at:
            line["at"] = self.at
        return line

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> "FeedbackMark":
        """The inverse of ``to_json``, for lines this code wrote (snapshots, journals).

        Lines from people are validated first (``pipeline.config.feedback``).
        """
        verdict = line["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        return cls(
            verdict=verdict,
            thread_id=line.get("thread_id"),
            story_id=line.get("story_id"),
            alert_id=line.get("alert_id"),
            note=str(line.get("note", "")),
            at=str(line.get("at", "")),
        )


@dataclasses.dataclass(frozen=True)
class TrackerInput:
    """One element of the clustering stage's input: an embedded article, or a verdict.

    A streaming job's verdicts share the tracker's input with the articles,
    so that both reach its one key in the order its steps decide.
    """

    article: EmbeddedArticle | None = None
    mark: FeedbackMark | None = None

    def __post_init__(self) -> None:
        if (self.article is None) == (self.mark is None):
            raise ValueError("a tracker input holds an article or a verdict, not both or neither")
