"""How fast a report over a large run opens in Chromium (100,000 articles and more).

Running the pipeline over 100,000 articles takes hours on two cores, and the
report reads only the output files, so this writes a synthetic output folder
with the real records' shapes (``synthetic_output``): stories of 1 to ~60
articles over 100 days (1,000 articles a day), a third of them on 3 watched
and 40 emergent threads with an alert per story that joined a thread after
the thread's first, plus duplicates (5% of items) and dead letters (1%, four
reasons). It then builds the report (Python time, file size) and opens it in
headless Chromium several times, printing the page's own timings measured
from navigation start: ``rendered`` (data parsed, threads, timelines and
story lists in the DOM) and ``painted`` (the next frame drawn).

    python -m benchmarks.report_size --articles 20000 100000 200000
"""

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.report import write_report
from transforms.sinks.files import OUTPUT_FILES

HOSTILE = "<img src=x onerror=\"console.error('title ran')\"></script>"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PER_DAY = 1000
REASONS = (("extract", "empty_text"), ("read", "undecodable"), ("extract", "too_large"),
           ("read", "bad_manifest_entry"))  # fmt: skip
WORDS = ("minister", "summit", "treaty", "sanctions", "election", "flood", "court", "strike",
         "port", "market", "vote", "ceasefire", "talks", "oil", "budget", "protest")  # fmt: skip


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _article(n: int, published: dt.datetime, rng: random.Random) -> dict[str, Any]:
    words = " ".join(rng.choice(WORDS) for _ in range(8))
    return {
        "id": f"a{n:07d}.txt",
        "published": _iso(published),
        "published_source": "manifest",
        "source": f"Source {n % 37}",
        "text_from": None,
        # Markup in some titles: the page must show it as text, never run it.
        "title": f"{words.capitalize()} " + (HOSTILE if n % 997 == 0 else f"<{n}>"),
        "url": f"https://news.example/{n}",
    }


def synthetic_records(articles: int, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Records of a run that clustered ``articles`` articles, deterministic for ``seed``."""
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in OUTPUT_FILES}
    threads = [(f"watched-{k}", f"Watched thread {k}", "watched") for k in range(3)]
    threads += [(f"t-{k:012x}", f"Emergent thread {k}", "emergent") for k in range(40)]
    first_story: dict[str, str] = {}
    n = 0
    minutes = 24 * 60 * (articles / PER_DAY)
    while n < articles:
        size = min(articles - n, max(1, int(rng.paretovariate(1.3))), 60)
        opened = START + dt.timedelta(minutes=rng.uniform(0, minutes))
        story_id = f"s-{n:012x}"
        thread = rng.choice(threads) if rng.random() < 0.33 else None
        members = []
        for k in range(size):
            published = opened + dt.timedelta(hours=6 * k)
            article = _article(n, published, rng)
            members.append(article)
            out["assignments"].append(
                {"action": "opened" if k == 0 else "joined", "article": article,
                 "event_time": article["published"], "late": False, "schema_version": 1,
                 "similarity": None if k == 0 else round(rng.uniform(0.6, 0.9), 4),
                 "story_id": story_id, "thread_id": thread[0] if thread else None}
            )  # fmt: skip
            n += 1
        last = members[-1]["published"]
        out["stories"].append(
            {"article_ids": [a["id"] for a in members], "event_time": last, "last_seen": last,
             "opened_at": _iso(opened), "schema_version": 1, "size": size, "status": "closed",
             "story_id": story_id, "thread_id": thread[0] if thread else None,
             "title": members[0]["title"], "top_terms": rng.sample(WORDS, 6)}
        )  # fmt: skip
        if thread is None:
            continue
        if thread[2] == "emergent" and thread[0] not in first_story:
            first_story[thread[0]] = story_id
            out["threads"].append(
                {"event_time": _iso(opened), "first_story_id": story_id, "kind": "emergent",
                 "schema_version": 1, "thread_id": thread[0], "title": thread[1]}
            )  # fmt: skip
            continue
        out["alerts"].append(
            {"alert_id": f"{len(out['alerts']):020x}", "article": members[0],
             "event_time": _iso(opened), "matched_by": rng.choice(["description", "story"]),
             "evidence": {"nearest_story": None, "required_terms_found": [],
                          "shared_terms": rng.sample(WORDS, 4)},
             "schema_version": 1, "score": round(rng.uniform(0.5, 0.9), 3),
             "story": {"id": story_id, "opened_at": _iso(opened)},
             "thread": {"id": thread[0], "kind": thread[2], "title": thread[1]},
             "type": "new_story_on_thread"}
        )  # fmt: skip
    originals = out["assignments"]
    for k in range(articles // 19):  # 5% of all items
        original = rng.choice(originals)["article"]
        copy = {**original, "id": f"d{k:07d}.txt", "url": original["url"] + "?copy"}
        out["duplicates"].append(
            {"article": copy, "duplicate_of": original["id"], "event_time": copy["published"],
             "kind": rng.choice(["exact", "near"]), "schema_version": 1, "similarity": 0.97}
        )  # fmt: skip
    for k in range(articles // 99):  # 1%
        stage, reason = REASONS[k % len(REASONS)]
        out["dead_letters"].append(
            {"detail": f"item {k} could not be used", "item": f"x{k:07d}.txt", "reason": reason,
             "schema_version": 1, "stage": stage, "uri": f"file:///in/x{k:07d}.txt"}
        )  # fmt: skip
    for records in out.values():
        records.sort(key=lambda r: (str(r.get("event_time", "")), json.dumps(r, sort_keys=True)))
    return out


def _lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)


def synthetic_output(
    folder: Path, articles: int, seed: int = 0, streaming: bool = False, pane: int = 100
) -> dict[str, list[dict[str, Any]]]:
    """Writes ``synthetic_records`` as a batch folder, or as streaming pane folders."""
    records = synthetic_records(articles, seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, filename in OUTPUT_FILES.items():
        if not streaming:
            (folder / filename).write_text(_lines(records[name]), encoding="utf-8")
            continue
        panes = folder / filename.removesuffix(".jsonl")
        panes.mkdir(exist_ok=True)
        for start in range(0, len(records[name]), pane):
            chunk = records[name][start : start + pane]
            (panes / f"{start:09d}.jsonl").write_text(_lines(chunk), encoding="utf-8")
    return records


def measure(articles: int, runs: int, workdir: Path) -> dict[str, float]:
    from tests.browser import chromium  # the browser tests' DevTools client

    folder = workdir / f"run-{articles}"
    synthetic_output(folder, articles)
    started = time.perf_counter()
    page_path = write_report(str(folder))
    build_s = time.perf_counter() - started
    timings: list[tuple[float, float]] = []
    with chromium(workdir / f"profile-{articles}") as page:
        for _ in range(runs):
            timings.append(page.open(page_path.resolve().as_uri()))
        errors = page.errors()
    if errors:
        raise SystemExit(f"console errors: {errors}")
    return {
        "articles": articles,
        "size_mb": page_path.stat().st_size / 1e6,
        "build_s": build_s,
        "rendered_ms": statistics.median(t[0] for t in timings),
        "painted_ms": statistics.median(t[1] for t in timings),
        "painted_max_ms": max(t[1] for t in timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--runs", type=int, default=5, help="page loads per size (median)")
    args = parser.parse_args()
    print("articles  page MB  build s  rendered ms  painted ms (median, max)")
    with tempfile.TemporaryDirectory(prefix="threadwatch-report-") as tmp:
        for articles in args.articles:
            r = measure(articles, args.runs, Path(tmp))
            print(
                f"{articles:>8}  {r['size_mb']:7.1f}  {r['build_s']:7.2f}  "
                f"{r['rendered_ms']:11.0f}  {r['painted_ms']:10.0f} ({r['painted_max_ms']:.0f})"
            )


if __name__ == "__main__":
    main()
