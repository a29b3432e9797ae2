"""Articles per second through one story tracker: the keyed stage's ceiling.

Embeds the ECB+ stream once (cached; tests/fixtures/ecbplus holds a copy, so
no ../shared is needed), then replays COPIES copies of it, each shifted ten
days later with fresh ids and signatures, through one ``StoryTracker`` with
the shipped settings, so stories and duplicates age out as in a long stream.

    python -m benchmarks.tracker_rate [--copies 20] [--settings FILE] [--stream FILE]

``--stream`` replays a labelled stream instead (e.g. the multilingual ITN
file, with ``--settings config/settings-multilingual.yaml``), with the
watched threads it defines (none for ITN: story clustering alone).
"""

import argparse
import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

from benchmarks.replay import prepare
from pipeline.config.settings import load_settings
from pipeline.evaluation.ecbplus import convert, read_docs, with_exemplars
from pipeline.evaluation.labelled import exemplar_threads, parse_stream
from transforms.clustering.tracker import StoryTracker
from transforms.core.records import EmbeddedArticle
from transforms.embedding.embed import embedding_dim

REPO = Path(__file__).resolve().parents[1]


def shifted(article: EmbeddedArticle, copy: int) -> EmbeddedArticle:
    features = dataclasses.replace(
        article.features,
        exact_hash=f"{copy}-{article.features.exact_hash}",
        minhash=tuple((v + copy) % 2147483647 for v in article.features.minhash),
    )
    return dataclasses.replace(
        article,
        id=f"{copy}-{article.id}",
        published=article.published + dt.timedelta(days=10 * copy),
        features=features,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--settings", default=str(REPO / "config" / "settings.yaml"))
    parser.add_argument("--stream", help="a labelled stream (default: the ECB+ fixture)")
    args = parser.parse_args()
    if args.stream:
        lines = Path(args.stream).read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    else:
        docs = read_docs(str(REPO / "tests" / "fixtures" / "ecbplus" / "docs.jsonl"))
        records = with_exemplars(list(convert(docs)), 1)
    stream = parse_stream("\n".join(json.dumps(r) for r in records), "stream")
    settings = load_settings(args.settings)
    threads = exemplar_threads(stream)
    embedded, _ = prepare(stream, settings, threads)
    thread_docs = [e for e in embedded if e.role != "article"]
    articles = [shifted(e, k) for k in range(args.copies) for e in embedded if e.role == "article"]
    articles.sort(key=lambda a: (a.published, a.id))
    tracker = StoryTracker(settings.clustering, threads, embedding_dim(settings.embedding))
    tracker.observe_all(thread_docs)
    start = time.perf_counter()
    for article in articles:
        tracker.observe(article)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    snapshot = tracker.to_bytes()
    snapshot_seconds = time.perf_counter() - start
    print(
        f"{len(articles)} articles in {elapsed:.1f} s: {len(articles) / elapsed:.0f} articles/s "
        f"on one key"
    )
    print(
        f"state: {tracker.stats()}; snapshot {len(snapshot) / 1e6:.1f} MB in "
        f"{snapshot_seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
