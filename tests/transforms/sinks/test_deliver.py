"""``DeliverAlerts`` in a pipeline: every alert ends delivered or as a dead letter."""

import json
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from tests.feed_server import FeedServer, Reply, Request
from transforms.sinks.deliver import DeliverAlerts, OutboxEntry, read_outbox
from transforms.sinks.webhook import WebhookPolicy

ALERTS = [
    {"alert_id": f"a{i}", "thread": {"title": "T"}, "article": {"title": f"story {i}"}}
    for i in range(4)
]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_each_alert_is_delivered_or_dead_lettered(server: FeedServer) -> None:
    def answer(request: Request) -> Reply:
        # a0 and a2 are accepted, a1 and a3 rejected: the receiver decides by key.
        return Reply(b"", 200 if request.headers["idempotency-key"] in ("a0", "a2") else 422)

    server.handle("/hook", answer)
    policy = WebhookPolicy(url=server.url("/hook"), allow_private_hosts=True, retries=0)
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        results = p | beam.Create(ALERTS) | DeliverAlerts(policy)
        outcomes = results["main"] | "Outcome" >> beam.Map(
            lambda d: (d.alert_id, d.to_json()["outcome"], d.reason)
        )
        letters = results["dead_letter"] | "Letter" >> beam.Map(
            lambda d: (d.to_json()["item"], d.to_json()["alert"]["article"]["title"])
        )
        assert_that(
            outcomes,
            equal_to(
                [
                    ("a0", "delivered", "delivered"),
                    ("a1", "dead_lettered", "http_422"),
                    ("a2", "delivered", "delivered"),
                    ("a3", "dead_lettered", "http_422"),
                ]
            ),
            label="outcomes",
        )
        assert_that(letters, equal_to([("a1", "story 1"), ("a3", "story 3")]), label="letters")
    assert sorted(json.loads(r.body)["alert_id"] for r in server.posted) == ["a0", "a1", "a2", "a3"]


def test_the_outbox_reads_back_what_was_staged(tmp_path: Any) -> None:
    path = tmp_path / "webhook_outbox.jsonl"
    assert read_outbox(str(path)) == []
    path.write_text("".join(json.dumps(OutboxEntry(a).to_json()) + "\n" for a in ALERTS))
    assert read_outbox(str(path)) == ALERTS
