"""An analyst's verdicts on alerts: what ``config/feedback.jsonl`` holds, as types.

A verdict names a story on a thread (both ids come from the alert). The
tracker reads them at every start: a story marked not relevant never alerts
on that thread again and becomes one of its negative examples; one marked
relevant becomes one of its positive examples; a muted story or thread
raises no alert. The same inputs and the same verdicts give the same
outputs, because verdicts are keyed by ids that derive from the inputs.
"""

import dataclasses
from typing import Literal

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
    #: When the analyst decided (ISO 8601): recorded, never used in decisions.
    at: str = ""
