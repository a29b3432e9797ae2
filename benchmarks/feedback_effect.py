"""What an analyst's "not relevant" marks do to alert precision and recall.

On the dated ECB+ storyline stream (``threadwatch ecbplus --timeline 1
--storylines``: each topic's first event is a watched thread, its look-alike
second event a near miss), an analyst reads the alerts as they come and marks
false ones not relevant, up to *k* per thread: each round replays the stream
with the marks so far and marks, for every thread, its first false alert not
yet marked. Two precisions: *replayed*, of a rerun with all the marks (the
marked alerts themselves are gone), and *as lived*, which counts the marked
alerts as the false alerts the analyst did see before marking them: the
honest figure for what feedback spares an analyst on the stream it came from.
Development topics by default (``--test`` adds the held-out ones, to report).

``--stream FILE`` plays a labelled stream instead (all of it development
data, e.g. ITN, where stories of a subject recur for months: a near miss can
come back), each thread defined by its first ``--exemplars`` English items.

    python -m benchmarks.feedback_effect [--data ../shared/data/ecbplus/docs.jsonl] [--k 1,2,5]
    python -m benchmarks.feedback_effect --stream ../shared/data/itn/itn_2022.jsonl \
        --settings config/settings-multilingual.yaml
"""

import argparse
import os
import sys
from typing import Any

from benchmarks.replay import prepare, replay
from benchmarks.tune_clustering import (
    DEFAULT_DATA,
    DEV_TOPICS,
    REPO,
    TEST_TOPICS,
    english_exemplars,
    stream,
)
from pipeline.config.settings import load_settings
from pipeline.evaluation.ecbplus import read_docs
from pipeline.evaluation.eval_job import score
from pipeline.evaluation.evaluate import micro_alerts
from pipeline.evaluation.labelled import LabelledRecord, exemplar_threads, parse_stream
from transforms.core.feedback import FeedbackMark


def false_alerts(
    records: list[LabelledRecord], outputs: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Alerts that ``threadwatch eval`` counts false, in stream order: not on the
    article's gold thread, or not the first alert of its gold story there (on
    ECB+ storylines an event is one story: not the first of its storyline)."""
    gold = {r.id: (r.thread, r.story) for r in records if r.role == "stream"}
    order = {r.id: n for n, r in enumerate(records)}
    alerted: set[tuple[str, str | None]] = set()
    wrong = []
    for alert in sorted(
        outputs["alerts"], key=lambda a: (order[a["article"]["id"]], a["alert_id"])
    ):
        thread = alert["thread"]["id"]
        gold_thread, gold_story = gold.get(alert["article"]["id"], (None, None))
        if gold_thread == thread and gold_story and (thread, gold_story) not in alerted:
            alerted.add((thread, gold_story))
        else:
            wrong.append(alert)
    return wrong


def run(
    records: list[LabelledRecord], k: int, settings_path: str | None = None
) -> tuple[dict[str, Any], int]:
    settings = load_settings(settings_path or str(REPO / "config" / "settings.yaml"))
    threads = exemplar_threads(records)
    embedded, failed = prepare(records, settings, threads)
    marks: list[FeedbackMark] = []
    for _ in range(k):
        outputs = replay(embedded, failed, settings.clustering, threads, marks)
        marked = {m.alert_id for m in marks}
        per_thread: dict[str, int] = {}
        for m in marks:
            per_thread[m.thread_id or ""] = per_thread.get(m.thread_id or "", 0) + 1
        new: list[FeedbackMark] = []
        for alert in false_alerts(records, outputs):
            thread = alert["thread"]["id"]
            if (
                alert["alert_id"] in marked
                or per_thread.get(thread, 0) >= k
                or thread in {m.thread_id for m in new}
            ):
                continue
            new.append(
                FeedbackMark("not-relevant", thread, alert["story"]["id"], alert["alert_id"])
            )
        if not new:
            break
        marks += new
    outputs = replay(embedded, failed, settings.clustering, threads, marks)
    report = score(records, outputs, {}, [t.id for t in threads])
    return micro_alerts(report["alerts"]["per_thread"]), len(marks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--k", default="0,1,2,5", help="marks per thread (comma-separated)")
    parser.add_argument("--timeline", type=int, default=1, help="timeline seed")
    parser.add_argument("--test", action="store_true", help="also the held-out topics")
    parser.add_argument("--stream", default=None, help="a labelled stream instead of ECB+")
    parser.add_argument("--exemplars", type=int, default=1, help="with --stream: per thread")
    parser.add_argument("--settings", default=None, help="settings file (default: shipped)")
    args = parser.parse_args()
    print("split  k  marks  alerts  correct  replayed P  as-lived P  recall")
    if args.stream:
        records = parse_stream(english_exemplars(args.stream, args.exemplars), args.stream)
        for k in (int(v) for v in args.k.split(",")):
            report_line("dev", k, *run(records, k, args.settings))
        return 0
    if not os.path.exists(args.data):
        print(f"ECB+ data not found at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    docs = read_docs(args.data)
    splits = [("dev", DEV_TOPICS)] + ([("test", TEST_TOPICS)] if args.test else [])
    for name, topics in splits:
        records = stream(docs, topics, args.timeline, True)
        for k in (int(v) for v in args.k.split(",")):
            report_line(name, k, *run(records, k, args.settings))
    return 0


def report_line(name: str, k: int, alerts: dict[str, Any], marks: int) -> None:
    lived = alerts["correct"] / (alerts["alerts"] + marks) if alerts["alerts"] else None
    print(
        f"{name:5} {k:2} {marks:6} {alerts['alerts']:7} {alerts['correct']:8} "
        f"{alerts['precision']!s:>11} {round(lived, 4) if lived else None!s:>11} "
        f"{alerts['recall']!s:>7}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
