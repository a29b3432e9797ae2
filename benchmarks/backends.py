"""Embedding backends compared: speed, and closeness to the default fp32 model.

Variants (``--variants``; ``st`` = sentence-transformers on torch, the
default; ``onnx-fp32`` / ``onnx-int8`` = the folders ``threadwatch
onnx-export`` writes, exported into ``--models`` first if missing):

    st-256  st-128  onnx-fp32-256  onnx-fp32-128  onnx-int8-256  onnx-int8-128

Speed: articles per second of the bare encoder on the texts the pipeline
embeds for synthetic 400–900-word articles (``benchmarks/corpus.py``; every
one fills the 256-word-piece window), ``--repeats`` rounds with the variants
interleaved, median reported, model load excluded.

Quality, on the 982 ECB+ articles (title + lead, as the pipeline embeds
them), against ``st-256``: cosine of each article's vector to its
``st-256`` vector (mean, 1st percentile, min); nearest-neighbour agreement
(the share of articles whose most similar other article is the same as
under ``st-256``, and the mean overlap of the 10 nearest); and, as
``benchmarks/embedding_text.py``, the share of articles whose nearest
neighbour is in the same gold story and the AUC of same-story pairs against
pairs of the topic's other event. The clustering figures (BCubed, pairwise
F1) come from ``threadwatch eval`` with a settings file per variant: see
``benchmarks/README.md``.

    python -m benchmarks.backends [--models out/onnx] [--repeats 2] [--batch-sizes 8]
"""

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.corpus import DATA, REPO, Corpus, synthetic_stream, write_folder
from benchmarks.embedding_text import evaluate
from benchmarks.throughput import pipeline_texts
from pipeline.config.settings import load_settings
from pipeline.evaluation.ecbplus import convert, read_docs
from transforms.core.settings import EmbeddingSettings
from transforms.embedding.embed import load_encoder
from transforms.embedding.handler import embedding_text
from transforms.embedding.onnx import INFO_FILE

VARIANTS = ("st-256", "st-128", "onnx-fp32-256", "onnx-fp32-128", "onnx-int8-256", "onnx-int8-128")
REFERENCE = "st-256"


def variant_settings(name: str, base: EmbeddingSettings, models: Path) -> EmbeddingSettings:
    *kind, length = name.split("-")
    if kind == ["st"]:
        return dataclasses.replace(base, max_seq_length=int(length))
    folder = models / kind[1]
    if not (folder / INFO_FILE).exists():
        from transforms.embedding.onnx_export import export_onnx

        print(f"exporting {kind[1]} into {folder} …", flush=True)
        export_onnx(str(folder), base.model, int8=kind[1] == "int8")
    return dataclasses.replace(
        base, backend="onnx", onnx_model=str(folder), max_seq_length=int(length)
    )


def neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--models", default=str(REPO / "out" / "onnx"))
    parser.add_argument("--speed-articles", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-sizes", default=None, help="e.g. 4,8,16,32 (default: settings)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    parser.add_argument("--settings", default=str(REPO / "config" / "settings.yaml"))
    args = parser.parse_args()

    settings = load_settings(args.settings or None)
    corpus = Corpus(Path(args.data))
    names = args.variants.split(",")
    if not args.no_quality and REFERENCE not in names:
        names.insert(0, REFERENCE)
    models = Path(args.models)
    configs = {name: variant_settings(name, settings.embedding, models) for name in names}
    encoders: dict[str, Any] = {}
    for name, config in configs.items():
        started = time.perf_counter()
        encoders[name] = load_encoder(config)
        print(f"{name}: loaded in {time.perf_counter() - started:.1f} s", flush=True)

    folder = Path(tempfile.mkdtemp(prefix="threadwatch-backends-")) / "articles"
    write_folder(list(synthetic_stream(corpus, args.speed_articles)), folder)
    texts = pipeline_texts(folder, settings)
    batch_sizes = (
        [int(b) for b in args.batch_sizes.split(",")]
        if args.batch_sizes
        else [settings.embedding.encode_batch_size]
    )
    rates: dict[tuple[str, int], list[float]] = {}
    for name in names:
        encoders[name].encode(texts[:16], batch_sizes[0])  # warm-up
    for round_ in range(1, args.repeats + 1):
        for name in names:
            for batch in batch_sizes:
                started = time.perf_counter()
                encoders[name].encode(texts, batch)
                rate = len(texts) / (time.perf_counter() - started)
                rates.setdefault((name, batch), []).append(rate)
                print(
                    f"round {round_}: {name:14} batch {batch:3d} {rate:6.1f} articles/s", flush=True
                )

    floor = statistics.median(rates[(REFERENCE, batch_sizes[0])]) if REFERENCE in names else None
    print(f"\nspeed on {len(texts)} synthetic articles (median of {args.repeats}):")
    print(f"{'variant':14} {'batch':>5} {'articles/s':>10} {'x st-256':>9}  runs")
    for (name, batch), values in rates.items():
        median = statistics.median(values)
        ratio = f"{median / floor:9.2f}" if floor else " " * 9
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:14} {batch:5d} {median:10.1f} {ratio}  {runs}")
    if args.no_quality:
        return 0

    records = list(convert(read_docs(str(Path(args.data) / "ecbplus" / "docs.jsonl"))))
    ecb = [
        embedding_text(r.get("title", ""), r["text"], settings.embedding.max_chars) for r in records
    ]
    stories = [r["story"] for r in records]
    topics = [r["thread"] for r in records]
    vectors = {}
    for name in names:
        started = time.perf_counter()
        vectors[name] = encoders[name].encode(ecb, settings.embedding.encode_batch_size)
        print(
            f"{name}: {len(ecb)} ECB+ articles in {time.perf_counter() - started:.0f} s", flush=True
        )
    reference = vectors[REFERENCE]
    ref_nn = neighbours(reference, 10)
    print(f"\nquality on {len(ecb)} ECB+ articles, against {REFERENCE}:")
    print(
        f"{'variant':14} {'cos mean':>8} {'cos p1':>7} {'cos min':>7} {'same 1-NN':>9} "
        f"{'10-NN overlap':>13} {'1-NN story acc':>14} {'AUC':>6}"
    )
    for name in names:
        cos = (vectors[name] * reference).sum(axis=1)
        nn = neighbours(vectors[name], 10)
        same_first = float(np.mean(nn[:, 0] == ref_nn[:, 0]))
        overlap = float(
            np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn, ref_nn, strict=True)])
        )
        accuracy, separation = evaluate(vectors[name], stories, topics)
        print(
            f"{name:14} {cos.mean():8.4f} {np.quantile(cos, 0.01):7.4f} {cos.min():7.4f} "
            f"{same_first:9.3f} {overlap:13.3f} {accuracy:14.3f} {separation:6.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
