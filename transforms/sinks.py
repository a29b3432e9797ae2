"""JSON Lines sinks.

For bounded input each output is one file, sorted by event time, written to a
temporary name and renamed into place so a reader never sees half a file.
"""

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import combiners
from apache_beam.transforms.window import GlobalWindows


class JsonRecord(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def json_line(record: JsonRecord) -> tuple[str, str]:
    """(sort key, line): event time first, then the line itself for a total order."""
    data = record.to_json()
    line = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return (str(data.get("event_time", "")), line)


def write_atomically(path: str, lines: Iterable[str]) -> None:
    write_bytes_atomically(path, b"".join(line.encode() + b"\n" for line in lines))


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Writes to a temporary name beside ``path``, then renames it into place.

    A reader (or a restarted job) sees the old file or the new one, never
    half of one. Works on every Beam filesystem (local, ``gs://``).
    """
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    if not FileSystems.exists(directory):
        FileSystems.mkdirs(directory)
    temporary = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(temporary) as handle:
        handle.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])


def read_bytes(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist (any Beam filesystem)."""
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        data: bytes = handle.read()
    return data


class _WriteSortedFn(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, keyed_lines: list[tuple[str, str]]) -> Iterator[str]:
        write_atomically(self._path, (line for _, line in sorted(keyed_lines)))
        yield self._path


class WriteJsonLines(beam.PTransform):  # type: ignore[type-arg]
    """Records with ``to_json()`` → one sorted JSON Lines file (bounded input)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def expand(self, records: beam.pvalue.PCollection[Any]) -> Any:
        return (
            records
            | "ToJsonLine" >> beam.Map(json_line)
            | "InGlobalWindow" >> beam.WindowInto(GlobalWindows())
            | "Collect" >> combiners.ToList()
            | "WriteFile" >> beam.ParDo(_WriteSortedFn(self._path))
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
    """Writes every output of a run into one folder (see ``OUTPUT_FILES``)."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._folder = folder.rstrip("/")

    def expand(self, outputs: Any) -> Any:
        for name, filename in OUTPUT_FILES.items():
            _ = outputs[name] | f"Write_{name}" >> WriteJsonLines(f"{self._folder}/{filename}")
        return beam.pvalue.PDone(next(iter(outputs.values())).pipeline)
