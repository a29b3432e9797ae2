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
        "--timeline",
        type=int,
        metavar="SEED",
        default=None,
        help="realistic event times instead of one a minute: an event's articles over "
        "hours to days, a topic's two events months apart, topics interleaved (seeded)",
    )
    parser.add_argument(
        "--storylines",
        action="store_true",
        help="gold thread = the event: each topic's first event is a watched thread "
        "and its look-alike second event a near miss that must not alert",
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
    from pipeline.evaluation.ecbplus import as_storylines, convert, read_docs, with_exemplars
    from pipeline.evaluation.eval_job import write_stream

    docs = read_docs(args.input)
    if args.topics:
        keep = {int(t) for t in args.topics.split(",")}
        docs = [d for d in docs if int(d["topic"]) in keep]
    if args.timeline is not None and args.shuffle_timeline is not None:
        parser.error("--timeline and --shuffle-timeline are exclusive")
    converted = list(convert(docs, args.shuffle_timeline, args.timeline))
    records = with_exemplars(converted, args.exemplars_per_topic)
    if args.storylines:
        records = as_storylines(records)
    if args.shuffle_lines is not None:
        import random

        random.Random(args.shuffle_lines).shuffle(records)
    write_stream(args.output, records)
    print(f"wrote {len(records)} records to {args.output}")
    return EXIT_OK
