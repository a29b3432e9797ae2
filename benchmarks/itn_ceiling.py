"""What one similarity cut can do with the multilingual vectors: an offline ceiling on ITN.

The tracker clusters online, one article at a time. To tell how much of the
gap to issue 14's target is the tracker and how much the vectors, this
clusters the whole stream at once (average linkage on the cosine distance of
per-language centred vectors, items more than ``--window`` days apart never
linked) and picks the cut *by the gold labels*: no online clusterer with one
bar on these vectors should do better. It also prints what a perfect
clustering of the extracted items scores (items that failed extraction
stand alone, as ``threadwatch eval`` scores them) and the ROC AUC of the
centred cosine for "same gold story" within and across languages.

    python -m benchmarks.itn_ceiling [--stream ../shared/data/itn/itn_2022.jsonl]
        [--settings config/settings-multilingual.yaml] [--window 14] [--min-words N]
        [--centring offline|online|none] [--centring-min-count 5] [--pooled-min-count N]

``--centring online`` centres each vector as the tracker does (the real
``LanguageCentring``, in event-time order: on the means of the articles
before it, duplicates included, which the tracker leaves out: on ITN the
same figures either way, a language from its ``--centring-min-count``-th + 1 article, the
pooled mean before that with ``--pooled-min-count``); ``offline`` (default)
on its language's mean over the whole stream, which no online system has.

Vectors come from ``benchmarks.replay.prepare`` (the pipeline's extraction,
features and embedding text). Needs ``../shared`` (the ITN file); scipy and
scikit-learn come with sentence-transformers.
"""

import argparse
import dataclasses
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import roc_auc_score

from benchmarks.corpus import DATA, REPO
from benchmarks.replay import prepare
from pipeline.config.settings import load_settings
from pipeline.evaluation.evaluate import bcubed
from pipeline.evaluation.labelled import read_stream
from transforms.clustering.centring import LanguageCentring, language_key

DAY = 86400.0
#: The tracker centres a language from its 6th article (``language_centring_min_count`` 5).
MIN_CENTRED = 6


def unit_rows(rows: NDArray[Any]) -> NDArray[Any]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norms > 0, norms, 1.0))


def centred(vectors: NDArray[Any], languages: Sequence[str]) -> NDArray[Any]:
    """Each unit vector minus its language's mean over the whole stream (offline)."""
    v = unit_rows(vectors)
    keys = np.array([language_key(x) for x in languages])
    out = v.copy()
    for key, count in Counter(keys.tolist()).items():
        rows = keys == key
        if count >= MIN_CENTRED:
            out[rows] = v[rows] - v[rows].mean(axis=0)
    return unit_rows(out)


def online_centred(
    vectors: NDArray[Any],
    languages: Sequence[str],
    order: Sequence[int],
    min_count: int,
    pooled_min_count: int,
) -> NDArray[Any]:
    """Each unit vector centred on the means of the articles before it in ``order``."""
    v = unit_rows(vectors)
    centring = LanguageCentring(min_count, 0.0, pooled_min_count)
    out = v.copy()
    for i in order:
        out[i] = centring.centred(languages[i], v[i])
        centring.add(languages[i], v[i], 0.0)
    return out


def _scores(
    ids: Sequence[str], clusters: Sequence[int], gold: dict[str, str]
) -> tuple[float, float, float]:
    """BCubed P, R, F1 over every gold item; items not clustered stand alone."""
    predicted = {i: f"c{c}" for i, c in zip(ids, clusters, strict=True)}
    for item in gold:
        predicted.setdefault(item, f"alone:{item}")
    score = bcubed(predicted, gold)
    return score.precision, score.recall, score.f1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", default=str(DATA / "itn" / "itn_2022.jsonl"))
    parser.add_argument("--settings", default=str(REPO / "config" / "settings-multilingual.yaml"))
    parser.add_argument("--window", type=float, default=14.0, help="days; 0: no window")
    parser.add_argument("--min-words", type=int, help="instead of the settings' min_words")
    parser.add_argument("--centring", choices=("offline", "online", "none"), default="offline")
    parser.add_argument("--centring-min-count", type=int, default=MIN_CENTRED - 1)
    parser.add_argument("--pooled-min-count", type=int, default=0, help="online only; 0: none")
    args = parser.parse_args(argv)
    records = read_stream(args.stream)
    settings = load_settings(args.settings)
    if args.min_words is not None:
        extraction = dataclasses.replace(settings.extraction, min_words=args.min_words)
        settings = dataclasses.replace(settings, extraction=extraction)
    embedded, failed = prepare(records, settings, [])
    gold = {r.id: r.story for r in records if r.role == "stream" and r.story}
    articles = [a for a in embedded if a.id in gold]
    ids = [a.id for a in articles]
    raw = np.stack([a.vector.astype(np.float64) for a in articles])
    times = np.array([a.published.timestamp() for a in articles])
    if args.centring == "offline":
        vectors = centred(raw, [a.language for a in articles])
    elif args.centring == "online":
        order = sorted(range(len(ids)), key=lambda i: (times[i], ids[i]))
        vectors = online_centred(
            raw,
            [a.language for a in articles],
            order,
            args.centring_min_count,
            args.pooled_min_count,
        )
    else:
        vectors = unit_rows(raw)
    stories = [gold[i] for i in ids]
    _, perfect = np.unique(stories, return_inverse=True)
    p, r, f = _scores(ids, perfect.tolist(), gold)
    print(f"{len(gold)} items, {len(ids)} extracted ({len(failed)} failed extraction)")
    print(f"perfect clustering of the extracted items: BCubed F1 {f:.3f} (P {p:.3f} R {r:.3f})")

    distance = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    if args.window:
        distance[np.abs(times[:, None] - times[None, :]) > args.window * DAY] = 2.0
    tree = linkage(squareform(distance, checks=False), method="average")
    best = (-1.0, 0.0, 0.0, 0.0)
    for cut in np.unique(np.round(tree[:, 2], 3)):
        clusters = fcluster(tree, cut, criterion="distance")
        p, r, f = _scores(ids, clusters.tolist(), gold)
        if f > best[0]:
            best = (f, p, r, float(cut))
    f, p, r, cut = best
    print(
        f"average linkage, oracle cut {cut:.3f}, window {args.window:g} d: "
        f"BCubed F1 {f:.3f} (P {p:.3f} R {r:.3f})"
    )

    languages = [language_key(a.language) for a in articles]
    upper = np.triu_indices(len(ids), 1)
    near = np.abs(times[upper[0]] - times[upper[1]]) <= (args.window or 1e9) * DAY
    a, b = upper[0][near], upper[1][near]
    similarity = np.einsum("ij,ij->i", vectors[a], vectors[b])
    same = np.array(stories)[a] == np.array(stories)[b]
    one_language = np.array(languages)[a] == np.array(languages)[b]
    for name, rows in (("same language", one_language), ("across languages", ~one_language)):
        auc = float(roc_auc_score(same[rows], similarity[rows]))
        print(f"ROC AUC of the centred cosine for one story, pairs {name}: {auc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
