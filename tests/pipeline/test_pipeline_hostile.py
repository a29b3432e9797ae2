"""Hostile input folders end to end: nothing read from outside, nothing hangs, nothing lost.

Each fixture folder is built by the test: links to ``/dev/zero`` and to a
file outside the folder, a named pipe, a subfolder, a link inside the folder,
an article dated 2999, and a folder of one-line briefs. Every entry must end
as processed, a duplicate or a dead letter with its reason, and the counts
must add up.
"""

import dataclasses
import datetime as dt
import os
import random
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.support import FIXTURES, CachedModelHandler, RunResult, make_job, run_job
from transforms.core.records import RawDocument
from transforms.sources.folder import split_file

MARKER = "Zanzibarquux"  # a word no seed has: it must never reach an output
SECRET = (
    f"{MARKER} payroll figures for every employee of the company, kept outside the input "
    "folder and never meant to be read by the pipeline or copied into its outputs.\n"
)
FUTURE = (
    "Officials in the capital announced on Tuesday that the new bridge across the river "
    "will open to traffic next spring, after years of delays and rising costs.\n"
)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails the test instead of hanging the suite if a read blocks (a pipe, a device)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the pipeline blocked on a hostile folder entry")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 240.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def accounted_for(result: RunResult, items: int) -> None:
    names = ("items_read", "articles_clustered", "duplicates", "dead_letters")
    c = {name: result.counters.get(name, 0) for name in names}  # a counter never hit is absent
    assert c["items_read"] == items
    assert c["items_read"] == c["articles_clustered"] + c["duplicates"] + c["dead_letters"]
    assert (c["articles_clustered"], c["duplicates"], c["dead_letters"]) == (
        len(result.outputs["assignments"]),
        len(result.outputs["duplicates"]),
        len(result.outputs["dead_letters"]),
    )


def test_hostile_entries_and_a_far_future_date_are_dead_letters_and_leave_the_state_sound(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler, deadline: None
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    folder = tmp_path / "in"
    shutil.copytree(seeds_dir, folder)
    (folder / "900_zero.txt").symlink_to("/dev/zero")
    os.mkfifo(folder / "901_pipe.txt")
    (folder / "902_secret.txt").symlink_to(outside / "secret.txt")
    (folder / "903_alias.txt").symlink_to("004_bed5f04292cb6d2e.txt")
    (folder / "904_subfolder").mkdir()
    (folder / "905_future.txt").write_text(FUTURE)
    with (folder / "manifest.yaml").open("a") as manifest:
        manifest.write(
            "  903_alias.txt: {published: 2022-07-20}\n  905_future.txt: {published: 2999-01-01}\n"
        )
    state = tmp_path / "state.json"
    job = dataclasses.replace(make_job(tmp_path / "out", folder), state_path=str(state))

    result = run_job(job, model_handler)

    reasons = sorted((d["item"], d["stage"], d["reason"]) for d in result.outputs["dead_letters"])
    assert reasons == [
        ("900_zero.txt", "read", "outside_folder"),
        ("901_pipe.txt", "read", "not_a_regular_file"),
        ("902_secret.txt", "read", "outside_folder"),
        ("904_subfolder", "read", "not_a_regular_file"),
        ("905_future.txt", "extract", "future_date"),
    ]
    # The link inside the folder is read, and is what it is: a copy of 004.
    (alias,) = result.outputs["duplicates"]
    assert (alias["article"]["id"], alias["kind"], alias["duplicate_of"]) == (
        "903_alias.txt",
        "exact",
        "004_bed5f04292cb6d2e.txt",
    )
    assert len(result.outputs["alerts"]) == 2
    accounted_for(result, 11)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] + [state]
    assert not [p.name for p in written if MARKER in p.read_text()]

    # The next run resumes the state: its clock is the seeds', not the year 2999,
    # so an article a day after the seeds is clustered, not dead-lettered as late.
    path = FIXTURES / "ecbplus" / "unrelated_1_11ecb.json"
    (item,) = split_file(path.name, path.as_uri(), path.read_bytes(), None, None)
    assert isinstance(item, RawDocument)
    next_day = dt.datetime(2024, 10, 12, tzinfo=dt.UTC)
    later = dataclasses.replace(item, meta=dataclasses.replace(item.meta, published=next_day))
    resumed = dataclasses.replace(job, source=None, output=str(tmp_path / "out2"))
    second = run_job(resumed, model_handler, documents=[later])
    assert second.outputs["dead_letters"] == []
    assert [a["article"]["id"] for a in second.outputs["assignments"]] == [item.item_id]
    accounted_for(second, 1)


SUBJECTS = [
    "The city council", "Local fishermen", "A regional airline", "Hospital nurses",
    "The national museum", "Farmers in the valley", "A mining company", "University students",
    "The harbour authority", "Wildlife rangers", "A football club", "The water utility",
    "Hotel owners", "Bus drivers", "The coast guard", "A software firm", "Forest firefighters",
    "The central bank", "Dock workers", "A village school", "The state railway",
    "Wine growers", "Postal workers", "The opera house", "A shipping line",
]  # fmt: skip
ACTIONS = [
    "announced plans for", "voted against", "raised concerns about", "celebrated",
    "postponed work on", "asked for money for", "protested outside", "reopened",
    "won an award for", "cut jobs at", "began talks about", "published a report on",
    "warned of delays at", "doubled spending on", "sued the owners of", "closed",
    "welcomed visitors to", "finished repairs on", "approved a budget for", "renamed",
]  # fmt: skip
OBJECTS = [
    "the old lighthouse", "its northern depot", "a disputed wind farm", "the flooded tunnel",
    "the annual spring festival", "a new cancer ward", "the main cargo terminal",
    "a century-old bridge", "the eastern ski resort", "its largest copper mine",
    "the riverside market", "a solar power plant", "the city zoo", "its overnight service",
    "the marine reserve", "a school for deaf children", "the airport runway",
    "the national archive", "a fleet of electric ferries", "the mountain observatory",
]  # fmt: skip
WHEN = [
    "on Monday morning", "late on Tuesday", "after a long night", "this week again",
    "for the first time", "despite heavy rain", "ahead of the holidays", "after months of talks",
    "before the elections", "amid falling prices",
]  # fmt: skip


def briefs(count: int) -> list[str]:
    """Different one-line headlines, the kind a folder of news briefs holds."""
    rng = random.Random(20240711)
    seen: set[tuple[str, ...]] = set()
    lines: list[str] = []
    while len(lines) < count:
        parts = tuple(rng.choice(words) for words in (SUBJECTS, ACTIONS, OBJECTS, WHEN))
        line = " ".join(parts)
        if parts[:3] in {s[:3] for s in seen} or len(line.split()) < 12:
            continue  # a brief is news from 12 words (extraction.min_words)
        seen.add(parts)
        lines.append(line)
    return lines


def test_a_folder_of_one_line_briefs_is_all_processed_and_a_true_copy_is_a_duplicate(
    tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    folder = tmp_path / "briefs"
    folder.mkdir()
    start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp()
    lines = briefs(205)
    for number, line in enumerate(lines):
        path = folder / f"{number:03d}.txt"
        path.write_text(line + "\n")
        os.utime(path, (start + 600 * number, start + 600 * number))  # dated by mtime
    copy = folder / "205_copy_of_017.txt"
    copy.write_text(lines[17].upper() + "\n")
    os.utime(copy, (start + 600 * 300, start + 600 * 300))

    result = run_job(make_job(tmp_path / "out", folder), model_handler)

    assert result.outputs["dead_letters"] == []
    assert len(result.outputs["assignments"]) == 205
    assert [
        (d["article"]["id"], d["kind"], d["duplicate_of"]) for d in result.outputs["duplicates"]
    ] == [("205_copy_of_017.txt", "exact", "017.txt")]
    accounted_for(result, 206)
