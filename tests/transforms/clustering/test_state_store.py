"""The state store on its own: snapshot, journal, outbox, and what a crash leaves."""

import os
from pathlib import Path

import numpy as np
import pytest

from tests import tracker_support
from transforms.clustering.seen_ids import SeenIds
from transforms.clustering.state_store import (
    Outbox,
    StateError,
    StateStore,
    publish,
    staging_folder,
)
from transforms.core.records import EmbeddedArticle


def article(article_id: str, day: float) -> EmbeddedArticle:
    vector = np.random.default_rng(len(article_id) + int(day)).normal(size=384)
    return tracker_support.article(article_id, vector, day)


SCRIPTS = ["Reuters report", "Сообщение агентства", "تقرير الوكالة", "新华社报道", "รายงานข่าว"]


def test_journal_steps_come_back_in_order_after_the_snapshot(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path / "state.json"))
    first = [article(f"a{i}", day=i) for i in range(3)]
    store.append(1, first)
    store.append(2, [article("b", day=4)])
    loaded = store.load()
    assert loaded.tracker is None and loaded.seq == 0 and loaded.last_seq == 2
    assert [[a.id for a in arts] for _, arts in loaded.steps] == [["a0", "a1", "a2"], ["b"]]
    np.testing.assert_array_equal(loaded.steps[0][1][0].vector, first[0].vector)

    store.commit(b'{"tracker": 1}', 2)
    again = store.load()
    assert again.tracker == b'{"tracker": 1}' and again.seq == 2 and again.steps == ()
    assert not list((tmp_path / "state.json.journal").iterdir())  # pruned


def test_a_step_written_before_a_crash_in_pruning_is_not_replayed_twice(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path / "state.json"))
    store.append(1, [article("a", day=1)])
    store.append(2, [article("b", day=2)])
    store.commit(b"{}", 1)  # snapshot holds step 1; step 2 is still to replay
    store.append(1, [article("a", day=1)])  # a stale step file a crash left behind
    assert [step for step, _ in store.load().steps] == [2]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json at all", "not a threadwatch state file"),
        (b'{"version": 1, "clock": 0}', "not a threadwatch state file"),
        (b'{"format": "threadwatch-state", "version": 9, "seq": 0}\n{}', "state version 9"),
        (
            b'{"format": "threadwatch-state", "version": 2, "seq": 0, "tracker_bytes": 10}\n{}',
            "truncated",
        ),
    ],
)
def test_a_corrupt_or_foreign_state_is_a_clear_error(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(data)
    with pytest.raises(StateError, match=problem) as caught:
        StateStore(str(path)).load()
    assert caught.value.path == str(path)


def test_a_truncated_journal_step_is_a_clear_error(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path / "state.json"))
    store.append(1, [article("a", day=1)])
    step = tmp_path / "state.json.journal" / f"{1:012d}.step"
    step.write_bytes(step.read_bytes()[:-100])
    with pytest.raises(StateError, match="is truncated: a journal step cut short"):
        store.load()


def test_commit_then_crash_before_publish_is_finished_by_the_next_start(tmp_path: Path) -> None:
    output = tmp_path / "out"
    staging = Path(staging_folder(str(output), 1))
    staging.mkdir(parents=True)
    (staging / "alerts.jsonl").write_text('{"alert_id": "x"}\n')
    store = StateStore(str(tmp_path / "state.json"))
    store.commit(b"{}", 1, Outbox(str(staging), str(output)))
    # ... killed here: the state names the staging folder, nothing is published yet.
    assert not (output / "alerts.jsonl").exists()
    moved = store.recover(str(output))
    assert moved == [str(output / "alerts.jsonl")]
    assert (output / "alerts.jsonl").read_text() == '{"alert_id": "x"}\n'
    assert not staging.exists()
    assert store.recover(str(output)) == []  # idempotent


def test_staging_of_a_run_that_never_committed_is_discarded(tmp_path: Path) -> None:
    output = tmp_path / "out"
    stale = Path(staging_folder(str(output), 7))
    stale.mkdir(parents=True)
    (stale / "alerts.jsonl").write_text('{"alert_id": "never committed"}\n')
    StateStore(str(tmp_path / "state.json")).recover(str(output))
    assert not stale.exists() and not (output / "alerts.jsonl").exists()


def test_publish_replaces_an_older_file_in_one_rename(tmp_path: Path) -> None:
    output, staging = tmp_path / "out", tmp_path / "out" / ".staging-000000000001"
    staging.mkdir(parents=True)
    (output / "alerts.jsonl").write_text("old\n")
    (staging / "alerts.jsonl").write_text("new\n")
    inode = os.stat(staging / "alerts.jsonl").st_ino
    publish(Outbox(str(staging), str(output)))
    assert (output / "alerts.jsonl").read_text() == "new\n"
    assert os.stat(output / "alerts.jsonl").st_ino == inode  # renamed, not copied


@pytest.mark.parametrize("script", SCRIPTS)
def test_seen_ids_remember_every_id_in_any_script(script: str) -> None:
    seen = SeenIds()
    ids = [f"{script} {i}" for i in range(5000)]
    for article_id in ids:
        seen.add(article_id)
    restored = SeenIds.decode(seen.encode())
    assert all(article_id in restored for article_id in ids)
    assert f"{script} 5000" not in restored and f"{script}" not in restored
    assert len(restored) == 5000
    # The encoding is a set's: the same ids in another order give the same text.
    other = SeenIds()
    for article_id in reversed(ids):
        other.add(article_id)
    assert other.encode() == seen.encode()


def test_seen_ids_refuse_a_corrupt_encoding() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        SeenIds.decode("AAAA")
