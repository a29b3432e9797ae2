"""Pub/Sub in: article messages (Beam's own Pub/Sub I/O; alerts out: ``transforms.sinks.pubsub``).

An article message is one JSON object, the same fields as a line of a
``.jsonl`` input file: ``text`` (or ``body``/``content``) or ``html``, with
optional ``id``, ``title``, ``url``, ``source``, ``published``, ``language``,
``author``, and, for a feed article from ``threadwatch poll-feeds``,
``published_source`` (``feed``/``fetch``) and ``text_from`` (``page``/``entry``),
which the article keeps (see ``transforms.sources.folder.json_item``).
"""

import json
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub

from transforms.core.metrics import count_dead_letter, counter
from transforms.core.records import DEAD_LETTER, DeadLetter
from transforms.sources.folder import json_item


class _ParseArticleMessageFn(beam.DoFn):
    def __init__(self, subscription: str) -> None:
        self._subscription = subscription
        self._read = counter("items_read")

    def process(self, message: PubsubMessage) -> Iterator[Any]:
        message_id = message.message_id or ""
        uri = f"pubsub://{self._subscription}#{message_id}"
        try:
            obj = json.loads(message.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            item: Any = DeadLetter(
                message_id,
                uri,
                "read",
                "invalid_json",
                f"message is not a UTF-8 JSON object: {exc}",
            )
        else:
            item = json_item(obj, message_id or "message", uri, None)
        if isinstance(item, DeadLetter):
            self._read.inc()  # documents that go on are counted by ExtractText
            count_dead_letter(item)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, item)
        else:
            yield item


class ReadArticleMessages(beam.PTransform):  # type: ignore[type-arg]
    """A Pub/Sub subscription of article messages → raw documents (+ ``dead_letter``)."""

    def __init__(self, subscription: str) -> None:
        super().__init__()
        self._subscription = subscription

    def expand(self, pbegin: Any) -> Any:
        return (
            pbegin
            | "ReadFromPubSub"
            >> ReadFromPubSub(subscription=self._subscription, with_attributes=True)
            | "ParseMessages"
            >> beam.ParDo(_ParseArticleMessageFn(self._subscription)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
