"""The folder watcher: its bookkeeping, publish failures, and SIGKILLs (the real emulator)."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from pipeline.edge.publish_retry import Backoff
from pipeline.edge.watch import FolderWatcher, changed
from tests.pubsub_channel import Channel, threadwatch_process


@pytest.fixture
def channel(pubsub: str, request: pytest.FixtureRequest) -> Channel:
    return Channel(request.node.name)


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


class DownFor:
    """Records what it is given, except that the calls numbered in ``failing`` raise."""

    def __init__(self, *failing: int) -> None:
        self.failing, self.calls = set(failing), 0
        self.sent: list[str] = []

    def __call__(self, data: bytes) -> None:
        self.calls += 1
        if self.calls in self.failing:
            raise ConnectionError("Pub/Sub unavailable")
        self.sent.append(json.loads(data)["id"])


def test_a_publish_failing_past_its_retries_leaves_the_file_for_the_next_pass(
    tmp_path: Path,
) -> None:
    folder, state = tmp_path / "inbox", tmp_path / "state.json"
    folder.mkdir()
    lines = [json.dumps({"id": f"a{n}", "text": f"Article {n} of the file."}) for n in (1, 2, 3)]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "b.txt").write_text("Another article.")
    publish, slept, logged = DownFor(2, 3), list[float](), list[str]()

    def watcher() -> FolderWatcher:
        return FolderWatcher(folder, publish, state, logged.append, Backoff(2), slept.append)

    report = watcher().poll_report()  # a1 goes; a2 fails twice: the pass ends, no raise
    assert (report.published, report.not_published) == (1, ["a.jsonl", "b.txt"])
    assert report.publish_failures == [
        "a.jsonl: not published after 2 attempt(s): ConnectionError('Pub/Sub unavailable')"
    ]
    assert slept == [1] and any("publish failed" in line for line in logged)
    size = (folder / "a.jsonl").stat().st_size
    assert json.loads(state.read_text()) == {  # a.jsonl: one item out, not remembered
        "a.jsonl": [size, (folder / "a.jsonl").stat().st_mtime_ns, 1]
    }

    restarted = watcher()  # from the state file: resumes after a1
    assert restarted.poll() == 3 and restarted.poll() == 0
    assert publish.sent == ["a1", "a2", "a3", "b.txt"]  # each once
    assert sorted(json.loads(state.read_text())) == ["a.jsonl", "b.txt"]
    assert all(len(v) == 2 for v in json.loads(state.read_text()).values())  # both whole


def test_watch_killed_mid_file_loses_no_item(channel: Channel, tmp_path: Path) -> None:
    """``threadwatch watch`` SIGKILLed while it publishes a file, restarted each time.

    Each kill lands just after the state file records some items of the file
    as published (the watcher is then publishing the next one). Guaranteed:
    every item arrives, and a kill repeats at most the one item in flight
    (published, its state write not yet done), so duplicates are at most the
    kills (the job records a repeat as ``same_id``).
    """
    folder, state, log = tmp_path / "inbox", tmp_path / "state.json", tmp_path / "watch.log"
    folder.mkdir()
    ids = [f"a{n}" for n in range(1, 21)]
    lines = [json.dumps({"id": i, "text": f"Article {i} of the file."}) for i in ids]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "b.txt").write_text("Another article.")
    ids.append("b.txt")
    args = ["watch", "--folder", str(folder), "--topic", channel.topic]
    args += ["--state", str(state), "--interval", "0.2"]

    def progress() -> tuple[int, bool]:
        """Items of a.jsonl recorded as published; whether every file is whole."""
        try:
            saved = json.loads(state.read_text())
        except FileNotFoundError:
            return 0, False
        record = saved.get("a.jsonl", [0, 0, 0])
        whole = sorted(saved) == ["a.jsonl", "b.txt"] and all(len(v) == 2 for v in saved.values())
        return (len(ids) - 1 if len(record) == 2 else record[2]), whole

    after: list[tuple[int, bool]] = []
    for target in (3, 8, 14, None):  # the last run: until every file is whole
        process = threadwatch_process(args, log)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            done, whole = progress()
            reached = whole if target is None else done >= target
            if reached:
                break
            time.sleep(0.005)
        process.kill()  # SIGKILL
        assert process.wait(timeout=60) == -signal.SIGKILL, log.read_text()
        after.append(progress())
    assert any(not whole for _, whole in after[:3])  # a kill did land mid-file
    kills = 3  # the last kill found nothing in flight: every file was whole
    assert progress() == (len(ids) - 1, True), log.read_text()
    counts = channel.received(len(ids))
    assert set(counts) == set(ids), log.read_text()  # none lost
    assert counts.total() - len(ids) <= kills, counts


def test_the_watcher_reads_only_regular_files_inside_the_folder(tmp_path: Path) -> None:
    """A FIFO, a link to /dev/zero and a link out are refused at once, never read or hung on."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "good.txt").write_text("Putin meets Pezeshkian in Kazan. " * 5)
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    outside = tmp_path / "secret.txt"
    outside.write_text("not an article of this folder " * 5)
    (folder / "out.txt").symlink_to(outside)
    (folder / "big.txt").write_text("x" * 2000)
    sent: list[bytes] = []
    logged: list[str] = []
    watcher = FolderWatcher(folder, sent.append, log=logged.append, max_bytes=1000)
    report = watcher.poll_report()
    assert [json.loads(m)["id"] for m in sent] == ["good.txt"]
    assert sorted(report.not_published) == ["big.txt", "out.txt", "pipe.txt", "zero.txt"]
    reasons = {line.split(":")[1].strip(): line.split(":")[2].strip() for line in logged}
    assert reasons == {
        "big.txt": "too_large",
        "out.txt": "outside_folder",
        "pipe.txt": "not_a_regular_file",
        "zero.txt": "outside_folder",
    }
    assert watcher.poll_report().not_published == []  # refused once, not every pass


def test_feedback_mode_publishes_each_dropped_feedback_file_once_as_one_message(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "feedback"
    folder.mkdir()
    sent: list[bytes] = []
    watcher = FolderWatcher(
        folder, sent.append, tmp_path / "state.json", log=lambda _: None, feedback=True
    )
    lines = [
        '{"verdict": "not-relevant", "thread_id": "t", "story_id": "s-1", "note": "не договор"}',
        '{"verdict": "mute", "thread_id": "t"}',
    ]
    text = lines[0] + "\n\n" + lines[1] + "\n"
    (folder / "feedback.jsonl").write_text(text, encoding="utf-8")
    (folder / "blank.jsonl").write_text("\n")
    (folder / "article.txt").write_text("An article, not a verdict: not published here.")
    assert watcher.poll() == 1 and watcher.poll() == 0
    assert [b.decode() for b in sent] == [text]  # as written, whole: the job checks it
    restarted = FolderWatcher(
        folder, sent.append, tmp_path / "state.json", log=lambda _: None, feedback=True
    )
    assert restarted.poll() == 0
