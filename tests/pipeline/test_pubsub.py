"""Streaming through the real Pub/Sub emulator: articles in, alerts out."""

import dataclasses
import datetime as dt
import json
import random
import time
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.graph import build
from tests import golden
from tests.pubsub_emulator import PROJECT
from tests.support import REPO, CachedModelHandler, folder_documents, make_job
from transforms.core.records import RawDocument

#: A later Putin–Pezeshkian meeting: a look-alike of the seeds' October 2024 story.
REPEAT = REPO / "tests" / "fixtures" / "feedback" / "repeat_meeting.txt"
REPEAT_PUBLISHED = dt.datetime(2025, 6, 12, tzinfo=dt.UTC)


def topics(prefix: str = "") -> tuple[Any, Any, dict[str, str]]:
    import google.cloud.pubsub_v1 as pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    names = {
        "articles": publisher.topic_path(PROJECT, f"{prefix}articles"),
        "alerts": publisher.topic_path(PROJECT, f"{prefix}alerts"),
        "articles_sub": subscriber.subscription_path(PROJECT, f"{prefix}articles-job"),
        "alerts_sub": subscriber.subscription_path(PROJECT, f"{prefix}alerts-consumer"),
    }
    for topic in ("articles", "alerts"):
        publisher.create_topic(name=names[topic])
    subscriber.create_subscription(name=names["articles_sub"], topic=names["articles"])
    subscriber.create_subscription(name=names["alerts_sub"], topic=names["alerts"])
    return publisher, subscriber, names


def publish_documents(publisher: Any, topic: str, documents: list[RawDocument]) -> None:
    """Each document as the article message ``threadwatch watch`` would publish."""
    for doc in documents:
        assert doc.meta.published is not None
        message = {
            "id": doc.item_id,
            "text": doc.content.decode(),
            "published": doc.meta.published.isoformat(),
            "source": doc.meta.source or "",
        }
        publisher.publish(topic, json.dumps(message).encode()).result(timeout=30)


def start_job(
    output: Path,
    names: dict[str, str],
    handler: CachedModelHandler,
    alert_topic: str | None = None,
    **job_fields: Any,
) -> Any:
    """The streaming job of `threadwatch run --streaming`, reading the article subscription."""
    job = dataclasses.replace(
        make_job(output),
        streaming=True,
        flush_every_seconds=1.0,
        pane_seconds=1.0,
        input_subscription=names["articles_sub"],
        alert_topic=alert_topic,
        **job_fields,
    )
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build(pipeline, job, handler=handler)
    return pipeline.run()


def test_seeds_published_in_shuffled_order_give_the_two_alerts(
    pubsub: str, tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    publisher, subscriber, names = topics()
    documents = folder_documents(seeds_dir)
    random.Random(5).shuffle(documents)
    publish_documents(publisher, names["articles"], documents)

    result = start_job(tmp_path / "out", names, model_handler, alert_topic=names["alerts"])
    try:
        received: list[Any] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(received) < 2:
            response = subscriber.pull(
                subscription=names["alerts_sub"], max_messages=10, timeout=10
            )
            received.extend(m.message for m in response.received_messages)
            if response.received_messages:
                subscriber.acknowledge(
                    subscription=names["alerts_sub"],
                    ack_ids=[m.ack_id for m in response.received_messages],
                )
        time.sleep(5)  # and nothing more after the two
        response = subscriber.pull(subscription=names["alerts_sub"], max_messages=10, timeout=5)
        received.extend(m.message for m in response.received_messages)
    finally:
        result.cancel()

    expected = golden.load("seeds")["alerts"]
    bodies = [json.loads(m.data) for m in received]
    assert sorted(b["alert_id"] for b in bodies) == sorted(a["alert_id"] for a in expected)
    for message, body in zip(received, bodies, strict=True):
        assert message.attributes["alert_id"] == body["alert_id"]
        assert message.attributes["thread_id"] == "russia-iran-strategic-treaty"
        assert message.attributes["story_id"] == body["story"]["id"]
    # The same alerts, in windowed files a user can tail.
    pane_files = sorted((tmp_path / "out" / "alerts").glob("*.jsonl"))
    written = [json.loads(line) for f in pane_files for line in f.read_text().splitlines()]
    assert sorted(a["alert_id"] for a in written) == sorted(a["alert_id"] for a in expected)


def test_watched_folder_file_copied_in_raises_its_alert(
    pubsub: str, tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    import shutil
    import threading

    from pipeline.edge.watch import FolderWatcher

    publisher, _, names = topics("watch-")
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(seeds_dir / "manifest.yaml", folder)
    watcher = FolderWatcher(
        folder,
        lambda data: publisher.publish(names["articles"], data).result(timeout=30),
        tmp_path / "watcher-state.json",
        log=lambda _: None,
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(0.5, stop), daemon=True)
    result = start_job(tmp_path / "out", names, model_handler)
    thread.start()
    alerts_dir = tmp_path / "out" / "alerts"
    try:
        time.sleep(2)
        assert not alerts_dir.exists()  # nothing in the folder yet: no alert
        shutil.copy(seeds_dir / "002_dc85ee8fd00bc9d9.txt", folder)  # the job is running
        deadline = time.monotonic() + 120
        written: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not written:
            time.sleep(1)
            written = (
                [
                    json.loads(line)
                    for f in alerts_dir.glob("*.jsonl")
                    for line in f.read_text().splitlines()
                ]
                if alerts_dir.exists()
                else []
            )
    finally:
        stop.set()
        result.cancel()
    assert [a["article"]["id"] for a in written] == ["002_dc85ee8fd00bc9d9.txt"]
    assert written[0]["alert_id"] == golden.load("seeds")["alerts"][0]["alert_id"]
    assert watcher.poll() == 0  # already published: a restarted watcher publishes nothing


def pull_alerts(subscriber: Any, subscription: str, until: int, seconds: float) -> list[Any]:
    """Alert bodies pulled (and acknowledged) until ``until`` came or ``seconds`` passed."""
    bodies: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(bodies) < until:
        response = subscriber.pull(subscription=subscription, max_messages=10, timeout=5)
        bodies.extend(json.loads(m.message.data) for m in response.received_messages)
        if response.received_messages:
            subscriber.acknowledge(
                subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages]
            )
    return bodies


def feedback_topic(publisher: Any, subscriber: Any, names: dict[str, str], prefix: str) -> None:
    names["feedback"] = publisher.topic_path(PROJECT, f"{prefix}feedback")
    names["feedback_sub"] = subscriber.subscription_path(PROJECT, f"{prefix}feedback-job")
    publisher.create_topic(name=names["feedback"])
    subscriber.create_subscription(name=names["feedback_sub"], topic=names["feedback"])


def test_feedback_topic_publishes_the_line_it_appends(pubsub: str, tmp_path: Path) -> None:
    from pipeline.cli.feedback import main as feedback

    publisher, subscriber, names = topics("cli-")
    feedback_topic(publisher, subscriber, names, "cli-")
    file = tmp_path / "feedback.jsonl"
    note = "Встреча, не договор — 会谈 — ไม่ใช่สนธิสัญญา — ليست معاهدة"
    args = ["--thread", "t-1", "mute", "--note", note, "--file", str(file)]
    assert feedback([*args, "--topic", names["feedback"]]) == 0
    response = subscriber.pull(subscription=names["feedback_sub"], max_messages=10, timeout=30)
    assert [m.message.data for m in response.received_messages] == [
        file.read_text(encoding="utf-8").strip().encode()
    ]


def test_a_verdict_dropped_while_the_job_runs_removes_the_repeat_near_miss(
    pubsub: str, tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    """On a running job, no restart: the analyst's ``threadwatch feedback`` writes the
    verdict into a folder that ``threadwatch watch --feedback`` publishes; the next
    look-alike is refused.

    The repeat (a later Putin–Pezeshkian meeting, written for this test)
    alerts without the verdict: ``test_feedback_cli`` shows it in batch.
    """
    import threading

    from pipeline.cli.feedback import main as feedback
    from pipeline.edge.watch import FolderWatcher
    from transforms.clustering.state_store import StateStore

    publisher, subscriber, names = topics("live-")
    feedback_topic(publisher, subscriber, names, "live-")
    inbox = tmp_path / "feedback-inbox"
    inbox.mkdir()
    watcher = FolderWatcher(
        inbox,
        lambda data: publisher.publish(names["feedback"], data).result(timeout=30),
        log=lambda _: None,
        feedback=True,
    )
    stop = threading.Event()
    watching = threading.Thread(target=watcher.run, args=(0.5, stop), daemon=True)
    publish_documents(publisher, names["articles"], folder_documents(seeds_dir))
    state = tmp_path / "state.json"
    out = tmp_path / "out"
    result = start_job(
        out,
        names,
        model_handler,
        alert_topic=names["alerts"],
        feedback_subscription=names["feedback_sub"],
        state_path=str(state),
        state_every_seconds=10**9,  # every step stays in the journal, to be looked at
    )
    watching.start()
    try:
        first = pull_alerts(subscriber, names["alerts_sub"], until=2, seconds=180)
        assert sorted(a["alert_id"] for a in first) == sorted(
            a["alert_id"] for a in golden.load("seeds")["alerts"]
        )
        meeting = next(a for a in first if a["article"]["id"].startswith("000_"))
        deadline = time.monotonic() + 60
        while not list(out.glob("alerts/*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.5)  # the pane files the analyst's command reads
        code = feedback(
            [
                "--alert",
                meeting["alert_id"],
                "not-relevant",
                "--note",
                "a meeting, not the treaty",
                "--output",
                str(out),
                "--file",
                str(inbox / "feedback.jsonl"),
            ]
        )
        assert code == 0
        marks: list[Any] = []
        while not marks and time.monotonic() < deadline + 60:
            time.sleep(0.5)  # applied: its step is journaled before its outputs leave
            marks = [m for ms in StateStore(str(state)).load().marks.values() for m in ms]
        assert [(m.verdict, m.story_id) for m in marks] == [
            ("not-relevant", meeting["story"]["id"])
        ]
        repeat = folder_documents(REPEAT.parent, [REPEAT.name])[0]
        meta = dataclasses.replace(repeat.meta, published=REPEAT_PUBLISHED)
        repeat = dataclasses.replace(repeat, meta=meta)
        publish_documents(publisher, names["articles"], [repeat])
        decided = False
        while not decided and time.monotonic() < deadline + 120:
            time.sleep(0.5)
            steps = StateStore(str(state)).load().steps
            decided = any(a.id == repeat.item_id for _, articles in steps for a in articles)
        assert decided
        later = pull_alerts(subscriber, names["alerts_sub"], until=1, seconds=15)
    finally:
        stop.set()
        result.cancel()
    assert later == []  # the repeat was clustered, and raised no alert
