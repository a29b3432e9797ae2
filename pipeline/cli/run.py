"""``threadwatch run``: check everything a user can get wrong, build the graph, run it."""

import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.options.pipeline_options import (
    PipelineOptions,
    StandardOptions,
    _BeamArgumentParser,
)
from apache_beam.runners.runner import PipelineResult

from pipeline.cli.common import EXIT_OK, UsageError, check_flags, pipeline_options
from pipeline.cli.progress import Progress
from pipeline.cli.progress_listen import listening
from pipeline.graph import Job, build
from pipeline.options import ThreadwatchOptions
from pipeline.preflight import check_source, no_threads_warning
from pipeline.state_check import check_state_file
from pipeline.summary import counters_from_result, read_jsonl, summarise
from transforms.sinks.deliver import DEAD_LETTERS_FILE, DELIVERIES_FILE
from transforms.sinks.files import OUTPUT_FILES

#: Runners that run in this process or its own worker processes (not a service).
LOCAL_RUNNERS = frozenset(
    {"DirectRunner", "FnApiRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner"}
)
NAME = "run"
SUMMARY = "run the pipeline (default: seeds/ with config/ → out/)"


def main(argv: Sequence[str]) -> int:
    if "-h" in argv or "--help" in argv:
        print(_run_help())
        return EXIT_OK
    return run([a for a in argv if a != "--report"], report="--report" in argv)


def check_streaming_sources(options: PipelineOptions) -> None:
    """``--streaming`` needs ``--input_subscription`` to be a streaming job at all.

    The folder (``--source``) and the feeds (``--feeds``) are read once at
    start; what keeps the job running is the subscription. Without one, every
    source is bounded: the local streaming runner ends the job as soon as they
    are read, and writes none of its pane files (measured), so it is refused.
    """
    tw = options.view_as(ThreadwatchOptions)
    streaming = options.view_as(StandardOptions).streaming
    if tw.feedback_subscription and not streaming:
        raise UsageError(
            "--feedback_subscription needs --streaming: a batch run reads its verdicts "
            "from --feedback at start (threadwatch feedback appends them there)"
        )
    if not streaming or tw.input_subscription:
        return
    if tw.feeds:
        raise UsageError(
            "--streaming with --feeds needs --input_subscription: the feeds are read once "
            "at start, and without a subscription the job has nothing to keep running on "
            "(it ends at once, writing no output). To follow feeds, run 'threadwatch "
            "poll-feeds --feeds FILE --topic projects/P/topics/T' and start the job with "
            "--streaming --input_subscription projects/P/subscriptions/S; to read the "
            "feeds once, run without --streaming."
        )
    raise UsageError(
        "--streaming needs --input_subscription: the folder is read once at start, and "
        "without a subscription the job has nothing to keep running on (it ends at once, "
        "writing no output). To follow a folder, run 'threadwatch watch' and start the "
        "job with --streaming --input_subscription projects/P/subscriptions/S; to read "
        "the folder once, run without --streaming."
    )


def start(
    flags: Sequence[str],
    handler: ModelHandler[Any, Any, Any] | None = None,
    progress_address: str | None = None,
) -> tuple[Job, PipelineResult]:
    """Checks the flags, builds the job's graph and starts it (``handler``: tests).

    Everything a user can get wrong is checked here, before the pipeline
    runs: flags, configuration, the source folder and the state file.
    """
    check_flags(flags)
    options = pipeline_options(flags)
    check_streaming_sources(options)
    job = Job.from_options(options)
    check_source(job.source)
    if job.state_path:
        check_state_file(
            job.state_path, job.settings.clustering, job.threads, job.settings.embedding
        )
    warning = no_threads_warning(job, options.view_as(ThreadwatchOptions).threads)
    if warning:
        print(f"threadwatch: warning: {warning}", file=sys.stderr)
    if progress_address and is_local(options):
        job = dataclasses.replace(job, progress_address=progress_address)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, job, handler=handler)
    return job, pipeline.run()


def is_local(options: PipelineOptions) -> bool:
    """A runner in this process (or its worker processes): the one a progress line can follow."""
    runner = options.view_as(StandardOptions).runner
    return runner is None or str(runner).split(".")[-1] in LOCAL_RUNNERS


def run(flags: Sequence[str], report: bool = False) -> int:
    # Progress on stderr: a line redrawn on a terminal, a heartbeat in logs.
    with listening(Progress(sys.stderr, time.monotonic)) as address:
        job, result = start(flags, progress_address=address)
        result.wait_until_finish()
    alerts = read_jsonl(f"{job.output.rstrip('/')}/{OUTPUT_FILES['alerts']}")
    summary = summarise(counters_from_result(result), alerts, watched=len(job.threads))
    print("\n".join(summary.lines()))
    names = list(OUTPUT_FILES.values())
    if job.webhook:
        names += [DELIVERIES_FILE, DEAD_LETTERS_FILE]
    print(f"outputs in {job.output}/: {', '.join(names)}")
    if report:
        from pipeline.report import write_report

        print(f"report: {write_report(job.output, None, {t.id: t.title for t in job.threads})}")
    return EXIT_OK


def _run_help() -> str:
    parser = _BeamArgumentParser(
        prog="threadwatch run",
        description="Read articles, cluster them into stories and threads, write alerts. "
        "Any Apache Beam option is accepted too (--runner, --direct_num_workers, "
        "--streaming, …).",
    )
    ThreadwatchOptions._add_argparse_args(parser)
    output = parser.add_argument_group("output")
    output.add_argument(
        "--verbose",
        action="store_true",
        help="On a failure, print the full traceback (and Beam's error log) as well as "
        "the one line naming the failed stage.",
    )
    output.add_argument(
        "--report", action="store_true", help="Also write OUTPUT/report.html (threadwatch report)."
    )
    return parser.format_help()
