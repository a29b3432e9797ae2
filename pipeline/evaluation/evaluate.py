"""Scoring a run against gold labels: clustering and alert quality (pure functions).

Clustering is scored two standard ways. Pairwise: over all pairs of articles,
a pair is predicted-together and/or gold-together; precision and recall are
computed over pairs (large clusters weigh quadratically). BCubed: for each
article, precision is the share of its predicted cluster that shares its gold
label, recall the share of its gold cluster that it was put with; both
averaged over articles (Bagga & Baldwin 1998; Amigó et al. 2009).
"""

import dataclasses
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class PRF:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total

    def to_json(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _pairs(sizes: Sequence[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise(predicted: Mapping[str, str], gold: Mapping[str, str]) -> PRF:
    """Pairwise precision and recall of ``predicted`` clusters against ``gold`` labels."""
    items = sorted(gold)
    joint = Counter((predicted[i], gold[i]) for i in items)
    together_both = _pairs(list(joint.values()))
    predicted_pairs = _pairs(list(Counter(predicted[i] for i in items).values()))
    gold_pairs = _pairs(list(Counter(gold[i] for i in items).values()))
    return PRF(
        precision=together_both / predicted_pairs if predicted_pairs else 1.0,
        recall=together_both / gold_pairs if gold_pairs else 1.0,
    )


def bcubed(predicted: Mapping[str, str], gold: Mapping[str, str]) -> PRF:
    items = sorted(gold)
    joint = Counter((predicted[i], gold[i]) for i in items)
    predicted_size = Counter(predicted[i] for i in items)
    gold_size = Counter(gold[i] for i in items)
    precision = sum(joint[(predicted[i], gold[i])] / predicted_size[predicted[i]] for i in items)
    recall = sum(joint[(predicted[i], gold[i])] / gold_size[gold[i]] for i in items)
    return PRF(precision / len(items), recall / len(items)) if items else PRF(1.0, 1.0)


def clustering_report(predicted: Mapping[str, str], gold: Mapping[str, str]) -> dict[str, Any]:
    return {
        "pairwise": pairwise(predicted, gold).to_json(),
        "bcubed": bcubed(predicted, gold).to_json(),
        "predicted_clusters": len({predicted[i] for i in gold}),
        "gold_clusters": len(set(gold.values())),
    }


def merged_events(
    predicted: Mapping[str, str], story: Mapping[str, str], thread: Mapping[str, str]
) -> dict[str, Any]:
    """How often one predicted cluster mixes two gold stories of the same thread.

    On ECB+ every topic holds two different events of one kind: this counts
    the topics whose two events the clustering confused.
    """
    stories_in_cluster: dict[str, set[str]] = defaultdict(set)
    for item, cluster in predicted.items():
        if item in story:
            stories_in_cluster[cluster].add(story[item])
    thread_of_story = {story[i]: thread[i] for i in story if i in thread}
    merged_threads: set[str] = set()
    merged_articles = 0
    for cluster, stories in stories_in_cluster.items():
        by_thread: dict[str, set[str]] = defaultdict(set)
        for s in stories:
            by_thread[thread_of_story.get(s, "")].add(s)
        confused = {t for t, ss in by_thread.items() if t and len(ss) > 1}
        if confused:
            merged_threads |= confused
            merged_articles += sum(1 for i, c in predicted.items() if c == cluster)
    threads = {t for t in thread.values() if t}
    return {
        "threads_with_merged_events": len(merged_threads),
        "threads": len(threads),
        "articles_in_mixed_clusters": merged_articles,
    }


def alert_report(
    alerts: Sequence[Mapping[str, Any]],
    stream_order: Sequence[str],
    story: Mapping[str, str],
    thread: Mapping[str, str],
    watched: Sequence[str],
) -> dict[str, Any]:
    """Precision, recall and delay of alerts, for each watched thread.

    An alert is correct when its article's gold thread is the alerted thread
    and its gold story had no earlier correct alert. Recall is the share of the
    thread's gold stories that got a correct alert. Delay counts the stream
    articles from a gold story's first article to its correct alert (0: the
    alert came with the story's first article).
    """
    position = {item: n for n, item in enumerate(stream_order)}
    first_seen: dict[str, int] = {}
    for item in stream_order:
        if item in story:
            first_seen.setdefault(story[item], position[item])
    ordered = sorted(
        (a for a in alerts if a["article"]["id"] in position),
        key=lambda a: (position[a["article"]["id"]], a["alert_id"]),
    )
    report: dict[str, Any] = {}
    for thread_id in watched:
        gold_stories = {story[i] for i in story if thread.get(i) == thread_id}
        on_thread = [a for a in ordered if a["thread"]["id"] == thread_id]
        alerted: set[str] = set()
        delays: list[int] = []
        correct = 0
        for alert in on_thread:
            item = alert["article"]["id"]
            gold_story = story.get(item)
            if thread.get(item) == thread_id and gold_story and gold_story not in alerted:
                alerted.add(gold_story)
                correct += 1
                delays.append(position[item] - first_seen[gold_story])
        report[thread_id] = {
            "alerts": len(on_thread),
            "correct": correct,
            "precision": round(correct / len(on_thread), 4) if on_thread else None,
            "gold_stories": len(gold_stories),
            "recall": round(len(alerted) / len(gold_stories), 4) if gold_stories else None,
            "delay_articles": {
                "mean": round(statistics.mean(delays), 2) if delays else None,
                "max": max(delays) if delays else None,
            },
        }
    return report


def tracking_report(
    predicted_thread: Mapping[str, str], gold_thread: Mapping[str, str], watched: Sequence[str]
) -> dict[str, Any]:
    """Article-level tracking of each watched thread, and all of them together.

    An article is tracked by a thread when the story it ended in (a copy: its
    original's story) is on that thread at the end of the run; it is on the
    thread by the gold labels when its gold thread is that thread. Precision
    is the share of tracked articles that are on the thread, recall the share
    of the thread's articles that are tracked: what an analyst following the
    thread's timeline reads, and what it misses. Alerts count stories; this
    counts every article, so one wrong story with many articles weighs more.
    An article with no gold thread that ends on a watched thread counts
    against it, as any other article not on it.
    """
    tracked_by: dict[str, set[str]] = {t: set() for t in watched}
    for item, thread_id in predicted_thread.items():
        if thread_id in tracked_by:
            tracked_by[thread_id].add(item)
    per_thread: dict[str, Any] = {}
    for thread_id in watched:
        gold = {i for i, t in gold_thread.items() if t == thread_id}
        tracked = tracked_by[thread_id]
        per_thread[thread_id] = _tracked(len(tracked), len(gold), len(tracked & gold))
    totals = _tracked(
        *(sum(r[key] for r in per_thread.values()) for key in ("tracked", "gold", "correct"))
    )
    return {**totals, "per_thread": per_thread}


def _tracked(tracked: int, gold: int, correct: int) -> dict[str, Any]:
    return {
        "tracked": tracked,
        "gold": gold,
        "correct": correct,
        "precision": round(correct / tracked, 4) if tracked else None,
        "recall": round(correct / gold, 4) if gold else None,
    }


def micro_alerts(per_thread: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """All watched threads together: precision and recall over every alert and gold story."""
    alerts = sum(r["alerts"] for r in per_thread.values())
    correct = sum(r["correct"] for r in per_thread.values())
    stories = sum(r["gold_stories"] for r in per_thread.values())
    return {
        "alerts": alerts,
        "correct": correct,
        "precision": round(correct / alerts, 4) if alerts else None,
        "gold_stories": stories,
        "recall": round(correct / stories, 4) if stories else None,
    }
