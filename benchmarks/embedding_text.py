"""Which text of an article to embed: measured on ECB+ story labels.

Compares, with the packaged model:
  lead-256   title + start of the body, up to the model's 256 word pieces (the default)
  lead-128   the same cut at 128 word pieces (twice as fast, per ../shared/FACTS.md)
  chunks     the mean of the embeddings of every 256-piece window of the body

For each variant it prints the nearest-neighbour story accuracy (is an
article's most similar other article in the same gold story?), the AUC of
separating same-story pairs from pairs of the *other* event of the same topic
(the hard negatives ECB+ was built for), and the encoding rate.

    python benchmarks/embedding_text.py [--data ../shared/data/ecbplus/docs.jsonl]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.evaluation.ecbplus import convert, read_docs
from transforms.core.settings import EmbeddingSettings
from transforms.embedding.handler import embedding_text
from transforms.embedding.sentence import load_sentence_transformer

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ecbplus" / "docs.jsonl"


def auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Probability that a random positive pair scores above a random negative pair."""
    scores = np.concatenate([positives, negatives])
    ranks = scores.argsort().argsort() + 1
    pos_ranks = ranks[: len(positives)].sum()
    return float(
        (pos_ranks - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives))
    )


def evaluate(vectors: np.ndarray, stories: list[str], topics: list[str]) -> tuple[float, float]:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    accuracy = float(np.mean([stories[i] == stories[j] for i, j in enumerate(nearest)]))
    same_story, same_topic = [], []
    n = len(stories)
    for i in range(n):
        for j in range(i + 1, n):
            if stories[i] == stories[j]:
                same_story.append(sims[i, j])
            elif topics[i] == topics[j]:
                same_topic.append(sims[i, j])
    return accuracy, auc(np.array(same_story), np.array(same_topic))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    if not os.path.exists(args.data):
        print(
            f"ECB+ data not found at {args.data}: this benchmark needs ../shared/data "
            "(see its README).",
            file=sys.stderr,
        )
        return 2
    records = list(convert(read_docs(args.data)))
    stories = [r["story"] for r in records]
    topics = [r["thread"] for r in records]
    model = load_sentence_transformer(EmbeddingSettings())
    print(f"{len(records)} ECB+ articles, {len(set(stories))} stories, {len(set(topics))} topics")
    print(f"{'variant':10} {'1-NN story acc':>15} {'AUC vs other event':>19} {'docs/s':>8}")

    def lead(max_tokens: int) -> np.ndarray:
        model.max_seq_length = max_tokens
        texts = [embedding_text(r.get("title", ""), r["text"], 2000) for r in records]
        return np.asarray(model.encode(texts, batch_size=8, normalize_embeddings=True))

    def chunks() -> np.ndarray:
        model.max_seq_length = 256
        vectors = []
        for r in records:
            words = (r.get("title", "") + "\n" + r["text"]).split()
            windows = [" ".join(words[i : i + 160]) for i in range(0, len(words), 160)] or [""]
            v = np.asarray(model.encode(windows, batch_size=8, normalize_embeddings=True)).mean(0)
            vectors.append(v / np.linalg.norm(v))
        return np.array(vectors)

    for name, make in (
        ("lead-256", lambda: lead(256)),
        ("lead-128", lambda: lead(128)),
        ("chunks", chunks),
    ):
        start = time.perf_counter()
        vectors = make()
        rate = len(records) / (time.perf_counter() - start)
        accuracy, separation = evaluate(vectors, stories, topics)
        print(f"{name:10} {accuracy:15.3f} {separation:19.3f} {rate:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
