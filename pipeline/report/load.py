"""Reads a run's output folder (batch files or streaming pane folders) into records.

A batch run writes one JSON Lines file per output (``alerts.jsonl`` …); a
streaming run writes a folder per output (``alerts/``) of pane files. Both
shapes are read the same way here, so the report does not care which kind of
run wrote them. Nothing is skipped silently: a line that is not a JSON object
is an error naming the file and line, because a report whose counts quietly
miss records would be worse than none.
"""

import dataclasses
import json
from pathlib import Path
from typing import Any

from transforms.sinks.files import OUTPUT_FILES

Record = dict[str, Any]


class ReportError(Exception):
    """The output folder cannot be reported on (missing, or a malformed record)."""


@dataclasses.dataclass(frozen=True)
class RunOutput:
    """Every record of one run, per output, in file (then line) order."""

    folder: Path
    alerts: tuple[Record, ...] = ()
    stories: tuple[Record, ...] = ()
    assignments: tuple[Record, ...] = ()
    duplicates: tuple[Record, ...] = ()
    threads: tuple[Record, ...] = ()
    dead_letters: tuple[Record, ...] = ()
    #: ``batch`` (one file per output) or ``streaming`` (pane folders).
    layout: str = "batch"


def output_paths(folder: Path, name: str) -> list[Path]:
    """The files holding output ``name``: the batch file, or the pane files in order.

    Pane files are named by their first event time, so sorting by name reads
    them roughly in event order; the report sorts what matters itself.
    """
    batch = folder / OUTPUT_FILES[name]
    if batch.is_file():
        return [batch]
    panes = folder / OUTPUT_FILES[name].removesuffix(".jsonl")
    if panes.is_dir():
        return sorted(p for p in panes.iterdir() if p.is_file() and p.suffix == ".jsonl")
    return []


def read_records(path: Path) -> list[Record]:
    """One JSON object per non-blank line; anything else is a ``ReportError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from exc
    records: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise ReportError(f"{path}:{number}: expected a JSON object")
        records.append(value)
    return records


def load_output(folder: str | Path) -> RunOutput:
    """All six outputs of the run in ``folder``; a ``ReportError`` if it holds none."""
    root = Path(folder)
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder (expected a run's --output folder)")
    found: dict[str, tuple[Record, ...]] = {}
    any_found = False
    streaming = False
    for name in OUTPUT_FILES:
        paths = output_paths(root, name)
        any_found = any_found or bool(paths) or (root / OUTPUT_FILES[name]).exists()
        streaming = streaming or (root / OUTPUT_FILES[name].removesuffix(".jsonl")).is_dir()
        records: list[Record] = []
        for path in paths:
            records.extend(read_records(path))
        found[name] = tuple(records)
    if not any_found:
        names = ", ".join(OUTPUT_FILES.values())
        raise ReportError(f"no threadwatch outputs in {root} (expected {names} or their folders)")
    return RunOutput(
        folder=root,
        alerts=found["alerts"],
        stories=found["stories"],
        assignments=found["assignments"],
        duplicates=found["duplicates"],
        threads=found["threads"],
        dead_letters=found["dead_letters"],
        layout="streaming" if streaming else "batch",
    )
