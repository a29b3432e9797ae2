"""Pub/Sub out: one message per alert (Beam's own Pub/Sub I/O).

An alert message is the alert's JSON (``config/alert.schema.json``) with
attributes ``alert_id`` (consumers de-duplicate on it: it is the same on
every run and after a restart), ``thread_id``, ``story_id`` and ``type``.
"""

import json
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, WriteToPubSub

from transforms.core.records import Alert


def alert_message(alert: Alert) -> PubsubMessage:
    body = json.dumps(alert.to_json(), sort_keys=True, ensure_ascii=False).encode()
    return PubsubMessage(
        body,
        {
            "alert_id": alert.alert_id,
            "thread_id": str(alert.thread["id"]),
            "story_id": str(alert.story["id"]),
            "type": "new_story_on_thread",
        },
    )


class PublishAlerts(beam.PTransform):  # type: ignore[type-arg]
    """Alerts → a Pub/Sub topic, one message each, with attributes for routing."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self._topic = topic

    def expand(self, alerts: Any) -> Any:
        return (
            alerts
            | "ToMessages" >> beam.Map(alert_message)
            | "WriteToPubSub" >> WriteToPubSub(self._topic, with_attributes=True)
        )
