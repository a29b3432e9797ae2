"""The folder watcher's bookkeeping (no Pub/Sub needed)."""

import json
import os
from pathlib import Path

from pipeline.watch import FolderWatcher, changed


def test_new_and_rewritten_files_are_published_once_each(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    sent: list[dict[str, str]] = []
    watcher = FolderWatcher(
        folder,
        lambda data: sent.append(json.loads(data)),
        tmp_path / "state.json",
        log=lambda _: None,
    )
    (folder / "a.txt").write_text("First version of the article text.")
    (folder / "notes.pdf").write_bytes(b"%PDF")  # not an article: logged, not published
    assert watcher.poll() == 1 and watcher.poll() == 0
    (folder / "a.txt").write_text("Second, rewritten version of the article text.")
    os.utime(folder / "a.txt", ns=(10**18, 10**18))
    (folder / "b.html").write_text("<p>hello</p>")
    assert watcher.poll() == 2
    assert [(m["id"], "html" in m) for m in sent] == [
        ("a.txt", False),
        ("a.txt", False),
        ("b.html", True),
    ]
    restarted = FolderWatcher(
        folder,
        lambda data: sent.append(json.loads(data)),
        tmp_path / "state.json",
        log=lambda _: None,
    )
    assert restarted.poll() == 0  # the state file remembers what was published


def test_changed_compares_size_and_time() -> None:
    assert changed({"a": (1, 1)}, {"a": (1, 1), "b": (2, 2)}) == ["b"]
    assert changed({"a": (1, 1)}, {"a": (1, 2)}) == ["a"]
