"""``threadwatch``: the command line. The only place that turns errors into exit codes.

Exit codes: 0 success; 1 the pipeline failed (one line names the stage and
the error; ``--verbose`` adds the traceback); 2 bad usage or configuration
(the message names the file and key, or the flag), found before any work.
"""

import argparse
import sys
import traceback
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

from pipeline.failure import configure_logging, describe_failure
from pipeline.graph import Job, build
from pipeline.options import (
    BATCH_RUNNER,
    DEFAULT_SETTINGS,
    STREAMING_RUNNER,
    ThreadwatchOptions,
    project_path,
)
from pipeline.preflight import SourceError, check_source, no_threads_warning
from pipeline.state_check import check_state_file
from pipeline.summary import counters_from_result, read_jsonl, summarise
from transforms.core.errors import ConfigError
from transforms.sinks.files import OUTPUT_FILES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line itself is wrong."""


def _all_option_classes() -> list[type[PipelineOptions]]:
    found: list[type[PipelineOptions]] = []
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def check_flags(flags: Sequence[str]) -> None:
    """Refuses flags no Beam or threadwatch option knows (Beam only warns)."""
    parser = _BeamArgumentParser(add_help=False, allow_abbrev=False)
    for cls in _all_option_classes():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue  # an option declared by two classes: already known
    _, unknown = parser.parse_known_args(list(flags))
    if unknown:
        raise UsageError(f"unknown option(s): {' '.join(unknown)} (see 'threadwatch run --help')")


def pipeline_options(flags: Sequence[str]) -> PipelineOptions:
    """Beam options from flags, with the runner chosen explicitly.

    The plain DirectRunner first tries to start Prism, which it cannot
    download here; naming the runner avoids depending on that failure.
    """
    flags = list(flags)
    options = PipelineOptions(flags)
    if options.view_as(StandardOptions).runner is None:
        streaming = options.view_as(StandardOptions).streaming
        flags.append(f"--runner={STREAMING_RUNNER if streaming else BATCH_RUNNER}")
        options = PipelineOptions(flags)
    return options


def check_streaming_sources(options: PipelineOptions) -> None:
    """``--streaming`` needs ``--input_subscription`` to be a streaming job at all.

    The folder (``--source``) and the feeds (``--feeds``) are read once at
    start; what keeps the job running is the subscription. Without one, every
    source is bounded: the local streaming runner ends the job as soon as they
    are read, and writes none of its pane files (measured), so it is refused.
    """
    tw = options.view_as(ThreadwatchOptions)
    if not options.view_as(StandardOptions).streaming or tw.input_subscription:
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
    flags: Sequence[str], handler: ModelHandler[Any, Any, Any] | None = None
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
        check_state_file(job.state_path, job.settings.clustering, job.threads)
    warning = no_threads_warning(job, options.view_as(ThreadwatchOptions).threads)
    if warning:
        print(f"threadwatch: warning: {warning}", file=sys.stderr)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, job, handler=handler)
    return job, pipeline.run()


def run(flags: Sequence[str]) -> int:
    job, result = start(flags)
    result.wait_until_finish()
    alerts = read_jsonl(f"{job.output.rstrip('/')}/{OUTPUT_FILES['alerts']}")
    summary = summarise(counters_from_result(result), alerts, watched=len(job.threads))
    print("\n".join(summary.lines()))
    print(f"outputs in {job.output}/: {', '.join(OUTPUT_FILES.values())}")
    return EXIT_OK


def evaluate(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch eval",
        description="Run the pipeline (same graph and settings as 'run') over a labelled "
        "stream (JSON Lines, see the README) and print and write its scores. "
        "Beam options are passed on.",
    )
    parser.add_argument("--stream", required=True, help="labelled stream (JSON Lines)")
    parser.add_argument(
        "--threads",
        default=None,
        help="watchlist to add to the threads the stream's exemplars define",
    )
    parser.add_argument(
        "--settings",
        default=project_path(DEFAULT_SETTINGS),
        help="settings file; '' for built-in defaults (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        default="out/eval",
        help="folder for the run's outputs and eval.json (default: %(default)s)",
    )
    args, beam_flags = parser.parse_known_args(list(argv))
    check_flags(beam_flags)
    from pipeline.evaluation.eval_job import EvalRun, format_report, run_eval

    options = pipeline_options(beam_flags)
    flags = [f for f in beam_flags if not f.startswith("--runner")]
    flags.append(f"--runner={options.view_as(StandardOptions).runner}")
    report = run_eval(EvalRun(args.stream, args.threads, args.settings or None, args.output), flags)
    print("\n".join(format_report(report)))
    print(f"report: {args.output.rstrip('/')}/eval.json")
    return EXIT_OK


def convert_ecbplus(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch ecbplus",
        description="Convert ECB+ (docs.jsonl) into a labelled stream: one article a minute in "
        "document-name order, gold story = ECB+ story, gold thread = topic.",
    )
    parser.add_argument("--input", required=True, help="ECB+ docs.jsonl")
    parser.add_argument("--output", required=True, help="labelled stream to write")
    parser.add_argument(
        "--shuffle-lines",
        type=int,
        metavar="SEED",
        default=None,
        help="shuffle the file's lines (event times unchanged): arrival order "
        "must not change any figure",
    )
    parser.add_argument(
        "--shuffle-timeline",
        type=int,
        metavar="SEED",
        default=None,
        help="assign event times in a shuffled document order instead",
    )
    parser.add_argument(
        "--exemplars-per-topic",
        type=int,
        default=1,
        help="first N articles of each topic's first story become exemplars "
        "defining a watched thread per topic (default: %(default)s)",
    )
    parser.add_argument(
        "--topics", default=None, help="comma-separated topic numbers to keep (default: all)"
    )
    args = parser.parse_args(list(argv))
    from pipeline.evaluation.ecbplus import convert, read_docs, with_exemplars
    from pipeline.evaluation.eval_job import write_stream

    docs = read_docs(args.input)
    if args.topics:
        keep = {int(t) for t in args.topics.split(",")}
        docs = [d for d in docs if int(d["topic"]) in keep]
    records = with_exemplars(list(convert(docs, args.shuffle_timeline)), args.exemplars_per_topic)
    if args.shuffle_lines is not None:
        import random

        random.Random(args.shuffle_lines).shuffle(records)
    write_stream(args.output, records)
    print(f"wrote {len(records)} records to {args.output}")
    return EXIT_OK


def onnx_export(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch onnx-export",
        description="Export the embedding model to ONNX (offline, from the installed package) "
        "for 'embedding: {backend: onnx, onnx_model: DIR}' in the settings.",
    )
    parser.add_argument("--output", required=True, help="folder to write the model into")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="quantise the MatMul weights to int8 (dynamic, per channel): faster, "
        "cosine to fp32 about 0.99",
    )
    parser.add_argument(
        "--settings",
        default=project_path(DEFAULT_SETTINGS),
        help="settings whose embedding.model is exported (default: %(default)s)",
    )
    args = parser.parse_args(list(argv))
    from pipeline.config.settings import load_settings
    from transforms.embedding.onnx_export import compare_with_source, export_onnx

    model = load_settings(args.settings or None).embedding.model
    info = export_onnx(args.output, model, int8=args.int8)
    cosine = compare_with_source(args.output, [_EXPORT_CHECK], model)
    print(
        f"exported {model} ({info.quantization}, {info.dim} dims, default "
        f"{info.max_seq_length} word pieces) to {args.output}; cosine to "
        f"sentence-transformers on a check sentence: {float(cosine.min()):.4f}"
    )
    return EXIT_OK


_EXPORT_CHECK = (
    "President Vladimir Putin met his Iranian counterpart in Ashgabat on Friday, "
    "days before a strategic partnership treaty was due to be signed."
)


def watch_folder(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch watch",
        description="Watch a folder and publish each new or changed file's articles to a "
        "Pub/Sub topic that a streaming job reads (--input_subscription). Uses "
        "PUBSUB_EMULATOR_HOST when set.",
    )
    parser.add_argument("--folder", required=True)
    parser.add_argument("--topic", required=True, help="projects/P/topics/T")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between scans")
    parser.add_argument(
        "--state", default=None, help="file remembering what was published (survives restarts)"
    )
    args = parser.parse_args(list(argv))
    import threading
    from pathlib import Path

    from google.cloud import pubsub_v1

    from pipeline.edge.watch import FolderWatcher

    publisher = pubsub_v1.PublisherClient()
    watcher = FolderWatcher(
        Path(args.folder),
        lambda data: publisher.publish(args.topic, data).result(timeout=60),
        Path(args.state) if args.state else None,
    )
    stop = threading.Event()
    try:
        watcher.run(args.interval, stop)
    except KeyboardInterrupt:
        stop.set()
    return EXIT_OK


def poll_feeds(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch poll-feeds",
        description="Poll feeds on their intervals (conditional GET) and publish each new "
        "entry's article to a Pub/Sub topic that a streaming job reads (--input_subscription). "
        "Uses PUBSUB_EMULATOR_HOST when set.",
    )
    parser.add_argument("--feeds", required=True, help="feed list: YAML or OPML")
    parser.add_argument("--topic", required=True, help="projects/P/topics/T")
    parser.add_argument(
        "--state", default=None, help="file remembering validators and published entries"
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=50_000,
        help="entries remembered as published, oldest forgotten first (default: %(default)s)",
    )
    parser.add_argument(
        "--settings",
        default=project_path(DEFAULT_SETTINGS),
        help="settings whose extraction limits decide page or entry text (default: %(default)s)",
    )
    parser.add_argument(
        "--allow_private_hosts",
        action="store_true",
        help="allow loopback and private addresses (trusted in-house feeds, local tests)",
    )
    parser.add_argument("--once", action="store_true", help="poll every feed once and exit")
    args = parser.parse_args(list(argv))
    import threading
    from pathlib import Path

    from google.cloud import pubsub_v1

    from pipeline.config.feeds import load_feeds
    from pipeline.config.settings import load_settings
    from pipeline.edge.poll_feeds import FeedPoller

    feeds = load_feeds(args.feeds, args.allow_private_hosts)
    settings = load_settings(args.settings or None)
    publisher = pubsub_v1.PublisherClient()
    poller = FeedPoller(
        feeds,
        settings.extraction,
        lambda data: publisher.publish(args.topic, data).result(timeout=60),
        Path(args.state) if args.state else None,
        memory=args.memory,
    )
    try:
        if args.once:
            report = poller.poll(every_feed=True)
            print(
                f"polled {report.feeds_polled} feed(s): {report.published} published, "
                f"{report.already_seen} already seen, {report.dead_lettered} dead-lettered, "
                f"{report.feeds_failed} feed(s) failed, {report.not_modified} not modified"
            )
            return EXIT_OK
        stop = threading.Event()
        try:
            poller.run(stop)
        except KeyboardInterrupt:
            stop.set()
        return EXIT_OK
    finally:
        poller.close()


def _run_help() -> str:
    parser = _BeamArgumentParser(
        prog="threadwatch run",
        description="Read articles, cluster them into stories and threads, write alerts. "
        "Any Apache Beam option is accepted too (--runner, --direct_num_workers, "
        "--streaming, …).",
    )
    ThreadwatchOptions._add_argparse_args(parser)
    parser.add_argument_group("output").add_argument(
        "--verbose",
        action="store_true",
        help="On a failure, print the full traceback (and Beam's error log) as well as "
        "the one line naming the failed stage.",
    )
    return parser.format_help()


USAGE = """usage: threadwatch <command> [options]

commands:
  run      run the pipeline (default: seeds/ with config/ → out/)
  eval     run the pipeline over a labelled stream and score it
  ecbplus  convert the ECB+ corpus into a labelled stream
  watch    publish a folder's new and changed files to a Pub/Sub topic (for --streaming)
  poll-feeds  poll feeds and publish new entries' articles to a Pub/Sub topic (for --streaming)
  onnx-export  export the embedding model to ONNX (optionally int8)

'threadwatch <command> --help' for the options of a command; any command
takes --verbose: on a failure, the full traceback besides the one-line error.
exit codes: 0 done; 1 failed (the failed stage and error); 2 bad usage or configuration.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args[1:]
    args = args[:1] + [a for a in args[1:] if a != "--verbose"]
    configure_logging(verbose)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return EXIT_OK if args else EXIT_USAGE
    command, rest = args[0], args[1:]
    try:
        if command == "run":
            if "-h" in rest or "--help" in rest:
                print(_run_help())
                return EXIT_OK
            return run(rest)
        if command == "eval":
            return evaluate(rest)
        if command == "ecbplus":
            return convert_ecbplus(rest)
        if command == "watch":
            return watch_folder(rest)
        if command == "poll-feeds":
            return poll_feeds(rest)
        if command == "onnx-export":
            return onnx_export(rest)
        raise UsageError(f"unknown command {command!r}\n{USAGE}")
    except (UsageError, ConfigError, SourceError) as exc:
        print(f"threadwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failed run: one line naming the stage, not a traceback
        if verbose:
            traceback.print_exc()
        hint = "" if verbose else " (--verbose for the traceback)"
        print(f"threadwatch: {describe_failure(exc)}{hint}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
