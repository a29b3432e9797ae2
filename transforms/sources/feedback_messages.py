"""Pub/Sub in: analysts' verdicts for a running streaming job (``--feedback_subscription``).

A message holds one or more lines of the feedback file (``config/feedback.jsonl``
format): what ``threadwatch feedback --topic`` publishes, or what
``threadwatch watch --feedback`` publishes for a file dropped in a folder
(a download from the HTML report, say). Each valid line becomes a verdict
for the clustering stage; a message with a line that is not valid is
refused whole, as a dead letter (stage ``feedback``) that names the line and
key, so that half of what an analyst sent never applies without the rest.

The lines are checked by the same validator as the file (``parse``, given by
the caller: ``pipeline.config.feedback.parse_feedback``), so a verdict means
the same wherever it comes from.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub

from transforms.core.errors import ThreadwatchError
from transforms.core.feedback import FeedbackMark
from transforms.core.metrics import counter
from transforms.core.records import DEAD_LETTER, DeadLetter

#: Parses a feedback file's text (its name for messages), raising ``ThreadwatchError``.
Parse = Callable[[str, str], Sequence[FeedbackMark]]


class _ParseFeedbackFn(beam.DoFn):
    def __init__(self, subscription: str, parse: Parse) -> None:
        self._subscription = subscription
        self._parse = parse
        self._read = counter("feedback_messages")
        self._refused = counter("feedback_refused")

    def process(self, message: PubsubMessage) -> Iterator[Any]:
        self._read.inc()
        message_id = message.message_id or "message"
        uri = f"pubsub://{self._subscription}#{message_id}"
        try:
            text = message.data.decode("utf-8")
            marks = self._parse(text, uri)
        except UnicodeDecodeError as exc:
            detail = f"feedback message is not UTF-8: {exc}"
        except ThreadwatchError as exc:
            detail = f"feedback message refused: {exc}"
        else:
            if marks:
                yield from marks
                return
            detail = "feedback message holds no verdict (no line of the feedback file)"
        # Not counted with the articles' dead letters: the run's accounting
        # (read = clustered + duplicates + dead letters) is about articles.
        self._refused.inc()
        yield beam.pvalue.TaggedOutput(
            DEAD_LETTER, DeadLetter(message_id, uri, "feedback", "invalid_feedback", detail)
        )


class ReadFeedbackMessages(beam.PTransform):  # type: ignore[type-arg]
    """A Pub/Sub subscription of feedback lines → verdicts (+ ``dead_letter``)."""

    def __init__(self, subscription: str, parse: Parse) -> None:
        super().__init__()
        self._subscription = subscription
        self._parse = parse

    def expand(self, pbegin: Any) -> Any:
        return (
            pbegin
            | "ReadFromPubSub"
            >> ReadFromPubSub(subscription=self._subscription, with_attributes=True)
            | "ParseVerdicts"
            >> beam.ParDo(_ParseFeedbackFn(self._subscription, self._parse))
            .with_output_types(FeedbackMark)
            .with_outputs(DEAD_LETTER, main="main")
        )
