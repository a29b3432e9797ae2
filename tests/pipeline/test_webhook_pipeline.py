"""``--alert_webhook`` end to end: the seeds' golden alerts reach a real server on 127.0.0.1."""

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import jsonschema
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.cli.main import main
from pipeline.graph import build
from pipeline.summary import summarise
from tests.feed_server import FeedServer, Reply, Request
from tests.pipeline.test_cli import threadwatch
from tests.pipeline.test_pubsub import publish_documents, topics
from tests.support import REPO, CachedModelHandler, folder_documents, make_job, read_jsonl, run_job
from transforms.sinks.deliver import DEAD_LETTERS_FILE, DELIVERIES_FILE, OUTBOX_FILE
from transforms.sinks.webhook import WebhookPolicy

HOOK = "/hooks/alerts"
GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "seeds.json").read_text())
GOLDEN_IDS = [a["alert_id"] for a in GOLDEN["alerts"]]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def validate(record: dict[str, Any], schema: str) -> None:
    """Against ``config/<schema>.schema.json``; the alert schema (an embedded resource, by
    its ``$id``) stands in for the ``$ref`` to it."""
    data = json.loads((REPO / "config" / f"{schema}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    if "alert" in data["properties"]:
        alert = json.loads((REPO / "config" / "alert.schema.json").read_text())
        assert data["properties"]["alert"] == {"$ref": alert["$id"]}
        data["properties"]["alert"] = {k: v for k, v in alert.items() if k != "$schema"}
    jsonschema.validate(record, data, format_checker=jsonschema.FormatChecker())


def policy(server: FeedServer, **changes: Any) -> WebhookPolicy:
    base = WebhookPolicy(
        url=server.url(HOOK),
        timeout_seconds=2,
        retries=1,
        backoff_seconds=0.01,
        allow_private_hosts=True,
    )
    return dataclasses.replace(base, **changes)


def posted(server: FeedServer) -> list[dict[str, Any]]:
    return [json.loads(p.body) for p in server.posted]


def test_the_server_gets_exactly_the_golden_alerts(
    tmp_path: Path, seeds_dir: Path, server: FeedServer, model_handler: CachedModelHandler
) -> None:
    server.route(HOOK, Reply(b"", 500), Reply(b"ok", 200))  # the first attempt fails
    job = dataclasses.replace(make_job(tmp_path, seeds_dir), webhook=policy(server))
    result = run_job(job, model_handler)

    alerts = result.outputs["alerts"]
    assert [a["alert_id"] for a in alerts] == GOLDEN_IDS
    received = {p.headers["idempotency-key"]: json.loads(p.body) for p in server.posted}
    assert sorted(received) == sorted(GOLDEN_IDS)
    assert all(received[a["alert_id"]] == a for a in alerts)  # the very alerts written
    assert len(server.posted) == 3  # one retry, after the 500
    outcomes = read_jsonl(tmp_path / DELIVERIES_FILE)
    assert sorted((o["alert_id"], o["outcome"]) for o in outcomes) == sorted(
        (i, "delivered") for i in GOLDEN_IDS
    )
    assert read_jsonl(tmp_path / DEAD_LETTERS_FILE) == []
    for body in received.values():
        validate(body, "alert")
    for outcome in outcomes:
        validate(outcome, "webhook_delivery")
    counters = result.counters
    assert (counters["webhook_delivered"], counters.get("webhook_dead_lettered", 0)) == (2, 0)
    assert counters["webhook_attempts"] == 3
    assert counters.get("dead_letters", 0) == 0  # not an input item's dead letter
    assert (
        "webhook:           2 delivered, 0 dead-lettered  (3 attempts)"
        in summarise(counters, alerts).lines()
    )


def test_failed_deliveries_are_dead_letters_with_the_alert(
    tmp_path: Path, seeds_dir: Path, server: FeedServer, model_handler: CachedModelHandler
) -> None:
    server.route(HOOK, Reply(b"down", 503))
    job = dataclasses.replace(make_job(tmp_path, seeds_dir), webhook=policy(server))
    result = run_job(job, model_handler)

    letters = read_jsonl(tmp_path / DEAD_LETTERS_FILE)
    assert sorted(d["item"] for d in letters) == sorted(GOLDEN_IDS)
    assert {(d["stage"], d["reason"], d["attempts"]) for d in letters} == {
        ("webhook", "http_503", 2)
    }
    assert {d["alert"]["alert_id"]: d["alert"] for d in letters} == {
        a["alert_id"]: a for a in result.outputs["alerts"]
    }
    assert result.counters["webhook_dead_lettered.http_503"] == 2
    for letter in letters:
        validate(letter, "webhook_dead_letter")
    for outcome in read_jsonl(tmp_path / DELIVERIES_FILE):
        validate(outcome, "webhook_delivery")
        assert outcome["outcome"] == "dead_lettered"
    with pytest.raises(jsonschema.ValidationError):
        validate({**letters[0], "stage": "feed"}, "webhook_dead_letter")
    assert len(server.posted) == 4
    assert "webhook:           0 delivered, 2 dead-lettered  (http_503: 2)  (4 attempts)" in (
        summarise(result.counters, result.outputs["alerts"]).lines()
    )


def test_a_loopback_webhook_is_refused_by_default_and_gets_nothing(
    tmp_path: Path, seeds_dir: Path, server: FeedServer, model_handler: CachedModelHandler
) -> None:
    server.route(HOOK, Reply(b"ok", 200))
    job = dataclasses.replace(
        make_job(tmp_path, seeds_dir), webhook=policy(server, allow_private_hosts=False)
    )
    result = run_job(job, model_handler)

    assert server.received_nothing()
    letters = read_jsonl(tmp_path / DEAD_LETTERS_FILE)
    assert sorted(d["item"] for d in letters) == sorted(GOLDEN_IDS)
    assert {d["reason"] for d in letters} == {"unsafe_url"}
    assert result.counters["webhook_dead_lettered.unsafe_url"] == 2


def test_with_state_committed_alerts_are_sent_and_a_crash_after_commit_resends_them(
    tmp_path: Path, seeds_dir: Path, server: FeedServer, model_handler: CachedModelHandler
) -> None:
    out, state = tmp_path / "out", tmp_path / "state.json"
    seen_at_post: list[tuple[bool, bool]] = []

    def committed_first(_: Request) -> Reply:
        # What a receiver could check: the run's state and alerts are in place.
        seen_at_post.append((state.exists(), (out / "alerts.jsonl").exists()))
        return Reply(b"ok", 200)

    server.handle(HOOK, committed_first)
    job = dataclasses.replace(
        make_job(out, seeds_dir), webhook=policy(server), state_path=str(state)
    )
    first = run_job(job, model_handler)
    assert seen_at_post == [(True, True), (True, True)]  # delivered only once committed
    assert sorted(p.headers["idempotency-key"] for p in server.posted) == sorted(GOLDEN_IDS)
    assert not (out / OUTBOX_FILE).exists()  # every outcome written: nothing pending
    assert not list(out.glob(".staging-*"))

    # A crash after the commit and before the outcomes were written leaves the
    # outbox in place; the next start sends its alerts again, same keys.
    (out / OUTBOX_FILE).write_text(
        "".join(json.dumps(a, sort_keys=True) + "\n" for a in first.outputs["alerts"])
    )
    second = run_job(job, model_handler)
    assert second.outputs["alerts"] == []  # the seeds were already decided
    keys = [p.headers["idempotency-key"] for p in server.posted]
    assert sorted(keys[2:]) == sorted(GOLDEN_IDS)
    bodies = sorted(posted(server), key=lambda a: str(a["alert_id"]))
    assert bodies[0::2] == bodies[1::2]  # each alert sent twice, the same body
    assert not (out / OUTBOX_FILE).exists()

    run_job(job, model_handler)
    assert len(server.posted) == 4  # nothing new, nothing pending: nothing sent


def test_the_cli_flags_reach_the_webhook(tmp_path: Path, server: FeedServer) -> None:
    server.route(HOOK, Reply(b"ok", 200))
    done = threadwatch(
        "run",
        "--output",
        str(tmp_path / "out"),
        "--alert_webhook",
        server.url(HOOK),
        "--alert_webhook_format",
        "slack",
        "--alert_webhook_allow_private",
    )
    assert done.returncode == 0, done.stderr
    assert "webhook:           2 delivered, 0 dead-lettered  (2 attempts)" in done.stdout
    assert "webhook_deliveries.jsonl, webhook_dead_letters.jsonl" in done.stdout
    texts = sorted(json.loads(p.body)["text"] for p in server.posted)
    for p in server.posted:
        validate(json.loads(p.body), "webhook_slack")
    assert len(texts) == 2 and all("*Russia–Iran strategic treaty*" in t for t in texts)
    assert sorted(p.headers["idempotency-key"] for p in server.posted) == sorted(GOLDEN_IDS)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--alert_webhook", "ftp://hooks.example.com/x"], "--alert_webhook: must be an http(s)"),
        (
            ["--alert_webhook", "https://hooks.example.com/x", "--alert_webhook_retries", "99"],
            "--alert_webhook: retries must be between 0 and 20 (got 99)",
        ),
        (["--alert_webhook_format", "xml"], "--alert_webhook_format: must be one of json, slack"),
    ],
)
def test_a_bad_webhook_flag_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["run", "--output", str(tmp_path / "out"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_streaming_delivers_each_alert_as_it_happens(
    pubsub: str,
    tmp_path: Path,
    seeds_dir: Path,
    server: FeedServer,
    model_handler: CachedModelHandler,
) -> None:
    """``--streaming``: the DoFn after the alerts posts each one; outcomes go to pane files."""
    server.route(HOOK, Reply(b"", 503), Reply(b"ok", 200))
    publisher, _, names = topics("webhook-")
    publish_documents(publisher, names["articles"], folder_documents(seeds_dir))
    job = dataclasses.replace(
        make_job(tmp_path / "out"),
        streaming=True,
        flush_every_seconds=1.0,
        pane_seconds=1.0,
        input_subscription=names["articles_sub"],
        webhook=policy(server),
    )
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build(pipeline, job, handler=model_handler)
    result = pipeline.run()
    try:
        deadline = time.monotonic() + 180
        outcomes: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(outcomes) < 2:
            time.sleep(1)
            outcomes = [
                json.loads(line)
                for f in sorted((tmp_path / "out" / "webhook_deliveries").glob("*.jsonl"))
                for line in f.read_text().splitlines()
            ]
    finally:
        result.cancel()
    assert sorted(o["alert_id"] for o in outcomes) == sorted(GOLDEN_IDS)
    assert {o["outcome"] for o in outcomes} == {"delivered"}
    assert sorted({p.headers["idempotency-key"] for p in server.posted}) == sorted(GOLDEN_IDS)
    assert len(server.posted) == 3  # the first attempt got a 503 and was retried
