"""The threadwatch graph, wired in one place.

``build_graph`` returns the pipeline's outputs without running anything, so
tests build the very graph ``threadwatch run`` builds, with their own inputs
swapped in and ``assert_that`` on the outputs. ``run`` adds the file sinks.

    ReadFolder ─┐
    ReadFeeds ──────┤
    thread exemplars ┴─ ExtractText ─┬─ Fingerprint ─ EmbedArticles ─ ClusterStories ─┬─ alerts
    thread descriptions ─────────────┘                                               ├─ stories
                                                                                     ├─ assignments
                       dead letters of every stage ──────────────────────────────────┴─ dead_letters
                       verdicts (--feedback_subscription) ─────────┘ (into ClusterStories)
"""

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.transforms.window import TimestampedValue

from pipeline.config.feedback import load_feedback, parse_feedback
from pipeline.config.feeds import load_feeds
from pipeline.config.settings import load_settings, load_threads
from pipeline.options import DEFAULT_FEEDBACK, ThreadwatchOptions, project_path
from transforms.clustering.cluster import ClusterStories
from transforms.clustering.commit import CommitState
from transforms.clustering.state_store import Outbox, StateStore, staging_folder
from transforms.clustering.threads import description_id, not_about_id
from transforms.core.errors import ConfigError
from transforms.core.feedback import FeedbackMark
from transforms.core.records import Article, ArticleMeta, RawDocument
from transforms.core.settings import Settings, ThreadSpec
from transforms.core.setup import register
from transforms.embedding.embed import (
    EmbedArticles,
    embedding_dim,
    embedding_space,
    make_handler,
)
from transforms.sinks.deliver import (
    DEAD_LETTERS_FILE,
    DELIVERIES_FILE,
    OUTBOX_FILE,
    ClearOutbox,
    DeliverAlerts,
    OutboxEntry,
    read_outbox,
)
from transforms.sinks.files import WriteJsonLines, WriteOutputs
from transforms.sinks.progress import TapProgress
from transforms.sinks.pubsub import PublishAlerts
from transforms.sinks.webhook import FORMATS, WebhookPolicy
from transforms.sources.feed_types import FeedList
from transforms.sources.feedback_messages import ReadFeedbackMessages
from transforms.sources.pubsub import ReadArticleMessages
from transforms.sources.read_feeds import ReadFeeds
from transforms.sources.read_folder import ReadFolder, file_uri
from transforms.text.steps import ExtractText, Fingerprint

#: Thread documents sort before every article; their own time is irrelevant.
THREAD_DOCUMENT_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Job:
    """Everything a run needs, loaded and validated before the graph is built."""

    source: str | None
    threads: tuple[ThreadSpec, ...]
    settings: Settings
    output: str
    streaming: bool = False
    flush_every_seconds: float | None = None
    state_path: str | None = None
    state_every_seconds: float = 0.0
    input_subscription: str | None = None
    alert_topic: str | None = None
    #: Streaming: outputs are written in panes of this many processing-time seconds.
    pane_seconds: float | None = None
    #: Feeds read once beside the other sources (``--feeds``).
    feeds: FeedList | None = None
    #: Loopback address the launcher's progress line listens on (local runs only).
    progress_address: str | None = None
    #: Where alerts are POSTed (``--alert_webhook``).
    webhook: WebhookPolicy | None = None
    #: The analyst's verdicts on earlier alerts (``--feedback``).
    feedback: tuple[FeedbackMark, ...] = ()
    #: Verdicts that come while a streaming job runs (``--feedback_subscription``).
    feedback_subscription: str | None = None

    @classmethod
    def from_options(cls, options: beam.options.pipeline_options.PipelineOptions) -> "Job":
        tw = options.view_as(ThreadwatchOptions)
        streaming = bool(options.view_as(beam.options.pipeline_options.StandardOptions).streaming)
        flush = tw.flush_every_seconds
        if flush is None and streaming:
            flush = 1.0
        return cls(
            source=tw.source or None,
            threads=tuple(load_threads(tw.threads)),
            settings=load_settings(tw.settings or None),
            output=tw.output,
            streaming=streaming,
            flush_every_seconds=flush,
            state_path=tw.state or None,
            state_every_seconds=tw.state_every_seconds,
            input_subscription=tw.input_subscription or None,
            alert_topic=tw.alert_topic or None,
            pane_seconds=tw.pane_seconds if streaming else None,
            feeds=load_feeds(tw.feeds, tw.allow_private_hosts) if tw.feeds else None,
            webhook=webhook_policy(tw),
            feedback=tuple(
                load_feedback(tw.feedback, required=tw.feedback != project_path(DEFAULT_FEEDBACK))
            ),
            feedback_subscription=tw.feedback_subscription or None,
        )


def webhook_policy(tw: ThreadwatchOptions) -> WebhookPolicy | None:
    """The ``--alert_webhook*`` flags, checked; a bad one is a usage error (exit 2)."""
    if tw.alert_webhook_format not in FORMATS:
        raise ConfigError(
            "--alert_webhook_format",
            f"must be one of {', '.join(FORMATS)} (got {tw.alert_webhook_format!r})",
        )
    if not tw.alert_webhook:
        return None
    try:
        return WebhookPolicy(
            url=tw.alert_webhook,
            format=tw.alert_webhook_format,
            timeout_seconds=tw.alert_webhook_timeout_seconds,
            retries=tw.alert_webhook_retries,
            backoff_seconds=tw.alert_webhook_backoff_seconds,
            allow_private_hosts=tw.alert_webhook_allow_private,
        )
    except ValueError as exc:
        raise ConfigError("--alert_webhook", str(exc)) from None


def description_documents(threads: Sequence[ThreadSpec]) -> list[Article]:
    """Each thread's title and description, as a document that shapes its prototype,
    and each of its ``not_about`` descriptions, as a negative example."""
    documents = [
        Article(
            id=description_id(spec.id),
            url=f"threadwatch:thread/{spec.id}",
            title=spec.title,
            text=spec.description,
            published=THREAD_DOCUMENT_TIME,
            published_source="config",
            role="description",
            thread_id=spec.id,
        )
        for spec in threads
        if spec.description
    ]
    for spec in threads:
        for number, text in enumerate(spec.not_about, start=1):
            documents.append(
                Article(
                    id=not_about_id(spec.id, number),
                    url=f"threadwatch:thread/{spec.id}/not_about/{number}",
                    title="",
                    text=text,
                    published=THREAD_DOCUMENT_TIME,
                    published_source="config",
                    role="negative",
                    thread_id=spec.id,
                )
            )
    return documents


def exemplar_documents(threads: Sequence[ThreadSpec]) -> list[RawDocument]:
    """Exemplar files named in the watchlist, read now: a missing one is a config error."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.sources.folder import split_file

    documents: list[RawDocument] = []
    for spec in threads:
        examples = [(p, "exemplar") for p in spec.exemplars]
        examples += [(p, "negative") for p in spec.negative_exemplars]
        for path, role in examples:
            try:
                with FileSystems.open(path) as handle:
                    data = handle.read()
            except Exception as exc:
                raise ConfigError(
                    path, f"exemplar of thread {spec.id!r} cannot be read: {exc}"
                ) from None
            name = path.rsplit("/", 1)[-1]
            meta = ArticleMeta(published=THREAD_DOCUMENT_TIME, origin="config")
            for item in split_file(name, file_uri(path), data, None, meta):
                if not isinstance(item, RawDocument):
                    raise ConfigError(path, f"exemplar of thread {spec.id!r}: {item.detail}")
                documents.append(
                    dataclasses.replace(
                        item,
                        item_id=f"thread:{spec.id}:{role}:{item.item_id}",
                        meta=dataclasses.replace(
                            item.meta, published=THREAD_DOCUMENT_TIME, origin="config"
                        ),
                        role="exemplar" if role == "exemplar" else "negative",
                        thread_id=spec.id,
                    )
                )
    return documents


def build_graph(
    pipeline: beam.Pipeline,
    job: Job,
    documents: beam.pvalue.PCollection[Any] | None = None,
    handler: ModelHandler[Any, Any, Any] | None = None,
) -> dict[str, beam.pvalue.PCollection[Any]]:
    """Builds the graph; returns its outputs by name (see ``sinks.OUTPUT_FILES``).

    ``documents`` replaces the folder source (tests, other sources);
    ``handler`` replaces the embedding model handler.
    """
    register()  # the coders the graph's PCollections are encoded with
    raw: list[beam.pvalue.PCollection[Any]] = []
    dead: list[beam.pvalue.PCollection[Any]] = []
    if documents is not None:
        raw.append(documents)
    elif job.source:
        # The step keeps its old name so that a running job can be updated in place.
        folder = pipeline | "ReadSeedFolder" >> ReadFolder(
            job.source, job.settings.extraction.max_bytes
        )
        raw.append(folder["main"])
        dead.append(folder["dead_letter"])
    if job.feeds:
        feeds = pipeline | "ReadFeeds" >> ReadFeeds(job.feeds, job.settings.extraction)
        raw.append(feeds["main"])
        dead.append(feeds["dead_letter"])
    if job.input_subscription:
        messages = pipeline | "ReadArticleMessages" >> ReadArticleMessages(job.input_subscription)
        raw.append(messages["main"])
        dead.append(messages["dead_letter"])
    raw.append(pipeline | "ThreadExemplars" >> beam.Create(exemplar_documents(job.threads)))

    documents_read = raw | "AllDocuments" >> beam.Flatten()
    extracted = documents_read | "ExtractText" >> ExtractText(job.settings.extraction)
    dead.append(extracted["dead_letter"])
    descriptions = (
        pipeline
        | "ThreadDescriptions" >> beam.Create(description_documents(job.threads))
        | "AtDescriptionTime" >> beam.Map(lambda a: TimestampedValue(a, a.timestamp))
    )
    watch_terms = sorted({t for spec in job.threads for t in spec.watch_terms()})
    embedded = (
        (extracted["main"], descriptions)
        | "AllArticles" >> beam.Flatten()
        | "Fingerprint" >> Fingerprint(watch_terms, job.settings.extraction.default_language)
        | "EmbedArticles" >> EmbedArticles(handler or make_handler(job.settings.embedding))
    )
    dead.append(embedded["dead_letter"])
    live_feedback = None
    if job.feedback_subscription:
        verdicts = pipeline | "ReadFeedbackMessages" >> ReadFeedbackMessages(
            job.feedback_subscription, parse_feedback
        )
        live_feedback = verdicts["main"]
        dead.append(verdicts["dead_letter"])
    events = embedded["main"] | "ClusterStories" >> ClusterStories(
        job.settings.clustering,
        job.threads,
        job.flush_every_seconds,
        job.state_path,
        job.state_every_seconds,
        feedback=job.feedback,
        dim=embedding_dim(job.settings.embedding),
        space=embedding_space(job.settings.embedding),
        live_feedback=live_feedback,
    )
    dead.append(events["dead_letter"])
    dead_letters = dead | "AllDeadLetters" >> beam.Flatten()
    if job.progress_address:
        _tap_progress(job.progress_address, documents_read, embedded["main"], events, dead_letters)
    return {
        "alerts": events["alerts"],
        "stories": events["stories"],
        "assignments": events["assignments"],
        "duplicates": events["duplicates"],
        "threads": events["threads"],
        "dead_letters": dead_letters,
        "state": events["state"],
    }


def _tap_progress(address: str, read: Any, embedded: Any, events: Any, dead: Any) -> None:
    """Side branches counting each stage for the progress line (``TapProgress``)."""
    articles = embedded | "ArticlesOnly" >> beam.Filter(lambda a: a.role == "article")
    dropped = (events["duplicates"], dead) | "Dropped" >> beam.Flatten()
    for stage, pcoll in (
        ("read", read),
        ("embedded", articles),
        ("clustered", events["assignments"]),
        ("dropped", dropped),
    ):
        _ = pcoll | f"Progress_{stage}" >> TapProgress(stage, address)


def build(
    pipeline: beam.Pipeline, job: Job, handler: ModelHandler[Any, Any, Any] | None = None
) -> None:
    """The full job: the graph plus its sinks (files, and the alert topic if any)."""
    outputs = build_graph(pipeline, job, handler=handler)
    write_outputs(outputs, job)
    if job.alert_topic:
        _ = outputs["alerts"] | "PublishAlerts" >> PublishAlerts(job.alert_topic)


def write_outputs(outputs: dict[str, beam.pvalue.PCollection[Any]], job: Job) -> None:
    """The file sinks; in batch with ``--state``, staged and committed with the state.

    Before the graph is built, a commit that a crash interrupted is finished
    and staging left by a run that never committed is discarded
    (``StateStore.recover``), so the staging folder this run uses is fresh.
    With ``--alert_webhook``, the alerts are delivered once written (batch),
    committed (batch with ``--state``) or as they happen (streaming).
    """
    if not job.state_path or job.streaming:
        written = outputs | "WriteOutputs" >> WriteOutputs(job.output, job.pane_seconds)
        if job.webhook:
            after = None if job.streaming else written
            deliver_alerts(outputs["alerts"], job, job.webhook, after)
        return
    store = StateStore(job.state_path)
    store.recover(job.output)
    outbox = Outbox(staging_folder(job.output, store.peek()[0] + 1), job.output)
    written = outputs | "WriteOutputs" >> WriteOutputs(outbox.staging)
    if not job.webhook:
        _ = (outputs["state"], written) | "CommitState" >> CommitState(job.state_path, outbox)
        return
    # The alerts to deliver are committed with the state (the outbox file), with
    # those a crash left undelivered after an earlier commit: a restart sends
    # them again, under the same Idempotency-Key, until their outcome is written.
    pending = read_outbox(f"{job.output.rstrip('/')}/{OUTBOX_FILE}")
    to_deliver = (
        (
            outputs["alerts"] | "AlertJson" >> beam.Map(lambda a: a.to_json()),
            outputs["alerts"].pipeline | "PendingAlerts" >> beam.Create(pending),
        )
        | "AlertsToDeliver" >> beam.Flatten()
        | "ById" >> beam.Map(lambda a: (str(a["alert_id"]), a)).with_output_types(tuple[str, Any])
        | "OncePerId" >> beam.GroupByKey()
        | "First" >> beam.Map(lambda kv: min(kv[1], key=lambda a: json.dumps(a, sort_keys=True)))
    )
    staged = (
        to_deliver
        | "AsOutboxEntries" >> beam.Map(OutboxEntry).with_output_types(Any)
        | "StageOutbox" >> WriteJsonLines(f"{outbox.staging}/{OUTBOX_FILE}")
    )
    everything = (written, staged) | "AllStaged" >> beam.Flatten()
    committed = (outputs["state"], everything) | "CommitState" >> CommitState(
        job.state_path, outbox
    )
    outcomes = deliver_alerts(to_deliver, job, job.webhook, committed)
    _ = outcomes | "ClearOutbox" >> ClearOutbox(f"{job.output.rstrip('/')}/{OUTBOX_FILE}")


def deliver_alerts(
    alerts: beam.pvalue.PCollection[Any], job: Job, policy: WebhookPolicy, after: Any
) -> beam.pvalue.PCollection[Any]:
    """``DeliverAlerts`` and its two files; returns the paths written."""
    folder = job.output.rstrip("/")
    results = alerts | "DeliverAlerts" >> DeliverAlerts(policy, after)
    files = [
        results[name]
        | f"Write_webhook_{name}"
        >> WriteJsonLines(f"{folder}/{filename}", job.pane_seconds, pane_records=1)
        for name, filename in (("main", DELIVERIES_FILE), ("dead_letter", DEAD_LETTERS_FILE))
    ]
    written: beam.pvalue.PCollection[Any] = files | "WebhookFilesWritten" >> beam.Flatten()
    return written
