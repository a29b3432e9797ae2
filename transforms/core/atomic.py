"""One atomic file replace for every writer: outputs, state snapshots, edge-process state.

A reader, or a job restarted after a crash at any instant, sees the old file
or the new one, never half of one and never none. Local paths get the POSIX
guarantee: the bytes go to a unique temporary name in the same folder, are
flushed to disk, and ``os.replace`` renames them over the target in one step
(the folder is synced so the rename itself survives a power cut). Other Beam
filesystems (``gs://`` …) have no rename-over; there the temporary object is
copied over the target by ``FileSystems.rename``, which on object stores
replaces the destination as one object write.
"""

import os
import tempfile
import uuid
from collections.abc import Iterable

from apache_beam.io.filesystems import FileSystems


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _local(path: str) -> str:
    return path.removeprefix("file://")


def replace_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that it appears whole or not at all."""
    if _is_local(path):
        _replace_local(_local(path), data)
        return
    directory = path.rsplit("/", 1)[0]
    if not FileSystems.exists(directory):
        FileSystems.mkdirs(directory)
    temporary = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(temporary) as handle:
        handle.write(data)
    FileSystems.rename([temporary], [path])


def replace_lines(path: str, lines: Iterable[str]) -> None:
    """``replace_bytes`` of UTF-8 lines, each ended by a newline."""
    replace_bytes(path, b"".join(line.encode() + b"\n" for line in lines))


def replace_text(path: str | os.PathLike[str], text: str) -> None:
    """``replace_bytes`` of a UTF-8 text (for the edge processes' JSON state)."""
    replace_bytes(os.fspath(path), text.encode())


def _replace_local(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems refuse to open folders: the rename still happened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def read_bytes(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist (any Beam filesystem)."""
    if _is_local(path):
        try:
            with open(_local(path), "rb") as stream:
                return stream.read()
        except FileNotFoundError:
            return None
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        data: bytes = handle.read()
    return data
