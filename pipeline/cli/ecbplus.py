"""``threadwatch ecbplus``: the ECB+ corpus as a labelled stream."""

import argparse
from collections.abc import Sequence

from pipeline.cli.common import EXIT_OK

NAME = "ecbplus"
SUMMARY = "convert the ECB+ corpus into a labelled stream"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch ecbplus",
        description="Convert ECB+ (docs.jsonl) into a labelled stream: one article a minute in "
        "document-name order, gold story = ECB+ story, gold thread = topic.",
    )
    parser.add_argument("--input", required=True, help="ECB+ docs.jsonl")
    parser.add_argument("--output", required=True, help="labelled stream to write")
    parser.add_argument(
        "--shuffle-lines",
        type=int,
        metavar="SEED",
        default=None,
        help="shuffle the file's lines (event times unchanged): arrival order "
        "must not change any figure",
    )
    parser.add_argument(
        "--shuffle-timeline",
        type=int,
        metavar="SEED",
        default=None,
        help="assign event times in a shuffled document order instead",
    )
    parser.add_argument(
        "--exemplars-per-topic",
        type=int,
        default=1,
        help="first N articles of each topic's first story become exemplars "
        "defining a watched thread per topic (default: %(default)s)",
    )
    parser.add_argument(
        "--topics", default=None, help="comma-separated topic numbers to keep (default: all)"
    )
    args = parser.parse_args(list(argv))
    from pipeline.evaluation.ecbplus import convert, read_docs, with_exemplars
    from pipeline.evaluation.eval_job import write_stream

    docs = read_docs(args.input)
    if args.topics:
        keep = {int(t) for t in args.topics.split(",")}
        docs = [d for d in docs if int(d["topic"]) in keep]
    records = with_exemplars(list(convert(docs, args.shuffle_timeline)), args.exemplars_per_topic)
    if args.shuffle_lines is not None:
        import random

        random.Random(args.shuffle_lines).shuffle(records)
    write_stream(args.output, records)
    print(f"wrote {len(records)} records to {args.output}")
    return EXIT_OK
