"""Memory and time of the clustering stage over a long stream (10k, 100k articles).

Feeds the ``StoryTracker`` (what ``ClusterStories`` runs) a synthetic stream
(``benchmarks/corpus.py``: real paragraphs recombined, 1,000 articles a day,
so 100,000 articles span 100 days) in event-time order, with the shipped
settings and watchlist, and prints every ``--every`` articles: the process's
resident memory, the tracker's state sizes (``tracker.stats()``, plus the
terms held by active stories and the largest story) and the clustering CPU
time per article (process time: other work on the machine does not inflate
it). Ageing (story, dedup and IDF horizons; the cap
on emergent threads) must keep the state, hence memory, bounded.

Vectors. Embedding 100,000 articles would take 1.5 hours on two cores, and
the memory a tracker holds does not depend on the vectors' values, only on
the decisions they lead to (how many stories open, how many stay active,
how many threads emerge) and, for time, on how many active stories look
similar enough to be scored. So the vectors are made from *real*
embeddings: every paragraph of the pool is embedded once with the
configured model (cached in ``out/cache``), and an article's vector is the
mean of its lead paragraphs' vectors (the first ~200 words: what the model
reads), weighted by words. Articles of one event share their lead, so they
are as close as real follow-ups; unrelated articles are as far apart as real
unrelated news. The first run also embeds 300 synthetic articles for real
and prints how the stand-in vectors compare (``--vectors random`` skips the
model altogether, but makes every article its own story).

The model is loaded in a separate process, so the measured process holds
only what the clustering stage holds (plus the paragraph pool).

    python -m benchmarks.memory --articles 100000
    python -m benchmarks.memory --compare 10000,100000     # each in a fresh process
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.corpus import DATA, GENERATOR_VERSION, REPO, Corpus, synthetic_stream
from pipeline.config.settings import load_settings, load_threads
from transforms.clustering.tracker import StoryTracker
from transforms.core.records import Assignment, Duplicate, EmbeddedArticle
from transforms.core.settings import Settings
from transforms.text.fingerprint import WatchTermMatcher, compute_features

CACHE = REPO / "out" / "cache"
SETTINGS = str(REPO / "config" / "settings.yaml")
THREADS = str(REPO / "config" / "threads.yaml")
LEAD_WORDS = 200  # about 256 word pieces
SAMPLE = 300


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, in MB."""
    try:
        status = Path("/proc/self/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def lead_vector(paragraphs: tuple[int, ...], words: list[int], vectors: np.ndarray) -> np.ndarray:
    weights: list[tuple[int, int]] = []
    budget = LEAD_WORDS
    for p in paragraphs:
        if budget <= 0:
            break
        weights.append((p, min(words[p], budget)))
        budget -= words[p]
    mix = sum(w * vectors[p].astype(np.float64) for p, w in weights)
    vector = np.asarray(mix, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _cache_path(corpus: Corpus, settings: Settings, what: str) -> Path:
    key = f"{corpus.digest()}-{settings.embedding.backend}-{settings.embedding.max_seq_length}"
    if what == "sample":
        key += f"-g{GENERATOR_VERSION}"
    return CACHE / f"{what}-vectors-{key}.npy"


def embed(what: str, data: Path, out: Path) -> None:
    """(Child process) real vectors of the paragraph pool, or of a sample of articles."""
    from transforms.embedding.embed import load_encoder
    from transforms.embedding.handler import embedding_text

    corpus = Corpus(data)
    settings = load_settings(SETTINGS)
    encoder = load_encoder(settings.embedding)
    started = time.perf_counter()
    if what == "paragraphs":
        texts = corpus.paragraphs
    else:
        sample = synthetic_stream(corpus, SAMPLE)
        texts = [embedding_text(a.title, a.text, settings.embedding.max_chars) for a in sample]
    vectors = encoder.encode(texts, settings.embedding.encode_batch_size)
    print(f"embedded {len(texts)} {what} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial.npy")
    np.save(partial, vectors)
    partial.replace(out)


def load_vectors(corpus: Corpus, data: Path, settings: Settings) -> dict[str, np.ndarray]:
    vectors = {}
    for what in ("paragraphs", "sample"):
        path = _cache_path(corpus, settings, what)
        if not path.exists():
            print(f"embedding the {what} once (cached in {path}) …", file=sys.stderr)
            command = [sys.executable, "-m", "benchmarks.memory", "--embed", what, str(path)]
            subprocess.run([*command, "--data", str(data)], check=True, cwd=REPO)
        vectors[what] = np.load(path)
    return vectors


def realism(corpus: Corpus, vectors: dict[str, np.ndarray]) -> list[str]:
    """How the stand-in vectors compare with real embeddings of the same articles."""
    sample = list(synthetic_stream(corpus, SAMPLE))
    fake = np.stack(
        [lead_vector(a.paragraphs, corpus.paragraph_words, vectors["paragraphs"]) for a in sample]
    )
    real = vectors["sample"]
    same = np.array([[a.event == b.event for b in sample] for a in sample])
    off = ~np.eye(len(sample), dtype=bool)

    def spread(sims: np.ndarray, mask: np.ndarray) -> str:
        values = sims[mask]
        p10, p90 = np.quantile(values, [0.1, 0.9])
        return f"mean {values.mean():.2f}, p10 {p10:.2f}, p90 {p90:.2f}"

    lines = [f"stand-in vs real vectors of {SAMPLE} synthetic articles:"]
    lines.append(f"  cosine stand-in to real, same article: mean {(fake * real).sum(1).mean():.3f}")
    for name, vec in (("real", real), ("stand-in", fake)):
        sims = vec @ vec.T
        lines.append(
            f"  {name:8} same event: {spread(sims, same & off)}; "
            f"other events: {spread(sims, ~same)}"
        )
    return lines


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    corpus = Corpus(data)
    settings = load_settings(SETTINGS)
    threads = load_threads(THREADS)
    matcher = WatchTermMatcher(t for spec in threads for t in spec.watch_terms())
    vectors: dict[str, np.ndarray] | None = None
    if args.vectors == "paragraphs":
        vectors = load_vectors(corpus, data, settings)
        for line in realism(corpus, vectors):
            print(line)
    rng = np.random.default_rng(args.seed)
    tracker = StoryTracker(settings.clustering, threads)
    baseline, _ = rss_mb()
    print(f"baseline RSS before the stream: {baseline:.0f} MB")
    header = (
        f"{'articles':>8} {'day':>5} {'RSS MB':>7} {'stories':>7} {'threads':>7} {'dedup':>6} "
        f"{'terms':>6} {'vocab':>6} {'story terms':>11} {'largest':>7} "
        f"{'cluster ms/art':>14} {'features ms/art':>15}"
    )
    print(header)
    rows: list[dict[str, Any]] = []
    actions: Counter[str] = Counter()
    block_cluster = block_features = 0.0
    start_day = None
    for count, article in enumerate(
        synthetic_stream(corpus, args.articles, args.seed, args.per_day), start=1
    ):
        t0 = time.process_time()
        features = compute_features(article.title, article.text, matcher)
        if vectors is not None:
            vector = lead_vector(article.paragraphs, corpus.paragraph_words, vectors["paragraphs"])
        else:
            vector = rng.standard_normal(384).astype(np.float32)
            vector /= np.linalg.norm(vector)
        embedded = EmbeddedArticle(
            id=article.id,
            url=f"synthetic:{article.id}",
            title=article.title,
            published=article.published,
            published_source="manifest",
            source="synthetic",
            language="en",
            role="article",
            thread_id=None,
            features=features,
            vector=vector,
        )
        t1 = time.process_time()
        for event in tracker.observe(embedded):
            if isinstance(event, Assignment):
                actions[event.action] += 1
            elif isinstance(event, Duplicate):
                actions["duplicate"] += 1
        t2 = time.process_time()
        block_features += t1 - t0
        block_cluster += t2 - t1
        start_day = start_day if start_day is not None else article.published
        if count % args.every == 0 or count == args.articles:
            block = args.every if count % args.every == 0 else count % args.every
            current, _ = rss_mb()
            stats = tracker.stats()
            stories = tracker.stories.values()
            stats["story_terms"] = sum(len(s.terms) for s in stories)
            stats["largest_story"] = max((s.size for s in stories), default=0)
            day = (article.published - start_day).total_seconds() / 86400
            row = {
                "articles": count,
                "day": round(day, 1),
                "rss_mb": round(current, 1),
                **stats,
                "cluster_ms_per_article": round(1000 * block_cluster / block, 3),
                "features_ms_per_article": round(1000 * block_features / block, 3),
            }
            rows.append(row)
            print(
                f"{count:8d} {day:5.0f} {current:7.0f} {stats['active_stories']:7d} "
                f"{stats['threads']:7d} {stats['dedup_entries']:6d} {stats['term_log_entries']:6d} "
                f"{stats['vocabulary']:6d} {stats['story_terms']:11d} {stats['largest_story']:7d} "
                f"{row['cluster_ms_per_article']:14.2f} "
                f"{row['features_ms_per_article']:15.2f}",
                flush=True,
            )
            block_cluster = block_features = 0.0
    current, peak = rss_mb()
    started = time.perf_counter()
    snapshot = len(tracker.to_bytes())  # after reading the peak: encoding it allocates
    result = {
        "articles": args.articles,
        "vectors": args.vectors,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "final_rss_mb": round(current, 1),
        "snapshot_mb": round(snapshot / 1e6, 1),
        "snapshot_seconds": round(time.perf_counter() - started, 2),
        "actions": dict(actions),
        "rows": rows,
    }
    print(
        f"peak RSS {peak:.0f} MB (baseline {baseline:.0f} MB, growth {peak - baseline:.0f} MB); "
        f"opened {actions['opened']}, joined {actions['joined']}, duplicates "
        f"{actions['duplicate']}; tracker snapshot {snapshot / 1e6:.1f} MB "
        f"(to_bytes {result['snapshot_seconds']} s)"
    )
    return result


def compare(args: argparse.Namespace) -> None:
    """Each size in a fresh process (peak RSS is per process), then the ratio."""
    results = []
    for size in [int(s) for s in args.compare.split(",")]:
        out = CACHE / f"memory-{size}.json"
        command = [sys.executable, "-m", "benchmarks.memory", "--articles", str(size)]
        command += ["--json", str(out), "--data", args.data, "--vectors", args.vectors]
        command += ["--every", str(max(1000, size // 20)), "--seed", str(args.seed)]
        print(f"$ {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True, cwd=REPO)
        results.append(json.loads(out.read_text()))
    first = results[0]
    print(f"\n{'articles':>8} {'peak RSS MB':>11} {'growth MB':>9} {'x first':>8}")
    for r in results:
        growth = r["peak_rss_mb"] - r["baseline_rss_mb"]
        ratio = r["peak_rss_mb"] / first["peak_rss_mb"]
        print(f"{r['articles']:8d} {r['peak_rss_mb']:11.0f} {growth:9.0f} {ratio:8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--per-day", type=float, default=1000.0, help="articles a day (event time)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=5000, help="print a row every N articles")
    parser.add_argument("--vectors", choices=("paragraphs", "random"), default="paragraphs")
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument(
        "--compare", default=None, help="sizes to run in fresh processes: 10000,100000"
    )
    parser.add_argument("--embed", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embed:
        embed(args.embed[0], Path(args.data), Path(args.embed[1]))
        return 0
    if args.compare:
        compare(args)
        return 0
    result = run(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
