"""``threadwatch watch``: a folder's new and changed files, published as article messages.

With ``feedback``, the folder holds feedback files instead (``.jsonl``, the
``config/feedback.jsonl`` format: a download from the HTML report, say),
and each file is published as is, as one message, to a streaming job's
feedback topic (``--feedback_subscription``): the job checks its lines as it
checks the feedback file and applies them together, in the file's order,
or refuses the whole file as one dead letter that names the bad line.

Beam's own folder watching (``MatchContinuously``) is a splittable DoFn that
the local streaming runner cannot run, so locally a folder is watched at the
edge instead: this loop lists the folder every few seconds and publishes each
new or changed file's items to the topic a streaming job reads
(``--input_subscription``). What it has published is remembered in a small
state file, so a restarted watcher does not publish old files again; a file
rewritten in place is published again under the same id, which the job
records as a duplicate of the first version.

Nothing lost: a failed publish is retried with backoff
(``pipeline/edge/publish_retry.py``); a file is remembered only once all its
items are published. One that still fails ends the pass, is logged, and stays
unremembered, so the next pass publishes it again; the watcher keeps
running. A file of many items (``.jsonl``) records how many of them are
published as it goes (the state file is written atomically after each), so
neither a failure nor a SIGKILL makes the next pass send its first items
twice; only a kill between a publish and the state write that follows it
re-sends that one item, which the job records as ``same_id``.
"""

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipeline.edge.publish_retry import Backoff, PublishFailed, publish_with_retry
from transforms.core.atomic import replace_text
from transforms.core.errors import ReadError
from transforms.core.records import DeadLetter, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.folder import (
    is_article_file,
    list_folder,
    read_folder_file,
    split_file,
)
from transforms.sources.read_folder import file_uri, load_folder_manifest

Signature = tuple[int, int]  # size, modification time in nanoseconds


def scan(folder: Path) -> dict[str, Signature]:
    """Every article-named entry, whatever its kind: a pipe or a link out is refused on read."""
    found: dict[str, Signature] = {}
    for name in list_folder(folder):
        if not is_article_file(name):
            continue
        try:
            info = os.lstat(folder / name)
        except OSError:
            continue  # gone since the listing
        found[name] = (info.st_size, info.st_mtime_ns)
    return found


def changed(previous: dict[str, Signature], current: dict[str, Signature]) -> list[str]:
    """Names that are new or whose size or modification time changed, sorted."""
    return sorted(name for name, sig in current.items() if previous.get(name) != sig)


def message_for(doc: RawDocument) -> dict[str, Any]:
    """An article message (the fields of a ``.jsonl`` line) for one item."""
    body_field = "html" if doc.media_type == "text/html" else "text"
    message: dict[str, Any] = {
        "id": doc.item_id,
        body_field: doc.content.decode("utf-8", "replace"),
    }
    meta = doc.meta
    for field in ("title", "url", "source", "language", "author"):
        value = getattr(meta, field)
        if value:
            message[field] = value
    if meta.published is not None:
        message["published"] = meta.published.isoformat()
    return message


def feedback_message(data: bytes) -> list[bytes]:
    """A feedback file as one message (none for a blank file): checked by the job.

    One message, not one per line: a file is applied whole or refused whole,
    and its lines in their order (later lines win). Files are at most
    ``max_bytes`` (5 MB), under Pub/Sub's 10 MB message limit.
    """
    return [data] if data.strip() else []


@dataclasses.dataclass
class WatchReport:
    """What one pass did: items published, and the files left for the next pass."""

    published: int = 0
    #: Changed files not (fully) published this pass: a publish failed, or unreadable.
    not_published: list[str] = dataclasses.field(default_factory=list)
    #: One line per publish that failed past its retries (file, error).
    publish_failures: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class FolderWatcher:
    """Publishes a folder's new and changed files; ``publish`` gets message bytes."""

    folder: Path
    publish: Callable[[bytes], None]
    state_path: Path | None = None
    log: Callable[[str], None] = print
    backoff: Backoff = dataclasses.field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep
    #: Files larger than this are refused unread (``extraction.max_bytes``).
    max_bytes: int = ExtractionSettings().max_bytes
    #: Publish each line of ``.jsonl`` files as a verdict, not articles.
    feedback: bool = False

    def __post_init__(self) -> None:
        self._seen: dict[str, Signature] = {}
        #: Files part-published: their signature and how many items are out.
        self._partial: dict[str, tuple[Signature, int]] = {}
        if self.state_path is not None and self.state_path.exists():
            loaded = json.loads(self.state_path.read_text())
            for name, value in loaded.items():
                signature = (int(value[0]), int(value[1]))
                if len(value) > 2:
                    self._partial[name] = (signature, int(value[2]))
                else:
                    self._seen[name] = signature

    def poll(self) -> int:
        """One pass over the folder; returns the number of messages published."""
        return self.poll_report().published

    def poll_report(self) -> WatchReport:
        """One pass over the folder, and what became of each changed file."""
        report = WatchReport()
        current = scan(self.folder)
        if self.feedback:
            current = {n: sig for n, sig in current.items() if n.lower().endswith(".jsonl")}
        manifest = {} if self.feedback else load_folder_manifest(str(self.folder))
        for name in changed(self._seen, current):
            if report.publish_failures:  # Pub/Sub is failing: the rest wait a pass
                report.not_published.append(name)
                continue
            path = self.folder / name
            try:
                content = read_folder_file(self.folder, name, self.max_bytes)
            except ReadError as exc:
                # Only regular files inside the folder, at most max_bytes: the same
                # rule as the job's own folder source. Refused for good until it changes.
                self.log(f"not read: {name}: {exc.reason}: {exc}")
                report.not_published.append(name)
                self._seen[name] = current[name]
                self._save()
                continue
            data, mtime = content.data, content.mtime
            signature = current[name]
            part = self._partial.get(name)
            done = part[1] if part is not None and part[0] == signature else 0
            items: Iterable[bytes | RawDocument | DeadLetter] = (
                feedback_message(data)
                if self.feedback
                else split_file(name, file_uri(str(path)), data, mtime, manifest.get(name))
            )
            if self._publish_file(name, signature, items, done, report):
                self._partial.pop(name, None)
                self._seen[name] = signature
            else:
                report.not_published.append(name)
            self._save()
        return report

    def _publish_file(
        self,
        name: str,
        signature: Signature,
        items: Iterable[bytes | RawDocument | DeadLetter],
        done: int,
        report: WatchReport,
    ) -> bool:
        """Publishes the items after the first ``done``; False when a publish failed."""
        for index, item in enumerate(items):
            if index < done:  # published before a failure or a restart
                continue
            if isinstance(item, DeadLetter):
                self.log(f"not published: {item.item}: {item.reason}: {item.detail}")
            else:
                data = (
                    item
                    if isinstance(item, bytes)
                    else json.dumps(message_for(item), ensure_ascii=False).encode()
                )
                try:
                    publish_with_retry(self.publish, data, self.backoff, self.sleep, self.log)
                except PublishFailed as failure:
                    line = f"{name}: {failure}"
                    report.publish_failures.append(line)
                    self.log(f"publish failed, tried again next pass: {line}")
                    return False
                report.published += 1
            self._partial[name] = (signature, index + 1)
            self._save()
        return True

    def _save(self) -> None:
        if self.state_path is None:
            return
        state: dict[str, list[int]] = {k: list(v) for k, v in self._seen.items()}
        for name, (signature, done) in self._partial.items():
            state[name] = [*signature, done]
        replace_text(self.state_path, json.dumps(state, sort_keys=True))

    def run(self, interval_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            report = self.poll_report()
            if report.published:
                kind = "feedback file" if self.feedback else "article message"
                self.log(f"published {report.published} {kind}(s) from {self.folder}")
            if report.not_published:
                self.log(f"{len(report.not_published)} file(s) left for the next pass")
            stop.wait(interval_seconds)
