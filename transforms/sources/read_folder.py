"""Reading an article folder: ``ReadFolder``."""

import os
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.core.errors import ConfigError, ReadError
from transforms.core.metrics import count_dead_letter, counter
from transforms.core.records import DEAD_LETTER, ArticleMeta, DeadLetter
from transforms.sources.folder import (
    MANIFEST_NAMES,
    FileContent,
    is_article_file,
    list_folder,
    parse_manifest,
    read_bounded,
    read_folder_file,
    split_file,
)


def file_uri(path: str) -> str:
    """``file://`` URL for local paths; other filesystems' paths are already URLs.

    The folder is resolved, the file's own name is kept: a link names the
    item it is (and a looping one still has a URL for its dead letter).
    """
    if "://" in path:
        return path
    from pathlib import Path

    absolute = os.path.abspath(path)
    return (Path(os.path.realpath(os.path.dirname(absolute))) / os.path.basename(absolute)).as_uri()


#: Cap on a folder manifest's size: metadata for many thousands of files.
MANIFEST_MAX_BYTES = 5_000_000


def is_local(folder: str) -> bool:
    """A path without a scheme: read with ``read_folder_file``, links and all."""
    return "://" not in folder


def load_folder_manifest(folder: str) -> dict[str, ArticleMeta]:
    """Reads the folder's manifest, if any (at pipeline construction: it is small).

    The manifest is input like the articles: in a local folder it must be a
    regular file inside the folder, and it is read only up to a cap.
    """
    for name in MANIFEST_NAMES:
        path = FileSystems.join(folder, name)
        if not FileSystems.exists(path) and not (is_local(folder) and os.path.lexists(path)):
            continue
        try:
            text = _read_manifest(folder, name, path).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(path, f"not UTF-8: {exc}") from None
        return parse_manifest(text, path)
    return {}


def _read_manifest(folder: str, name: str, path: str) -> bytes:
    if is_local(folder):
        try:
            return read_folder_file(folder, name, MANIFEST_MAX_BYTES).data
        except ReadError as exc:
            raise ConfigError(path, f"{exc.reason}: {exc}") from None
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        raw = read_bounded(f.read, MANIFEST_MAX_BYTES)
    if raw is None:
        raise ConfigError(path, f"too_large: over the {MANIFEST_MAX_BYTES}-byte cap")
    return raw


class _ItemsFn(beam.DoFn):
    """Shared by both readers: a file's bytes, or why there are none → items."""

    def __init__(self, manifest: Mapping[str, ArticleMeta], max_bytes: int) -> None:
        self._manifest = dict(manifest)
        self._max_bytes = max_bytes
        self._read = counter("items_read")

    def _items(self, name: str, uri: str, content: FileContent | ReadError | None) -> Iterator[Any]:
        """``None``: over the cap (as ``split_file`` takes it)."""
        if isinstance(content, ReadError):
            yield self._dead(DeadLetter(name, uri, "read", content.reason, str(content)))
            return
        data = content.data if content is not None else None
        mtime = (content.mtime or None) if content is not None else None
        for item in split_file(name, uri, data, mtime, self._manifest.get(name)):
            if isinstance(item, DeadLetter):
                yield self._dead(item)
            else:
                yield item  # items that go on are counted as read by ExtractText

    def _dead(self, letter: DeadLetter) -> Any:
        self._read.inc()
        count_dead_letter(letter)
        return beam.pvalue.TaggedOutput(DEAD_LETTER, letter)


class _ReadLocalFileFn(_ItemsFn):
    """One entry name of a local folder → its items (documents or dead letters)."""

    def __init__(self, folder: str, manifest: Mapping[str, ArticleMeta], max_bytes: int) -> None:
        super().__init__(manifest, max_bytes)
        self._folder = folder

    def process(self, name: str) -> Iterator[Any]:
        uri = file_uri(os.path.join(self._folder, name))
        content: FileContent | ReadError | None
        try:
            content = read_folder_file(self._folder, name, self._max_bytes)
        except ReadError as exc:
            content = exc
        yield from self._items(name, uri, content)


class _ReadMatchedFileFn(_ItemsFn):
    """One matched file of a remote filesystem (no links, no pipes) → its items."""

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
                    data = read_bounded(f.read, self._max_bytes)
            except OSError as exc:
                yield from self._items(name, uri, ReadError("unreadable", str(exc)))
                return
        mtime = metadata.last_updated_in_seconds or 0.0
        content = None if data is None else FileContent(data, mtime, int(mtime * 1e9))
        yield from self._items(name, uri, content)


class ReadFolder(beam.PTransform):  # type: ignore[type-arg]
    """Reads every article file in a folder (local or any Beam filesystem).

    Outputs ``main`` (raw documents) and ``dead_letter`` (files that cannot be
    items). The manifest is read when the pipeline is built, so a broken
    manifest fails fast with a ``ConfigError`` instead of inside a worker.

    A local folder is listed entry by entry and each entry read with
    ``read_folder_file``: only regular files inside the folder, at most
    ``max_bytes`` each; links out of the folder, pipes, devices and subfolders
    are dead letters. Other filesystems are matched by Beam and read with the
    same bounded read.
    """

    def __init__(self, folder: str, max_bytes: int) -> None:
        super().__init__()
        self._folder = folder
        self._max_bytes = max_bytes
        self._manifest = load_folder_manifest(folder)

    def expand(self, pbegin: beam.pvalue.PBegin) -> Any:
        if is_local(self._folder):
            files = (
                pbegin
                | "ListFolder" >> beam.Create([self._folder])
                | "Entries" >> beam.FlatMap(list_folder)
                | "SpreadReads" >> beam.Reshuffle()
            )
            read: beam.DoFn = _ReadLocalFileFn(self._folder, self._manifest, self._max_bytes)
        else:
            files = pbegin | "MatchFiles" >> fileio.MatchFiles(FileSystems.join(self._folder, "*"))
            read = _ReadMatchedFileFn(self._manifest, self._max_bytes)
        return files | "SplitIntoItems" >> beam.ParDo(read).with_outputs(DEAD_LETTER, main="main")
