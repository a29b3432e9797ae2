"""Sweeping clustering settings on ECB+ development topics, then checking held-out topics.

ECB+'s usual split: topics 1–35 for development (here: choosing thresholds),
36–45 held out (reported, never tuned on). Embeddings are computed once and
cached (``benchmarks/replay.py``); the tracker is replayed for each setting.

    python benchmarks/tune_clustering.py [--data ../shared/data/ecbplus/docs.jsonl]
        [--grid story_threshold=0.5,0.6,0.7 --grid sparse_weight=0,0.3]
        [--settings config/settings-multilingual.yaml]
        [--stream ../shared/data/itn/itn_2022.jsonl]

``--settings`` starts from another settings file (the grid overrides its
clustering section; its embedding section chooses the model). ``--stream``
sweeps a whole labelled stream (all of it development data, e.g. ITN) instead
of the ECB+ topics; with ``--exemplars N`` the first N English items (by id)
of each of its threads become that thread's exemplars, so that the alerts
scored are those of a thread defined in English on items in every language.
"""

import argparse
import dataclasses
import itertools
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.replay import prepare, replay
from pipeline.config.settings import load_settings
from pipeline.evaluation.ecbplus import as_storylines, convert, read_docs, with_exemplars
from pipeline.evaluation.eval_job import score
from pipeline.evaluation.evaluate import micro_alerts
from pipeline.evaluation.labelled import exemplar_threads, parse_stream

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ecbplus" / "docs.jsonl"
DEV_TOPICS = set(range(1, 36))
TEST_TOPICS = set(range(36, 46))


def stream(
    docs: list[dict[str, Any]],
    topics: set[int],
    timeline: int | None = None,
    storylines: bool = False,
    exemplars: int = 1,
) -> list[Any]:
    import json

    kept = [d for d in docs if d["topic"] in topics]
    records = with_exemplars(list(convert(kept, timeline_seed=timeline)), exemplars)
    if storylines:
        records = as_storylines(records)
    return parse_stream("\n".join(json.dumps(r) for r in records), "ecbplus")


DEFAULT_SETTINGS = REPO / "config" / "settings.yaml"


def evaluate(
    records: list[Any], overrides: dict[str, Any], settings_path: str = str(DEFAULT_SETTINGS)
) -> dict[str, Any]:
    settings = load_settings(settings_path)
    clustering = dataclasses.replace(settings.clustering, **overrides)
    threads = exemplar_threads(records)
    embedded, failed = prepare(records, settings, threads)
    outputs = replay(embedded, failed, clustering, threads)
    report = score(records, outputs, {}, [t.id for t in threads])
    return report


def line(name: str, report: dict[str, Any]) -> str:
    story = report["story_level"]
    alerts = micro_alerts(report["alerts"]["per_thread"])
    merged = report["merged_events"]
    emergent = report["alerts"]["emergent_thread_alerts"] * 1000 / report["stream_articles"]
    return (
        f"{name:48} B3 F1 {story['bcubed']['f1']:.3f} (P {story['bcubed']['precision']:.3f} "
        f"R {story['bcubed']['recall']:.3f})  pw F1 {story['pairwise']['f1']:.3f}  "
        f"merged {merged['threads_with_merged_events']:2}/{merged['threads']}  "
        f"alerts P {alerts['precision']} R {alerts['recall']} ({alerts['alerts']})  "
        f"emergent/1k {emergent:.0f}  cross-lingual R {report['cross_lingual']['recall']}  "
        f"tracking P {report['tracking']['precision']} R {report['tracking']['recall']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--settings", default=str(DEFAULT_SETTINGS), help="settings file")
    parser.add_argument(
        "--stream", default=None, help="a labelled stream (JSONL) to sweep instead of ECB+"
    )
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        help="setting=v1,v2,… (a ClusteringSettings field); repeatable",
    )
    parser.add_argument("--test", action="store_true", help="also score the held-out topics")
    parser.add_argument(
        "--timeline", type=int, default=None, metavar="SEED", help="dated ECB+ stream (seed)"
    )
    parser.add_argument("--exemplars", type=int, default=1, help="exemplars per watched thread")
    parser.add_argument(
        "--storylines", action="store_true", help="watched thread = one event (near misses)"
    )
    args = parser.parse_args()
    grid: dict[str, list[Any]] = {}
    for spec in args.grid:
        name, values = spec.split("=", 1)
        grid[name] = [_value(v) for v in values.split(",")]
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    if args.stream:
        records = parse_stream(english_exemplars(args.stream, args.exemplars), args.stream)
        for overrides in combos or [{}]:
            label = " ".join(f"{k}={v}" for k, v in overrides.items()) or "settings file"
            print("dev ", line(label, evaluate(records, overrides, args.settings)), flush=True)
        return 0
    if not os.path.exists(args.data):
        print(f"ECB+ data not found at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    docs = read_docs(args.data)
    dev = stream(docs, DEV_TOPICS, args.timeline, args.storylines, args.exemplars)
    test = stream(docs, TEST_TOPICS, args.timeline, args.storylines, args.exemplars)
    for overrides in combos or [{}]:
        label = " ".join(f"{k}={v}" for k, v in overrides.items()) or "settings file"
        print("dev ", line(label, evaluate(dev, overrides, args.settings)), flush=True)
        if args.test:
            print("test", line(label, evaluate(test, overrides, args.settings)), flush=True)
    return 0


def english_exemplars(path: str, per_thread: int) -> str:
    """The stream's lines, the first ``per_thread`` English items of each thread as exemplars."""
    import json

    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    english: dict[str, list[str]] = {}
    for record in records:
        if record.get("lang", record.get("language")) == "en" and record.get("thread"):
            english.setdefault(record["thread"], []).append(record["id"])
    chosen = {i for ids in english.values() for i in sorted(ids)[:per_thread]}
    out = []
    for record in records:
        if record["id"] in chosen:
            record = {**record, "role": "exemplar"}
            record.pop("story", None)
        out.append(json.dumps(record))
    return "\n".join(out)


def _value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


if __name__ == "__main__":
    sys.exit(main())
