"""Reading an article folder: ``ReadSeedFolder``."""

import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.errors import ConfigError
from transforms.folder import MANIFEST_NAMES, is_article_file, parse_manifest, split_file
from transforms.metrics import count_dead_letter, counter
from transforms.records import ArticleMeta, DeadLetter

DEAD_LETTER = "dead_letter"


def file_uri(path: str) -> str:
    """``file://`` URL for local paths; other filesystems' paths are already URLs."""
    if "://" in path:
        return path
    from pathlib import Path

    return Path(path).resolve().as_uri()


def load_folder_manifest(folder: str) -> dict[str, ArticleMeta]:
    """Reads the folder's manifest, if any (at pipeline construction: it is small)."""
    for name in MANIFEST_NAMES:
        path = FileSystems.join(folder, name)
        if FileSystems.exists(path):
            with FileSystems.open(path) as handle:
                raw = handle.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ConfigError(path, f"not UTF-8: {exc}") from None
            return parse_manifest(text, path)
    return {}


class _SplitFileFn(beam.DoFn):
    """One matched file → its items (documents or dead letters)."""

    def __init__(self, manifest: Mapping[str, ArticleMeta], max_bytes: int) -> None:
        self._manifest = dict(manifest)
        self._max_bytes = max_bytes
        self._read = counter("items_read")

    def process(self, metadata: FileMetadata) -> Iterator[Any]:
        path = metadata.path
        name = posixpath.basename(path.rstrip("/"))
        if not is_article_file(name):
            return
        uri = file_uri(path)
        data: bytes | None = None
        if metadata.size_in_bytes <= self._max_bytes:
            try:
                with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                    data = f.read()
            except IsADirectoryError:
                return
            except OSError as exc:
                self._read.inc()
                letter = DeadLetter(name, uri, "read", "unreadable", str(exc))
                count_dead_letter(letter)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, letter)
                return
        mtime = metadata.last_updated_in_seconds or None
        for item in split_file(name, uri, data, mtime, self._manifest.get(name)):
            if isinstance(item, DeadLetter):
                # Items that go on are counted as read by ExtractText.
                self._read.inc()
                count_dead_letter(item)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, item)
            else:
                yield item


class ReadSeedFolder(beam.PTransform):  # type: ignore[type-arg]
    """Reads every article file in a folder (local or any Beam filesystem).

    Outputs ``main`` (raw documents) and ``dead_letter`` (files that cannot be
    items). The manifest is read when the pipeline is built, so a broken
    manifest fails fast with a ``ConfigError`` instead of inside a worker.
    """

    def __init__(self, folder: str, max_bytes: int) -> None:
        super().__init__()
        self._folder = folder
        self._max_bytes = max_bytes
        self._manifest = load_folder_manifest(folder)

    def expand(self, pbegin: beam.pvalue.PBegin) -> Any:
        pattern = FileSystems.join(self._folder, "*")
        return (
            pbegin
            | "MatchFiles" >> fileio.MatchFiles(pattern)
            | "SplitIntoItems"
            >> beam.ParDo(_SplitFileFn(self._manifest, self._max_bytes)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
