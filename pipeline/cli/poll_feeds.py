"""``threadwatch poll-feeds``: feeds polled, new entries' articles published to Pub/Sub."""

import argparse
from collections.abc import Sequence

from pipeline.cli.common import EXIT_OK
from pipeline.options import DEFAULT_SETTINGS, project_path

NAME = "poll-feeds"
SUMMARY = "poll feeds and publish new entries' articles to a Pub/Sub topic (for --streaming)"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch poll-feeds",
        description="Poll feeds on their intervals (conditional GET) and publish each new "
        "entry's article to a Pub/Sub topic that a streaming job reads (--input_subscription). "
        "Uses PUBSUB_EMULATOR_HOST when set.",
    )
    parser.add_argument("--feeds", required=True, help="feed list: YAML or OPML")
    parser.add_argument("--topic", required=True, help="projects/P/topics/T")
    parser.add_argument(
        "--state", default=None, help="file remembering validators and published entries"
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=50_000,
        help="entries remembered as published, oldest forgotten first (default: %(default)s)",
    )
    parser.add_argument(
        "--settings",
        default=project_path(DEFAULT_SETTINGS),
        help="settings whose extraction limits decide page or entry text (default: %(default)s)",
    )
    parser.add_argument(
        "--allow_private_hosts",
        action="store_true",
        help="allow loopback and private addresses (trusted in-house feeds, local tests)",
    )
    parser.add_argument("--once", action="store_true", help="poll every feed once and exit")
    args = parser.parse_args(list(argv))
    import threading
    from pathlib import Path

    from google.cloud import pubsub_v1

    from pipeline.config.feeds import load_feeds
    from pipeline.config.settings import load_settings
    from pipeline.edge.poll_feeds import FeedPoller

    feeds = load_feeds(args.feeds, args.allow_private_hosts)
    settings = load_settings(args.settings or None)
    publisher = pubsub_v1.PublisherClient()
    poller = FeedPoller(
        feeds,
        settings.extraction,
        lambda data: publisher.publish(args.topic, data).result(timeout=60),
        Path(args.state) if args.state else None,
        memory=args.memory,
    )
    try:
        if args.once:
            report = poller.poll(every_feed=True)
            print(
                f"polled {report.feeds_polled} feed(s): {report.published} published, "
                f"{report.already_seen} already seen, {report.dead_lettered} dead-lettered, "
                f"{report.feeds_failed} feed(s) failed, {report.not_modified} not modified"
            )
            return EXIT_OK
        stop = threading.Event()
        try:
            poller.run(stop)
        except KeyboardInterrupt:
            stop.set()
        return EXIT_OK
    finally:
        poller.close()
