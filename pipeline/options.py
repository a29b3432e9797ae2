"""Pipeline flags: a typed ``PipelineOptions`` subclass, as Beam expects.

Every flag also works on a managed runner: paths may be local or any Beam
filesystem (``gs://…``), and nothing here reads the environment.

The defaults of ``--source``, ``--threads`` and ``--settings`` are the
project's own ``seeds/`` and ``config/`` files, found from the packages'
location (``project_path``), so ``threadwatch run`` works from any folder.
"""

import argparse
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

DEFAULT_SOURCE = "seeds"
DEFAULT_THREADS = "config/threads.yaml"
DEFAULT_SETTINGS = "config/settings.yaml"
DEFAULT_FEEDBACK = "config/feedback.jsonl"
DEFAULT_OUTPUT = "out"
BATCH_RUNNER = "FnApiRunner"
STREAMING_RUNNER = "BundleBasedDirectRunner"


def project_path(relative: str) -> str:
    """A default input of the project (``seeds``, ``config/…``), from any working folder.

    The files live in the repository beside the ``pipeline`` package (a source
    checkout, or the editable install ``scripts/setup`` makes), so they are
    looked up there rather than in the current folder. They are not package
    data: README, docs, tests and the deploy image all name ``config/`` and
    ``seeds/`` at the repository root, and the watchlist is meant to be edited
    in place. Where the package is installed without the repository (a wheel in
    site-packages, as in the deploy image) the name stays relative, to the
    current folder, as before: the image's working folder holds ``config/``.
    """
    candidate = Path(__file__).resolve().parent.parent / relative
    return str(candidate) if candidate.exists() else relative


class ThreadwatchOptions(PipelineOptions):
    """What to read, how to decide, where to write."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("threadwatch")
        group.add_argument(
            "--source",
            default=project_path(DEFAULT_SOURCE),
            help="Folder of article files (.txt, .md, .html, .json, .jsonl) with an optional "
            "manifest.yaml. Empty string: read no folder. Default: %(default)s",
        )
        group.add_argument(
            "--threads",
            default=project_path(DEFAULT_THREADS),
            help="Watchlist of threads (YAML). Default: %(default)s",
        )
        group.add_argument(
            "--feedback",
            default=project_path(DEFAULT_FEEDBACK),
            help="Verdicts on earlier alerts (JSON Lines, written by 'threadwatch feedback'); "
            "read at start (a streaming job also takes them as they come: "
            "--feedback_subscription). The default file may be missing. Default: %(default)s",
        )
        group.add_argument(
            "--settings",
            default=project_path(DEFAULT_SETTINGS),
            help="Thresholds, horizons, limits and model (YAML). Empty string: built-in "
            "defaults. Default: %(default)s",
        )
        group.add_argument(
            "--output",
            default=DEFAULT_OUTPUT,
            help="Folder for alerts.jsonl, stories.jsonl, assignments.jsonl, duplicates.jsonl, "
            "threads.jsonl and dead_letters.jsonl. Default: %(default)s",
        )
        group.add_argument(
            "--feeds",
            default=None,
            help="Feed list read beside --source: YAML (see config/feeds.yaml) or an OPML "
            "file (.opml). Each feed is fetched once, and each new entry's page; for "
            "polling, run 'threadwatch poll-feeds' into --input_subscription. With --streaming, "
            "needs --input_subscription (the feeds are read once at start). Default: none.",
        )
        group.add_argument(
            "--allow_private_hosts",
            action="store_true",
            default=False,
            help="Let feeds and their links reach loopback and private networks (trusted "
            "in-house feeds, local tests). Off by default: feeds are untrusted input. "
            "Link-local addresses (the cloud metadata service) stay refused.",
        )
        group.add_argument(
            "--state",
            default=None,
            help="Tracker state (local path or gs://…), read at start: stop, crash or restart "
            "a job without losing or repeating alerts, and carry threads from one run to the "
            "next. Batch: committed with the outputs at the end. Streaming: each step is "
            "journaled beside it (PATH.journal/). Default: none.",
        )
        group.add_argument(
            "--input_subscription",
            default=None,
            help="Pub/Sub subscription of article messages (JSON objects with the fields of a "
            ".jsonl line), projects/P/subscriptions/S. Read beside --source. Default: none.",
        )
        group.add_argument(
            "--feedback_subscription",
            default=None,
            help="Pub/Sub subscription of verdicts (lines of the feedback file, published by "
            "'threadwatch feedback --topic' or 'threadwatch watch --feedback'), "
            "projects/P/subscriptions/S. With --streaming: each applies from the job's next "
            "step on, without a restart; keep the same lines in --feedback for later runs. "
            "Default: none.",
        )
        group.add_argument(
            "--alert_topic",
            default=None,
            help="Pub/Sub topic to publish alerts to, projects/P/topics/T (JSON, with "
            "attributes alert_id, thread_id, story_id, type). Default: none.",
        )
        group.add_argument(
            "--alert_webhook",
            default=None,
            help="POST each alert to this http(s) URL (Idempotency-Key: the alert_id), "
            "retried with backoff on 5xx, 429 and timeouts; failures go to "
            "OUTPUT/webhook_dead_letters.jsonl. Batch: after the outputs are written (with "
            "--state: committed). The same address checks as feeds. Default: none.",
        )
        group.add_argument(
            "--alert_webhook_format",
            default="json",
            help='Body: the alert JSON, or a Slack-compatible {"text": ...} message. '
            "Default: %(default)s",
        )
        group.add_argument(
            "--alert_webhook_retries",
            type=int,
            default=4,
            help="Retries of one alert after a 5xx/429 answer or a timeout (0-20). "
            "Default: %(default)s",
        )
        group.add_argument(
            "--alert_webhook_timeout_seconds",
            type=float,
            default=10.0,
            help="Longest wait for the webhook's answer to one attempt. Default: %(default)s",
        )
        group.add_argument(
            "--alert_webhook_backoff_seconds",
            type=float,
            default=1.0,
            help="First wait before a retry, doubled each time (a Retry-After header is "
            "honoured, up to 60 s). Default: %(default)s",
        )
        group.add_argument(
            "--alert_webhook_allow_private",
            action="store_true",
            default=False,
            help="Let the webhook be a loopback or private address (an in-house chat server, "
            "local tests). Off by default; link-local and metadata addresses stay refused. "
            "Separate from --allow_private_hosts, which is for feeds.",
        )
        group.add_argument(
            "--pane_seconds",
            type=float,
            default=5.0,
            help="Streaming: each output is a folder of files, one per pane of this many "
            "seconds of processing time. Default: %(default)s",
        )
        group.add_argument(
            "--state_every_seconds",
            type=float,
            default=60.0,
            help="Streaming: rewrite the whole --state snapshot at most this often (processing "
            "time); between snapshots each step only appends its articles to the journal, so a "
            "step costs what it adds, not the history. After a restart the journaled steps are "
            "replayed and their alerts re-sent with the same alert_id. Default: %(default)s",
        )
        group.add_argument(
            "--flush_every_seconds",
            type=float,
            default=None,
            help="Streaming only: event-time step at which the clustering stage processes what "
            "the watermark has passed. Default: process once at the end (batch), 1 s when "
            "--streaming.",
        )
