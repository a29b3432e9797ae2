"""``threadwatch report``: the subcommand's arguments, kept beside the report itself."""

import argparse
from collections.abc import Sequence
from pathlib import Path

from pipeline.report import write_report
from pipeline.report.load import load_output
from pipeline.report.screenshot import take_screenshot


def latest_alert_story(output_folder: str) -> str | None:
    """The story the latest alert opened: what a screenshot shows in detail."""
    alerts = sorted(
        load_output(output_folder).alerts,
        key=lambda a: (str(a.get("event_time", "")), str(a.get("alert_id", ""))),
    )
    return str(alerts[-1]["story"]["id"]) if alerts else None


def report_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch report",
        description="Write one self-contained HTML page (no network needed to view it) "
        "showing a run's threads as timelines of stories, alerts with their evidence, and "
        "counts. Reads a batch --output folder or a streaming one.",
    )
    parser.add_argument("folder", nargs="?", default="out", help="the run's output folder")
    parser.add_argument(
        "--output", default=None, help="page to write (default: FOLDER/report.html)"
    )
    parser.add_argument(
        "--threads",
        default=None,
        help="the run's watchlist, to title watched threads that no alert names "
        "(default: their ids)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        default=None,
        help="also photograph the page at 1280×800 with headless Chromium, the latest "
        "alert's story open",
    )
    args = parser.parse_args(list(argv))
    titles = None
    if args.threads:
        from pipeline.config.settings import load_threads

        titles = {spec.id: spec.title for spec in load_threads(args.threads)}
    page = write_report(args.folder, args.output, titles)
    print(f"report: {page}")
    if args.screenshot:
        shot = take_screenshot(page, Path(args.screenshot), latest_alert_story(args.folder))
        print(f"screenshot: {shot}")
    return 0
