"""Turning the files of an article folder into input items (no Beam here).

A folder holds article files and, optionally, a sidecar manifest
(``manifest.yaml``) with metadata the files themselves lack: publication
dates, titles, sources. One file is one item, except JSON and JSON Lines files,
which hold one article per object. Every item either becomes a
``RawDocument`` or a ``DeadLetter`` saying why not: nothing is skipped silently
except hidden files and the manifest itself, which are not articles.

A folder is input nobody vetted, so a local one is read defensively
(``list_folder``, ``read_folder_file``): only regular files inside the folder
are opened, and never more than the size cap plus one byte of each. A symlink
to ``/dev/zero`` or ``/etc/passwd``, a named pipe, a subfolder: each is a dead
letter with its reason instead of an endless read, a hang, or a file from
elsewhere. ``threadwatch watch`` and ``ReadFolder`` share these helpers.
"""

import dataclasses
import errno
import json
import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

from transforms.core.errors import ConfigError, ReadError
from transforms.core.records import ArticleMeta, DeadLetter, MediaType, RawDocument
from transforms.text.dates import parse_datetime

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml", "manifest.json")
_MEDIA_TYPES: dict[str, MediaType] = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
}
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_META_FIELDS = ("title", "url", "source", "published", "language", "author")
#: Where a JSON object's ``published`` came from, when its producer says so
#: (``published_source``): ``threadwatch poll-feeds`` sends ``feed``, or
#: ``fetch`` for an entry dated by its fetch time. Other values are not a
#: JSON object's to claim, and leave the default, ``document``.
_JSON_ORIGINS = ("document", "feed", "fetch")
#: ``text_from`` of a feed article sent as a message (``ArticleMeta.text_from``).
_TEXT_FROM = ("page", "entry")


def is_article_file(name: str) -> bool:
    """False for the manifest and hidden files, which are not input items."""
    base = posixpath.basename(name)
    return not base.startswith(".") and base not in MANIFEST_NAMES


def list_folder(folder: str | os.PathLike[str]) -> list[str]:
    """Names of a local folder's input entries, sorted: all but hidden files and the manifest.

    Every entry is listed whatever its kind (symlink, pipe, subfolder, dangling
    link), so that ``read_folder_file`` can give each one that is not a regular
    file a dead letter; Beam's own matching silently drops some of them.
    """
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if is_article_file(entry.name))


@dataclasses.dataclass(frozen=True)
class FileContent:
    """What ``read_folder_file`` read: the bytes and the file's modification time."""

    data: bytes
    #: Seconds since the epoch (of the file read, after following links).
    mtime: float
    #: The same in nanoseconds, for change detection (``threadwatch watch``).
    mtime_ns: int


def resolve_inside(folder: str | os.PathLike[str], name: str) -> str:
    """The real path of ``folder/name``; raises ``ReadError`` if it is elsewhere or missing.

    A symlink is followed only when its target lies inside the folder (a
    link to another article there is fine; a link to ``/etc/passwd`` or
    ``/dev/zero`` is not). Nothing outside the folder is ever opened, so a
    device node elsewhere cannot even be touched.
    """
    root = os.path.realpath(folder)
    try:
        real = os.path.realpath(os.path.join(root, name), strict=True)
    except OSError as exc:  # missing, a dangling link, a loop of links
        raise ReadError("unreadable", f"{name}: {exc.strerror or exc}") from None
    if os.path.commonpath([root, real]) != root or real == root:
        raise ReadError("outside_folder", f"{name} resolves to {real}, outside the folder {root}")
    return real


def read_folder_file(folder: str | os.PathLike[str], name: str, max_bytes: int) -> FileContent:
    """Reads one entry of a local folder, at most ``max_bytes`` bytes; raises ``ReadError``.

    Reasons: ``outside_folder`` (a link leading out of the folder),
    ``not_a_regular_file`` (pipe, device, socket, folder), ``too_large``
    (over ``max_bytes``, however small the reported size), ``unreadable``
    (missing, a dangling or looping link, no permission). The file is opened
    without blocking and checked with ``fstat`` on the opened descriptor
    before a byte is read: a named pipe with no writer cannot hang the run, and
    a file swapped for a link, a pipe or a device after the check is still
    refused.
    """
    real = resolve_inside(folder, name)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link after resolve_inside looked
            raise ReadError("unreadable", f"{name} became a link while being read") from None
        raise ReadError("unreadable", f"{name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError(
                "not_a_regular_file", f"{name} is {_kind(info.st_mode)}, not a regular file"
            )
        if info.st_size > max_bytes:
            raise ReadError(
                "too_large", f"{info.st_size} bytes is over the {max_bytes}-byte cap; not read"
            )
        try:
            data = read_bounded(lambda n: os.read(fd, n), max_bytes)
        except OSError as exc:
            raise ReadError("unreadable", f"{name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if data is None:
        raise ReadError("too_large", f"{name} grew past the {max_bytes}-byte cap while read")
    return FileContent(data, info.st_mtime, info.st_mtime_ns)


def read_bounded(read: Callable[[int], bytes], max_bytes: int) -> bytes | None:
    """Reads until end of file, at most ``max_bytes + 1`` bytes; None when over ``max_bytes``.

    ``read(n)`` returns up to ``n`` bytes, ``b""`` at the end (``os.read`` on
    a descriptor, a file object's ``read``). A reported size is not trusted:
    files grow, and some (``/proc``, devices, remote stores) report none.
    """
    chunks: list[bytes] = []
    left = max_bytes + 1
    while left > 0:
        chunk = read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return None if left <= 0 else b"".join(chunks)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder (folders are not read recursively)"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((text for test, text in kinds if test(mode)), "not a regular file")


def _meta_from(mapping: Mapping[str, Any], where: str, origin: str) -> ArticleMeta:
    values: dict[str, Any] = {}
    for field in _META_FIELDS:
        value = mapping.get(field)
        if field == "language" and value is None:
            value = mapping.get("lang")  # the other common spelling
        if value is None:
            continue
        if field == "published":
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            try:
                values[field] = parse_datetime(text)
            except ValueError as exc:
                raise ValueError(f"{where}: published: {exc}") from None
        else:
            values[field] = str(value)
    return ArticleMeta(origin=origin, **values)


def parse_manifest(text: str, path: str) -> dict[str, ArticleMeta]:
    """Parses a folder manifest; errors name the file and the key."""
    try:
        loaded = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"invalid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(path, "must be a mapping with an 'articles' key")
    unknown = set(loaded) - {"articles", "version"}
    if unknown:
        raise ConfigError(path, "unknown key (expected 'articles')", key=sorted(unknown)[0])
    articles = loaded.get("articles") or {}
    if not isinstance(articles, dict):
        raise ConfigError(path, "must map file names to metadata", key="articles")
    result: dict[str, ArticleMeta] = {}
    for name, entry in articles.items():
        key = f"articles.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(path, "must be a mapping of metadata fields", key=key)
        for field in entry:
            if field not in _META_FIELDS:
                raise ConfigError(
                    path,
                    f"unknown field (allowed: {', '.join(_META_FIELDS)})",
                    key=f"{key}.{field}",
                )
        try:
            result[str(name)] = _meta_from(entry, key, "manifest")
        except ValueError as exc:
            raise ConfigError(path, str(exc).split(": ", 2)[-1], key=f"{key}.published") from None
    return result


def split_file(
    name: str,
    uri: str,
    data: bytes | None,
    mtime: float | None,
    meta: ArticleMeta | None,
) -> Iterator[RawDocument | DeadLetter]:
    """Items of one file. ``data`` is None when the file was too large to read."""
    lower = name.lower()
    suffix = lower[lower.rfind(".") :] if "." in lower else ""
    if data is None:
        yield DeadLetter(name, uri, "read", "too_large", "file is over the size cap; not read")
        return
    if suffix in _MEDIA_TYPES:
        yield RawDocument(name, uri, data, _MEDIA_TYPES[suffix], meta or ArticleMeta(), mtime)
    elif suffix in _JSON_SUFFIXES:
        yield from _split_json(name, uri, data, mtime, lines=suffix != ".json")
    else:
        yield DeadLetter(
            name,
            uri,
            "read",
            "unsupported_type",
            f"unsupported file type {suffix or '(no extension)'}; expected one of "
            f"{', '.join(sorted(_MEDIA_TYPES) + list(_JSON_SUFFIXES))}",
        )


def _split_json(
    name: str, uri: str, data: bytes, mtime: float | None, lines: bool
) -> Iterator[RawDocument | DeadLetter]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield DeadLetter(name, uri, "read", "undecodable", f"JSON must be UTF-8: {exc}")
        return
    if not text.strip():
        yield DeadLetter(name, uri, "read", "empty", "the file is empty")
        return
    if lines:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield DeadLetter(
                    f"{name}#{number}",
                    f"{uri}#{number}",
                    "read",
                    "invalid_json",
                    f"line {number}: {exc}",
                )
                continue
            yield json_item(obj, f"{name}#{number}", f"{uri}#{number}", mtime)
        return
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        yield DeadLetter(name, uri, "read", "invalid_json", str(exc))
        return
    if isinstance(loaded, dict) and isinstance(loaded.get("articles"), list):
        loaded = loaded["articles"]
    if isinstance(loaded, list):
        for number, obj in enumerate(loaded, start=1):
            yield json_item(obj, f"{name}#{number}", f"{uri}#{number}", mtime)
    else:
        yield json_item(loaded, name, uri, mtime)


def json_item(obj: Any, item: str, uri: str, mtime: float | None) -> RawDocument | DeadLetter:
    """One JSON object: ``text``/``body``/``content`` or ``html``, plus metadata fields.

    A feed article sent across Pub/Sub (``threadwatch poll-feeds``) keeps its
    flags: ``published_source`` (``feed`` or ``fetch``; else ``document``)
    and ``text_from`` (``page`` or ``entry``). Unrecognised values are ignored,
    like any other unknown field.
    """
    if not isinstance(obj, dict):
        return DeadLetter(item, uri, "read", "invalid_json", "expected a JSON object")
    html = obj.get("html")
    text = next((obj[k] for k in ("text", "body", "content") if isinstance(obj.get(k), str)), None)
    if not isinstance(html, str) and text is None:
        return DeadLetter(
            item, uri, "read", "no_text", "object has no 'text', 'body', 'content' or 'html' string"
        )
    try:
        meta = _meta_from(obj, item, _pick(obj.get("published_source"), _JSON_ORIGINS))
    except ValueError as exc:
        return DeadLetter(item, uri, "read", "invalid_date", str(exc))
    text_from = obj.get("text_from")
    if text_from in _TEXT_FROM:
        meta = dataclasses.replace(meta, text_from=text_from)
    item_id = str(obj["id"]) if obj.get("id") not in (None, "") else item
    if isinstance(html, str):
        return RawDocument(item_id, uri, html.encode(), "text/html", meta, mtime)
    assert text is not None
    return RawDocument(item_id, uri, text.encode(), "text/plain", meta, mtime)


def _pick(value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` when it is one of ``allowed``, else the first of them (the default)."""
    return value if isinstance(value, str) and value in allowed else allowed[0]
