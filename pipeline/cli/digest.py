"""``threadwatch digest``: what a run found in a period, per thread, as Markdown and HTML."""

import argparse
from collections.abc import Sequence
from pathlib import Path

from pipeline.cli.common import EXIT_OK, UsageError

NAME = "digest"
SUMMARY = "summarise a period of a run's outputs per thread (Markdown, HTML for email)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadwatch digest",
        description="Write a per-thread summary of a period of a run's outputs: the new "
        "stories on each thread with their alerts, the biggest stories by article count, "
        "emergent threads apart. The period ends at --until, else --now, else the latest "
        "event in the outputs (never the wall clock): the same outputs give the same digest.",
    )
    parser.add_argument(
        "--output", default="out", help="the run's --output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--since",
        default="24h",
        help="start: a duration back from the end (90m, 24h, 7d, 2w, 1d12h) or an ISO 8601 "
        "time (default: %(default)s)",
    )
    parser.add_argument("--until", default=None, help="end: an ISO 8601 time or a duration back")
    parser.add_argument(
        "--now",
        default=None,
        help="the time durations count from (ISO 8601; default: the latest event in the outputs)",
    )
    parser.add_argument("--format", choices=("md", "html", "both"), default="both")
    parser.add_argument(
        "--to",
        default=None,
        help="file to write (with --format both, its .md and .html siblings); '-' prints "
        "Markdown to stdout. Default: OUTPUT/digest.md and OUTPUT/digest.html",
    )
    parser.add_argument(
        "--threads",
        default=None,
        help="the run's watchlist, to title watched threads no alert names (default: their ids)",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    from pipeline.report.digest import PeriodError, build_digest, latest_event_time, resolve_period
    from pipeline.report.digest_render import to_html, to_markdown
    from pipeline.report.load import load_output
    from transforms.core.atomic import replace_text

    args = _parser().parse_args(list(argv))
    output = load_output(args.output)
    try:
        period = resolve_period(args.since, args.until, args.now, latest_event_time(output))
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    titles = None
    if args.threads:
        from pipeline.config.settings import load_threads

        titles = {spec.id: spec.title for spec in load_threads(args.threads)}
    digest = build_digest(output, period, titles)
    if args.to == "-":
        if args.format != "md":
            raise UsageError("--to - prints Markdown only: add --format md")
        print(to_markdown(digest), end="")
        return EXIT_OK
    base = Path(args.to) if args.to else Path(args.output) / "digest"
    exact = args.to is not None and args.format != "both"  # one file, named as given
    targets = []
    if args.format in ("md", "both"):
        targets.append((base if exact else base.with_suffix(".md"), to_markdown))
    if args.format in ("html", "both"):
        targets.append((base if exact else base.with_suffix(".html"), to_html))
    for path, render in targets:
        replace_text(path, render(digest))
        print(f"digest: {path}")
    return EXIT_OK
