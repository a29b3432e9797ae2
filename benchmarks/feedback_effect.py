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

    python -m benchmarks.feedback_effect [--data ../shared/data/ecbplus/docs.jsonl] [--k 1,2,5]
"""

import argparse
import os
import sys
from typing import Any

from benchmarks.replay import prepare, replay
from benchmarks.tune_clustering import DEFAULT_DATA, DEV_TOPICS, REPO, TEST_TOPICS, stream
from pipeline.config.settings import load_settings
from pipeline.evaluation.ecbplus import read_docs
from pipeline.evaluation.eval_job import score
from pipeline.evaluation.evaluate import micro_alerts
from pipeline.evaluation.labelled import LabelledRecord, exemplar_threads
from transforms.core.feedback import FeedbackMark


def false_alerts(
    records: list[LabelledRecord], outputs: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Alerts that are not the first alert of their storyline, in stream order."""
    gold = {r.id: r.thread for r in records if r.role == "stream"}
    order = {r.id: n for n, r in enumerate(records)}
    alerted: set[str] = set()
    wrong = []
    for alert in sorted(
        outputs["alerts"], key=lambda a: (order[a["article"]["id"]], a["alert_id"])
    ):
        thread = alert["thread"]["id"]
        if gold.get(alert["article"]["id"]) == thread and thread not in alerted:
            alerted.add(thread)
        else:
            wrong.append(alert)
    return wrong


def run(records: list[LabelledRecord], k: int) -> tuple[dict[str, Any], int]:
    settings = load_settings(str(REPO / "config" / "settings.yaml"))
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
    args = parser.parse_args()
    if not os.path.exists(args.data):
        print(f"ECB+ data not found at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    docs = read_docs(args.data)
    splits = [("dev", DEV_TOPICS)] + ([("test", TEST_TOPICS)] if args.test else [])
    print("split  k  marks  alerts  correct  replayed P  as-lived P  recall")
    for name, topics in splits:
        records = stream(docs, topics, args.timeline, True)
        for k in (int(v) for v in args.k.split(",")):
            alerts, marks = run(records, k)
            lived = alerts["correct"] / (alerts["alerts"] + marks) if alerts["alerts"] else None
            print(
                f"{name:5} {k:2} {marks:6} {alerts['alerts']:7} {alerts['correct']:8} "
                f"{alerts['precision']!s:>11} {round(lived, 4) if lived else None!s:>11} "
                f"{alerts['recall']!s:>7}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
