"""What one streaming clustering step costs against the size of the history.

A streaming job fires the clustering stage every second. Until this release
each firing decoded and re-encoded the whole tracker (JSON, base64 vectors):
a cost that grows with the state. Now the tracker stays in memory between
firings, each step appends only its own articles to the journal (a Beam bag
and, with ``--state``, one file), and the full snapshot is rewritten every
``compact_every`` articles in Beam state and every ``state_every_seconds`` in
the file. This script builds a tracker holding N articles of history from a
synthetic stream (events of geometric size, 3,000 articles a day, so the
horizons are full from about 30 days on), then times, at that size:

* ``old``: decode + encode of the whole state, as every firing did;
* ``tracker``: the tracker's own work on one step of 10 new articles (the
  same before and after this change), and ``journal``: that step's journal
  bag entries and journal file (what every firing now adds to it);
* ``snapshot``: one full snapshot write (what every compaction does), and its
  share per step at one step a second with a 60 s snapshot period.

    python -m benchmarks.state_cost --history 10000,100000,1000000

Up to ``--build-cap`` (100,000) articles really go through the tracker; at
3,000 a day that is 33 days, past every horizon, so the state has stopped
growing but for the ids it remembers for ``same_id`` (8 bytes each): the rest
of a longer history is added to those, as a longer run would add them.

No ../shared data is needed: vectors, names and signatures are synthetic
(random, seeded), so the figures measure the state mechanics, not quality.
"""

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator

import numpy as np

from pipeline.config.settings import load_settings
from transforms.clustering.journal import pack_article
from transforms.clustering.state_store import StateStore
from transforms.clustering.tracker import StoryTracker
from transforms.core.records import EmbeddedArticle, Features

PER_DAY = 3000
STEP = 10
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def synthetic(count: int, seed: int = 7) -> Iterator[EmbeddedArticle]:
    rng = np.random.default_rng(seed)
    events: list[tuple[np.ndarray, tuple[str, ...], int]] = []
    for i in range(count):
        if not events or rng.random() < 0.15:
            center = rng.normal(size=384)
            names = tuple(f"name{len(events)}-{j}" for j in range(4))
            events.append((center / np.linalg.norm(center), names, len(events)))
            events = events[-400:]  # the active events
        center, names, _ = events[int(rng.integers(max(0, len(events) - 50), len(events)))]
        vector = center + rng.normal(scale=0.5 / np.sqrt(384), size=384)
        terms = tuple((n, int(rng.integers(1, 4))) for n in names[: int(rng.integers(1, 5))])
        features = Features(
            exact_hash=f"h{i}",
            minhash=tuple(int(v) for v in rng.integers(0, 2**31 - 1, size=64)),
            terms=terms,
        )
        yield EmbeddedArticle(
            id=f"a{i}",
            url=f"https://example.org/{i}",
            title=f"Article {i}",
            published=T0 + dt.timedelta(days=i / PER_DAY),
            published_source="manifest",
            source="bench",
            language="en",
            role="article",
            thread_id=None,
            features=features,
            vector=(vector / np.linalg.norm(vector)).astype(np.float32),
        )


def _median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(history: int, settings_path: str, build_cap: int) -> dict[str, float]:
    settings = load_settings(settings_path).clustering
    tracker = StoryTracker(settings, ())
    built = min(history, build_cap)
    stream = synthetic(built + STEP * 40)
    build_start = time.perf_counter()
    for _ in range(built):
        tracker.observe(next(stream))
    # Past the horizons (30 days of names, 7 of signatures, at 3,000 a day) the
    # only part of the state that still grows is the set of ids ever seen:
    # beyond build_cap, the remaining history is added there, as it would be.
    for i in range(built, history):
        tracker.duplicates._seen.add(f"old-{i}")
    build = time.perf_counter() - build_start
    snapshot = tracker.to_bytes()
    old = _median_seconds(lambda: StoryTracker.from_bytes(tracker.to_bytes(), settings), 3)
    with tempfile.TemporaryDirectory() as folder:
        store = StateStore(f"{folder}/state.json")
        steps, journals = [], []
        for seq in range(1, 31):
            batch = [next(stream) for _ in range(STEP)]
            start = time.perf_counter()
            tracker.observe_all(batch)
            middle = time.perf_counter()
            _ = [pack_article(seq, a) for a in batch]  # the journal bag's entries
            store.append(seq, batch)  # one small file, fsync'ed
            steps.append(middle - start)
            journals.append(time.perf_counter() - middle)
        write = _median_seconds(lambda: store.commit(tracker.to_bytes(), 30), 3)
    return {
        "history": history,
        "build_s": build,
        "state_mb": len(snapshot) / 1e6,
        "old_ms": old * 1000,
        "step_ms": statistics.median(steps) * 1000,
        "journal_ms": statistics.median(journals) * 1000,
        "snapshot_ms": write * 1000,
        "snapshot_share_ms": write * 1000 / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", default="10000,100000")
    parser.add_argument("--settings", default="config/settings.yaml")
    parser.add_argument(
        "--build-cap",
        type=int,
        default=100_000,
        help="articles run through the tracker; history beyond them only adds seen ids",
    )
    args = parser.parse_args()
    print(
        f"{'history':>9} {'build s':>8} {'state MB':>9} {'old: decode+encode ms':>22} "
        f"{'tracker, 10 new ms':>19} {'journal ms':>11} {'snapshot ms':>12} "
        f"{'snapshot/step ms':>17}"
    )
    for history in (int(h) for h in args.history.split(",")):
        r = measure(history, args.settings, args.build_cap)
        print(
            f"{r['history']:>9,} {r['build_s']:>8.0f} {r['state_mb']:>9.1f} {r['old_ms']:>22.0f} "
            f"{r['step_ms']:>19.1f} {r['journal_ms']:>11.1f} {r['snapshot_ms']:>12.0f} "
            f"{r['snapshot_share_ms']:>17.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
