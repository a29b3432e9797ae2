"""End-to-end throughput against the floor: the bare model on the same texts.

In one run, on the same synthetic articles (``benchmarks/corpus.py``: real
paragraphs recombined, 400–900 words, written as JSON Lines files into a
temporary folder), this prints:

* the floor: the configured model's bare ``encode`` (sentence-transformers,
  or the ONNX session for ``backend: onnx``) on exactly the texts the pipeline
  embeds (same extraction, ``article_text()``, ``max_chars``,
  ``encode_batch_size``, sequence length, threads), model load excluded;
* the pipeline: ``threadwatch run``'s graph (``pipeline.graph.build`` =
  ``build_graph`` + the file sinks) on that folder, timed from
  ``pipeline.run()`` to the last file written, model load included, and its
  ratio to the floor;
* time per stage, from the runner's execution-time metrics
  (``ptransform_execution_time``), and RunInference's own metrics: how many
  times the model was loaded and the batch sizes ``BatchElements`` formed.

Floor and pipeline runs alternate (``--repeats`` rounds) and medians are
reported: other work on the machine moves single figures by ±20%.

    python -m benchmarks.throughput [--articles 400] [--repeats 2] [--settings FILE]
        [-- --direct_num_workers=2 --direct_running_mode=multi_processing]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from benchmarks.corpus import DATA, REPO, Corpus, synthetic_stream, write_folder
from pipeline.config.settings import load_settings, load_threads
from pipeline.graph import Job, build
from pipeline.summary import counters_from_result
from transforms.core.records import RawDocument
from transforms.core.settings import Settings
from transforms.embedding.embed import load_encoder
from transforms.embedding.handler import article_text
from transforms.sources.folder import split_file
from transforms.sources.read_folder import file_uri
from transforms.text.extraction import extract_article

STAGES = (
    "ReadFolder",
    "ExtractText",
    "Fingerprint",
    "EmbedArticles",
    "ClusterStories",
    "WriteOutputs",
)


def pipeline_texts(folder: Path, settings: Settings) -> list[str]:
    """What the pipeline embeds for each article of the folder, computed the same way."""
    texts = []
    for path in sorted(folder.iterdir()):
        for item in split_file(path.name, file_uri(str(path)), path.read_bytes(), None, None):
            assert isinstance(item, RawDocument)
            article = extract_article(item, settings.extraction)
            texts.append(article_text(settings.embedding, article.title, article.text))
    return texts


def measure_floor(encoder: Any, texts: list[str], batch_size: int) -> float:
    started = time.perf_counter()
    encoder.encode(texts, batch_size)
    return len(texts) / (time.perf_counter() - started)


def stage_of(step: str) -> str:
    top = step.split("/", 1)[0]
    return top if top in STAGES else "other"


def run_pipeline(
    folder: Path, output: Path, settings_path: str, flags: list[str]
) -> tuple[float, dict[str, Any]]:
    """(seconds, metrics) of one ``threadwatch run`` on the folder."""
    options = PipelineOptions(["--runner=FnApiRunner", *flags])
    job = Job(
        source=str(folder),
        threads=tuple(load_threads(str(REPO / "config" / "threads.yaml"))),
        settings=load_settings(settings_path or None),
        output=str(output),
    )
    pipeline = beam.Pipeline(options=options)
    build(pipeline, job)
    started = time.perf_counter()
    result: Any = pipeline.run()  # FnApiRunner's result: it has monitoring_metrics()
    result.wait_until_finish()
    seconds = time.perf_counter() - started
    stages: dict[str, float] = defaultdict(float)
    inference: dict[str, Any] = {}
    query = result.monitoring_metrics().query()
    for metric in query["counters"]:
        name = metric.key.metric.name
        if name == "metric:ptransform_execution_time:total_msecs:v1" and metric.key.step:
            stages[stage_of(metric.key.step)] += (metric.committed or 0) / 1000
    for metric in result.metrics().query()["distributions"]:
        name = metric.key.metric.name
        if metric.key.metric.namespace == "threadwatch.embedding" and metric.committed:
            inference[name] = metric.committed
    return seconds, {
        "stages": dict(stages),
        "inference": inference,
        "counters": counters_from_result(result),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after '--' are Beam options for the pipeline runs.",
    )
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--settings", default=str(REPO / "config" / "settings.yaml"))
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    parser.add_argument("--no-floor", action="store_true", help="pipeline runs only")
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)

    settings = load_settings(args.settings or None)
    corpus = Corpus(Path(args.data))
    work = Path(tempfile.mkdtemp(prefix="threadwatch-throughput-"))
    folder = work / "articles"
    write_folder(list(synthetic_stream(corpus, args.articles)), folder)
    texts = pipeline_texts(folder, settings)
    e = settings.embedding
    print(
        f"{len(texts)} synthetic articles in {folder}; backend {e.backend}"
        f"{' ' + str(e.onnx_model) if e.onnx_model else ''}, max_seq_length "
        f"{e.max_seq_length or 'model default'}, max_chars {e.max_chars}, encode_batch_size "
        f"{e.encode_batch_size}, batches {e.min_batch_size}..{e.max_batch_size}, threads "
        f"{e.threads or 'default'}; Beam flags: {' '.join(flags) or '(none)'}; "
        f"{os.cpu_count()} CPUs"
    )
    encoder = None
    if not args.no_floor:
        started = time.perf_counter()
        encoder = load_encoder(settings.embedding)
        encoder.encode(texts[:16], e.encode_batch_size)  # warm-up
        print(f"floor model loaded in {time.perf_counter() - started:.1f} s")

    floors: list[float] = []
    rates: list[float] = []
    metrics: list[dict[str, Any]] = []
    for round_ in range(1, args.repeats + 1):
        if encoder is not None:
            floors.append(measure_floor(encoder, texts, e.encode_batch_size))
            print(f"round {round_}: floor    {floors[-1]:6.1f} articles/s", flush=True)
        seconds, found = run_pipeline(folder, work / f"out-{round_}", args.settings, flags)
        rates.append(len(texts) / seconds)
        metrics.append(found)
        read = found["counters"].get("items_read", 0)
        print(
            f"round {round_}: pipeline {rates[-1]:6.1f} articles/s ({seconds:.1f} s, "
            f"{read} read, {found['counters'].get('alerts', 0)} alerts)",
            flush=True,
        )

    pipeline_rate = statistics.median(rates)
    print()
    if floors:
        floor = statistics.median(floors)
        print(f"floor (bare encode):  {floor:6.1f} articles/s  (runs: {_list(floors)})")
    print(f"pipeline end to end:  {pipeline_rate:6.1f} articles/s  (runs: {_list(rates)})")
    if floors:
        print(f"ratio pipeline/floor: {pipeline_rate / floor:6.2f}")

    last = metrics[-1]
    total = sum(last["stages"].values())
    print(
        f"\ntime per stage (last run; execution-time metrics, all workers), {len(texts)} articles:"
    )
    for stage in (*STAGES, "other"):
        seconds = last["stages"].get(stage, 0.0)
        print(
            f"  {stage:15} {seconds:7.2f} s  {1000 * seconds / len(texts):7.2f} ms/article  "
            f"{100 * seconds / total if total else 0:5.1f}%"
        )
    inference = last["inference"]
    loads = inference.get("load_model_latency_milli_secs")
    sizes = inference.get("inference_request_batch_size")
    if loads is not None:
        print(f"model loads: {loads.count} (mean {loads.mean / 1000:.1f} s)")
    if sizes is not None:
        print(
            f"RunInference batches: {sizes.count}, sizes {sizes.min}..{sizes.max} "
            f"(mean {sizes.mean:.1f})"
        )
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
