"""``threadwatch report``: a run's outputs as one self-contained HTML page."""

from collections.abc import Sequence

NAME = "report"
SUMMARY = "write a run's outputs as one HTML page (threads, stories, alerts, counts)"


def main(argv: Sequence[str]) -> int:
    from pipeline.report.command import report_main

    return report_main(argv)
