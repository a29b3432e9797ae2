"""``DeliverAlerts``: each alert POSTed to the webhook by a thin DoFn around ``WebhookSender``.

Outputs: ``main``, a ``Delivery`` per alert (delivered or not, for
``webhook_deliveries.jsonl``), and ``dead_letter``, a ``FailedDelivery``
per alert that could not be delivered (``webhook_dead_letters.jsonl``, with
the alert, so it can be sent again). Counters: ``webhook_delivered``,
``webhook_dead_lettered`` (and by reason), ``webhook_attempts``. These are
not the pipeline's ``dead_letters`` counters: a failed delivery is not a
failed input item, and read = clustered + duplicates + dead letters holds.

``after``: a PCollection the deliveries wait for (a side input is complete
before the first alert is processed): in batch, the committed outputs, so
only committed alerts are sent (see ``pipeline.graph.deliver_alerts``).
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from transforms.core.atomic import read_bytes
from transforms.core.metrics import counter
from transforms.core.records import DEAD_LETTER
from transforms.sinks.webhook import WebhookPolicy, WebhookSender

#: Where a batch run with ``--state`` keeps the alerts it committed but has not
#: finished delivering (in the output folder, moved there with the commit).
OUTBOX_FILE = "webhook_outbox.jsonl"
DELIVERIES_FILE = "webhook_deliveries.jsonl"
DEAD_LETTERS_FILE = "webhook_dead_letters.jsonl"


class OutboxEntry:
    """An alert's JSON as a record with ``to_json`` (for ``WriteJsonLines``)."""

    def __init__(self, alert: Mapping[str, Any]) -> None:
        self.alert = dict(alert)

    def to_json(self) -> dict[str, Any]:
        return self.alert


def read_outbox(path: str) -> list[dict[str, Any]]:
    """The alerts a committed run left undelivered (none: no file)."""
    data = read_bytes(path)
    if data is None:
        return []
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


class _DeliverFn(beam.DoFn):
    def __init__(self, policy: WebhookPolicy) -> None:
        self._policy = policy
        self._sender: WebhookSender | None = None

    def setup(self) -> None:
        self._sender = WebhookSender(self._policy)

    def teardown(self) -> None:
        if self._sender is not None:
            self._sender.close()

    def process(self, alert: Mapping[str, Any], *_after: Any) -> Iterator[Any]:
        assert self._sender is not None
        delivery = self._sender.deliver(alert)
        counter("webhook_attempts").inc(delivery.attempts)
        if delivery.delivered:
            counter("webhook_delivered").inc()
        else:
            counter("webhook_dead_lettered").inc()
            counter(f"webhook_dead_lettered.{delivery.reason}").inc()
            yield TaggedOutput(DEAD_LETTER, delivery.dead_letter())
        yield delivery


def _alert_json(alert: Any) -> dict[str, Any]:
    return alert.to_json() if hasattr(alert, "to_json") else dict(alert)


class DeliverAlerts(beam.PTransform):  # type: ignore[type-arg]
    """Alerts (records or their JSON) → ``main`` deliveries and ``dead_letter`` failures."""

    def __init__(self, policy: WebhookPolicy, after: Any = None) -> None:
        super().__init__()
        self._policy = policy
        self._after = after

    def expand(self, alerts: Any) -> Any:
        waits = [beam.pvalue.AsList(self._after)] if self._after is not None else []
        return (
            alerts
            | "ToJson" >> beam.Map(_alert_json)
            | "Post"
            >> beam.ParDo(_DeliverFn(self._policy), *waits).with_outputs(DEAD_LETTER, main="main")
        )


class _ClearOutboxFn(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, _: Any, written: list[str]) -> Iterator[str]:
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(self._path):
            FileSystems.delete([self._path])
        yield self._path


class ClearOutbox(beam.PTransform):  # type: ignore[type-arg]
    """Once every delivery's outcome is written (``written``), the outbox is done with."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def expand(self, written: Any) -> Any:
        return (
            written.pipeline
            | "Once" >> beam.Create([None])
            | "Delete" >> beam.ParDo(_ClearOutboxFn(self._path), beam.pvalue.AsList(written))
        )
