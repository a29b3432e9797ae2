"""``threadwatch watch``: a folder's new and changed files, published to Pub/Sub."""

import argparse
from collections.abc import Sequence

from pipeline.cli.common import EXIT_OK

NAME = "watch"
SUMMARY = "publish a folder's new and changed files to a Pub/Sub topic (for --streaming)"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch watch",
        description="Watch a folder and publish each new or changed file's articles to a "
        "Pub/Sub topic that a streaming job reads (--input_subscription). Uses "
        "PUBSUB_EMULATOR_HOST when set.",
    )
    parser.add_argument("--folder", required=True)
    parser.add_argument("--topic", required=True, help="projects/P/topics/T")
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="the folder holds feedback files (.jsonl, config/feedback.jsonl format): publish "
        "each file, as one message, to the topic a streaming job reads with "
        "--feedback_subscription",
    )
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between scans")
    parser.add_argument(
        "--state", default=None, help="file remembering what was published (survives restarts)"
    )
    args = parser.parse_args(list(argv))
    import threading
    from pathlib import Path

    from google.cloud import pubsub_v1

    from pipeline.edge.watch import FolderWatcher

    publisher = pubsub_v1.PublisherClient()
    watcher = FolderWatcher(
        Path(args.folder),
        lambda data: publisher.publish(args.topic, data).result(timeout=60),
        Path(args.state) if args.state else None,
        feedback=args.feedback,
    )
    stop = threading.Event()
    try:
        watcher.run(args.interval, stop)
    except KeyboardInterrupt:
        stop.set()
    return EXIT_OK
