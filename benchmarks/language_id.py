"""What language identification costs on English news, against the bare model encode.

Builds N synthetic English articles (``benchmarks/corpus.py``), extracts them
as the pipeline does, then times in alternating rounds, medians reported:

  encode   the configured model's bare ``encode`` on the texts the pipeline
           embeds (the floor of ``benchmarks/throughput.py``)
  detect   ``LanguageDetector.detect`` on each article's title and text, the
           call ``Fingerprint`` makes for an article with no stated language
  features ``compute_features`` (the rest of the Fingerprint stage), for scale

and prints detect's time as a share of encode's, and the end-to-end ratio it
implies: encode / (encode + detect), the fraction of today's rate left if
nothing else changed (every other stage is unchanged by language ID).

    python -m benchmarks.language_id [--articles 400] [--repeats 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.corpus import DATA, REPO, Corpus, synthetic_stream, write_folder
from pipeline.config.settings import load_settings
from transforms.core.records import Article, RawDocument
from transforms.embedding.embed import load_encoder
from transforms.embedding.handler import embedding_text
from transforms.sources.folder import split_file
from transforms.sources.read_folder import file_uri
from transforms.text.extraction import extract_article
from transforms.text.fingerprint import WatchTermMatcher, compute_features
from transforms.text.language import LanguageDetector


def extracted(folder: Path, settings_path: str) -> list[Article]:
    settings = load_settings(settings_path or None)
    articles = []
    for path in sorted(folder.iterdir()):
        for item in split_file(path.name, file_uri(str(path)), path.read_bytes(), None, None):
            assert isinstance(item, RawDocument)
            articles.append(extract_article(item, settings.extraction))
    return articles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settings", default=str(REPO / "config" / "settings.yaml"))
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    args = parser.parse_args()
    if not Path(args.data).is_dir():
        print(f"no data at {args.data}: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    settings = load_settings(args.settings or None)
    folder = Path(tempfile.mkdtemp(prefix="threadwatch-langid-")) / "articles"
    write_folder(list(synthetic_stream(Corpus(Path(args.data)), args.articles)), folder)
    articles = extracted(folder, args.settings)
    e = settings.embedding
    texts = [embedding_text(a.title, a.text, e.max_chars) for a in articles]
    words = statistics.median(len(a.text.split()) for a in articles)
    started = time.perf_counter()
    detector = LanguageDetector()
    print(
        f"{len(articles)} articles, median {words:.0f} words; detector loaded in "
        f"{time.perf_counter() - started:.2f} s"
    )
    encoder = load_encoder(e)
    encoder.encode(texts[:16], e.encode_batch_size)  # warm-up
    matcher = WatchTermMatcher(["Russia", "Iran"])

    timings: dict[str, list[float]] = {"encode": [], "detect": [], "features": []}
    found: Counter[str] = Counter()
    for round_ in range(1, args.repeats + 1):
        started = time.perf_counter()
        encoder.encode(texts, e.encode_batch_size)
        timings["encode"].append(time.perf_counter() - started)
        started = time.perf_counter()
        found.update(str(detector.detect(f"{a.title}\n{a.text}")) for a in articles)
        timings["detect"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for a in articles:
            compute_features(a.title, a.text, matcher, a.id)
        timings["features"].append(time.perf_counter() - started)
        print(
            f"round {round_}: "
            + "  ".join(f"{k} {v[-1] / len(articles) * 1000:7.2f} ms" for k, v in timings.items()),
            flush=True,
        )
    per = {k: statistics.median(v) / len(articles) * 1000 for k, v in timings.items()}
    print()
    for name, ms in per.items():
        print(f"{name:9} {ms:8.3f} ms per article  ({1000 / ms:8.1f} articles/s)")
    # (The synthetic corpus mixes in paragraphs of the extraction benchmark's
    # pages, some German, Portuguese, Russian…: those articles are mixed.)
    detected = ", ".join(f"{k} {v // args.repeats}" for k, v in found.most_common())
    print(f"languages detected (articles): {detected}")
    print(f"detect / encode: {per['detect'] / per['encode']:.4f}")
    print(
        f"implied rate ratio with / without language ID: "
        f"{per['encode'] / (per['encode'] + per['detect']):.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
