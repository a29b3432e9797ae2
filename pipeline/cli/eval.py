"""``threadwatch eval``: the pipeline over a labelled stream, and its scores."""

import argparse
import sys
import time
from collections.abc import Sequence

from apache_beam.options.pipeline_options import StandardOptions

from pipeline.cli.common import EXIT_OK, check_flags, pipeline_options
from pipeline.cli.progress import Progress
from pipeline.cli.progress_listen import listening
from pipeline.cli.run import LOCAL_RUNNERS
from pipeline.options import DEFAULT_SETTINGS, project_path

NAME = "eval"
SUMMARY = "run the pipeline over a labelled stream and score it"


def main(argv: Sequence[str]) -> int:
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
        "--feedback",
        default=None,
        help="feedback file the run reads (threadwatch feedback); default: none",
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
    runner = options.view_as(StandardOptions).runner
    local = runner is None or str(runner).split(".")[-1] in LOCAL_RUNNERS
    progress = Progress(sys.stderr, time.monotonic, total=_lines(args.stream))
    with listening(progress) as address:
        run = EvalRun(
            args.stream,
            args.threads,
            args.settings or None,
            args.output,
            address if local else None,
            args.feedback,
        )
        report = run_eval(run, flags)
    print("\n".join(format_report(report)))
    print(f"report: {args.output.rstrip('/')}/eval.json")
    return EXIT_OK


def _lines(path: str) -> int | None:
    """Records in a local JSON Lines stream (exemplars included): the progress line's total."""
    try:
        with open(path, "rb") as stream:
            return sum(1 for line in stream if line.strip())
    except OSError:
        return None
