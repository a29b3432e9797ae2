"""The clustering stage's tagged outputs, and the counters a worker keeps of them."""

from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue

from transforms.core.metrics import count_dead_letter, counter
from transforms.core.records import (
    DEAD_LETTER,
    Alert,
    Assignment,
    DeadLetter,
    Duplicate,
    Event,
    StoryRecord,
    ThreadRecord,
)

ASSIGNMENTS = "assignments"
DUPLICATES = "duplicates"
ALERTS = "alerts"
STORIES = "stories"
THREADS = "threads"
STATE = "state"
_TAGS = {
    Assignment: ASSIGNMENTS,
    Duplicate: DUPLICATES,
    Alert: ALERTS,
    StoryRecord: STORIES,
    ThreadRecord: THREADS,
    DeadLetter: DEAD_LETTER,
}


class EventOutputs:
    """Counts each event (Beam metrics) and tags it for its output, at its event time.

    Made in a DoFn's constructor: Beam metrics are declared there.
    """

    def __init__(self) -> None:
        self._clustered = counter("articles_clustered")
        self._opened = counter("stories_opened")
        self._duplicates = counter("duplicates")
        self._alerts = counter("alerts")
        self._emergent = counter("threads_emergent")
        self.marks = counter("feedback_marks")

    def output(self, event: Event) -> Any:
        if isinstance(event, Assignment):
            self._clustered.inc()
            if event.action == "opened":
                self._opened.inc()
        elif isinstance(event, Duplicate):
            self._duplicates.inc()
        elif isinstance(event, Alert):
            self._alerts.inc()
        elif isinstance(event, ThreadRecord):
            self._emergent.inc()
        elif isinstance(event, DeadLetter):
            count_dead_letter(event)
        timestamp = event.event_time.timestamp() if not isinstance(event, DeadLetter) else None
        value = event if timestamp is None else TimestampedValue(event, timestamp)
        tag = _TAGS[type(event)]
        return value if tag == ASSIGNMENTS else beam.pvalue.TaggedOutput(tag, value)
