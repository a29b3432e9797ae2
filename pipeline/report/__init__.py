"""``threadwatch report``: a run's outputs as one self-contained HTML timeline.

``load`` reads the output folder (batch files or streaming pane folders),
``model`` aggregates threads, stories, alerts and counts, ``render`` writes the
page, ``screenshot`` photographs it with headless Chromium.
"""

from collections.abc import Mapping
from pathlib import Path

from pipeline.report.load import ReportError, load_output
from pipeline.report.model import build_model
from pipeline.report.render import render_html
from transforms.core.atomic import replace_text

__all__ = ["ReportError", "write_report"]


def write_report(
    output_folder: str,
    destination: str | None = None,
    thread_titles: Mapping[str, str] | None = None,
) -> Path:
    """Writes the report of the run in ``output_folder``; returns its path.

    ``destination`` defaults to ``report.html`` in the output folder;
    ``thread_titles`` (id → title, the watchlist) names watched threads that
    no alert names.
    """
    output = load_output(output_folder)
    target = Path(destination) if destination else Path(output_folder) / "report.html"
    replace_text(target, render_html(build_model(output, thread_titles)))
    return target
