"""JSON Lines sinks.

For bounded input each output is one file, sorted by event time, written to a
temporary name and renamed into place so a reader never sees half a file.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import apache_beam as beam
from apache_beam.transforms import trigger
from apache_beam.transforms.window import GlobalWindows

from transforms.core.atomic import replace_lines


class JsonRecord(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def json_line(record: JsonRecord) -> tuple[str, str]:
    """(sort key, line): event time first, then the line itself for a total order."""
    data = record.to_json()
    line = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return (str(data.get("event_time", "")), line)


def write_atomically(path: str, lines: Iterable[str]) -> None:
    replace_lines(path, lines)


class _WriteSortedFn(beam.DoFn):
    def __init__(self, path: str, per_pane: bool) -> None:
        self._path = path
        self._per_pane = per_pane

    def process(self, keyed_lines: list[tuple[str, str]]) -> Iterator[str]:
        ordered = sorted(keyed_lines)
        lines = [line for _, line in ordered]
        path = self._path
        if self._per_pane:
            if not lines:
                return
            # One file per pane, named by its first event time and its content:
            # a reader tailing the folder never sees a partial file.
            first = ordered[0][0].replace(":", "").replace("-", "") or "undated"
            digest = hashlib.sha1("\n".join(lines).encode()).hexdigest()[:10]
            path = f"{path.removesuffix('.jsonl')}/{first}-{digest}.jsonl"
        write_atomically(path, lines)
        yield path


class WriteJsonLines(beam.PTransform):  # type: ignore[type-arg]
    """Records with ``to_json()`` → JSON Lines, sorted by event time.

    Bounded input: one file, ``path``. Streaming (``pane_seconds`` set): a
    pane closes after ``pane_records`` records or ``pane_seconds`` of
    processing time, whichever comes first, and each pane becomes its own file
    in the folder ``path`` without ``.jsonl``. Panes follow arrival, not event
    time, so an article published long ago but arriving now is written now
    rather than dropped as late. (On the local DirectRunner, processing-time
    panes were not seen to fire with a Pub/Sub source: there the record count
    closes panes, so alerts use one record per pane.)
    """

    def __init__(
        self, path: str, pane_seconds: float | None = None, pane_records: int = 100
    ) -> None:
        super().__init__()
        self._path = path
        self._pane_seconds = pane_seconds
        self._pane_records = pane_records

    def expand(self, records: beam.pvalue.PCollection[Any]) -> Any:
        # Grouped under the file's path as a str key: Beam's CombineGlobally
        # would key by None with a pickled, non-deterministic key coder.
        key = self._path
        keyed = (
            records
            | "ToJsonLine" >> beam.Map(json_line)
            | "KeyByFile" >> beam.Map(lambda line: (key, line)).with_output_types(tuple[str, Any])
        )
        if self._pane_seconds is None:
            # A marker, so that an empty output still writes its (empty) file.
            marker = keyed.pipeline | "EnsureFile" >> beam.Create([(key, None)]).with_output_types(
                tuple[str, Any]
            )
            grouped = (
                (keyed, marker)
                | "WithMarker" >> beam.Flatten()
                | "InGlobalWindow" >> beam.WindowInto(GlobalWindows())
                | "Collect" >> beam.GroupByKey()
            )
        else:
            grouped = (
                keyed
                | "InPanes"
                >> beam.WindowInto(
                    GlobalWindows(),
                    trigger=trigger.Repeatedly(
                        trigger.AfterAny(
                            trigger.AfterCount(self._pane_records),
                            # Whole seconds: the portable trigger proto holds an integer.
                            trigger.AfterProcessingTime(max(1, round(self._pane_seconds))),
                        )
                    ),
                    accumulation_mode=trigger.AccumulationMode.DISCARDING,
                )
                | "CollectPane" >> beam.GroupByKey()
            )
        return (
            grouped
            | "Lines" >> beam.Map(lambda kv: [line for line in kv[1] if line is not None])
            | "WriteFile"
            >> beam.ParDo(_WriteSortedFn(self._path, per_pane=self._pane_seconds is not None))
        )


OUTPUT_FILES = {
    "alerts": "alerts.jsonl",
    "stories": "stories.jsonl",
    "assignments": "assignments.jsonl",
    "duplicates": "duplicates.jsonl",
    "threads": "threads.jsonl",
    "dead_letters": "dead_letters.jsonl",
}


class WriteOutputs(beam.PTransform):  # type: ignore[type-arg]
    """Writes every output of a run into one folder (see ``OUTPUT_FILES``).

    In streaming (``pane_seconds`` set) each output is a folder of pane files,
    e.g. ``out/alerts/20241010T193600Z-3f2a0c9e1b.jsonl``.
    """

    def __init__(self, folder: str, pane_seconds: float | None = None) -> None:
        super().__init__()
        self._folder = folder.rstrip("/")
        self._pane_seconds = pane_seconds

    def expand(self, outputs: Any) -> Any:
        written = [
            outputs[name]
            | f"Write_{name}"
            >> WriteJsonLines(
                f"{self._folder}/{filename}",
                self._pane_seconds,
                pane_records=1 if name == "alerts" else 100,  # alerts: as soon as they happen
            )
            for name, filename in OUTPUT_FILES.items()
        ]
        # The paths written: what waits for every file (``CommitState``) reads them.
        return written | "FilesWritten" >> beam.Flatten()
