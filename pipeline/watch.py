"""``threadwatch watch``: a folder's new and changed files, published as article messages.

Beam's own folder watching (``MatchContinuously``) is a splittable DoFn that
the local streaming runner cannot run, so locally a folder is watched at the
edge instead: this loop lists the folder every few seconds and publishes each
new or changed file's items to the topic a streaming job reads
(``--input_subscription``). What it has published is remembered in a small
state file, so a restarted watcher does not publish old files again; a file
rewritten in place is published again under the same id, which the job
records as a duplicate of the first version.
"""

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from transforms.atomic import replace_text
from transforms.folder import is_article_file, split_file
from transforms.read import file_uri, load_folder_manifest
from transforms.records import DeadLetter, RawDocument

Signature = tuple[int, int]  # size, modification time in nanoseconds


def scan(folder: Path) -> dict[str, Signature]:
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.iterdir()
        if p.is_file() and is_article_file(p.name)
    }


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


@dataclasses.dataclass
class FolderWatcher:
    """Publishes a folder's new and changed files; ``publish`` gets message bytes."""

    folder: Path
    publish: Callable[[bytes], None]
    state_path: Path | None = None
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self._seen: dict[str, Signature] = {}
        if self.state_path is not None and self.state_path.exists():
            loaded = json.loads(self.state_path.read_text())
            self._seen = {k: (int(v[0]), int(v[1])) for k, v in loaded.items()}

    def poll(self) -> int:
        """One pass over the folder; returns the number of messages published."""
        current = scan(self.folder)
        manifest = load_folder_manifest(str(self.folder))
        published = 0
        for name in changed(self._seen, current):
            path = self.folder / name
            items: Iterable[RawDocument | DeadLetter] = split_file(
                name,
                file_uri(str(path)),
                path.read_bytes(),
                path.stat().st_mtime,
                manifest.get(name),
            )
            for item in items:
                if isinstance(item, DeadLetter):
                    self.log(f"not published: {item.item}: {item.reason}: {item.detail}")
                    continue
                self.publish(json.dumps(message_for(item), ensure_ascii=False).encode())
                published += 1
            self._seen[name] = current[name]
        if self.state_path is not None:
            replace_text(self.state_path, json.dumps(self._seen, sort_keys=True))
        return published

    def run(self, interval_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            count = self.poll()
            if count:
                self.log(f"published {count} article message(s) from {self.folder}")
            stop.wait(interval_seconds)
