"""``threadwatch feedback``: an analyst's verdict on an alert, appended to the feedback file."""

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

from pipeline.cli.common import EXIT_OK, UsageError
from pipeline.options import DEFAULT_FEEDBACK, project_path
from transforms.core.errors import ThreadwatchError
from transforms.core.feedback import FeedbackMark

NAME = "feedback"
SUMMARY = "mark an alert relevant or not relevant, or mute a story or thread"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadwatch feedback",
        description="Append a verdict to the feedback file, which every later run reads: "
        "a story marked not-relevant never alerts on that thread again and becomes one of "
        "its negative examples; one marked relevant becomes a positive example; a muted "
        "story or thread raises no alert. Same inputs and same feedback: same outputs.",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--alert", help="the alert's alert_id (looked up in --output)")
    target.add_argument("--story", help="a story_id, to mute (on --thread, or on every thread)")
    parser.add_argument("--thread", help="a thread id: with 'mute' alone, mutes the whole thread")
    parser.add_argument("verdict", choices=("relevant", "not-relevant", "mute"))
    parser.add_argument("--note", default="", help="why, in your words (kept in the file)")
    parser.add_argument(
        "--output", default="out", help="the run's --output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--file",
        default=project_path(DEFAULT_FEEDBACK),
        help="the feedback file to append to (default: %(default)s)",
    )
    parser.add_argument(
        "--topic",
        default=None,
        help="also publish the line to this Pub/Sub topic (projects/P/topics/T), which a "
        "running streaming job reads with --feedback_subscription: it applies from the "
        "job's next step, without a restart. Uses PUBSUB_EMULATOR_HOST when set.",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    from pipeline.config.feedback import append_feedback

    if args.alert:
        alert = find_alert(args.output, args.alert)
        mark = FeedbackMark(
            verdict=args.verdict,
            thread_id=str(alert["thread"]["id"]),
            story_id=str(alert["story"]["id"]),
            alert_id=args.alert,
            note=args.note,
        )
    elif args.verdict != "mute":
        raise UsageError(f"a {args.verdict!r} verdict is given on an alert: use --alert ALERT_ID")
    elif not (args.story or args.thread):
        raise UsageError("mute what? give --story STORY_ID, --thread THREAD_ID or both")
    else:
        mark = FeedbackMark("mute", args.thread, args.story, note=args.note)
    line = append_feedback(args.file, mark)
    text = json.dumps(line, ensure_ascii=False, sort_keys=True)
    print(f"{args.file}: {text}")
    if args.topic:
        publish_verdict(args.topic, text.encode())
        print(f"{args.topic}: published")
    return EXIT_OK


def publish_verdict(topic: str, data: bytes) -> None:
    """Publishes one line, with the edge processes' retries; a failure is an error (exit 1).

    The line is in the file already: the next start applies it even if the
    running job never got it.
    """
    from google.cloud import pubsub_v1

    from pipeline.edge.publish_retry import Backoff, PublishFailed, publish_with_retry

    publisher = pubsub_v1.PublisherClient()
    try:
        publish_with_retry(
            lambda d: publisher.publish(topic, d).result(timeout=60), data, Backoff()
        )
    except PublishFailed as failure:
        raise ThreadwatchError(
            f"the verdict is in the feedback file but was not published to {topic}: {failure}"
            " (a restart of the job applies it; or publish the file with 'threadwatch watch "
            "--feedback')"
        ) from None


def find_alert(output: str, alert_id: str) -> dict[str, Any]:
    """The alert ``alert_id`` of a run's outputs; a usage error when it is not there.

    A batch run writes ``alerts.jsonl``; a streaming job writes a folder of
    pane files, ``alerts/*.jsonl``: both are looked in.
    """
    files = [os.path.join(output, "alerts.jsonl")]
    panes = os.path.join(output, "alerts")
    if os.path.isdir(panes):
        files += sorted(os.path.join(panes, n) for n in os.listdir(panes) if n.endswith(".jsonl"))
    readable = False
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                readable = True
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        alert: dict[str, Any] = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UsageError(f"{path}: line {number} is not JSON: {exc}") from None
                    if alert.get("alert_id") == alert_id:
                        return alert
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot read the alerts of {output!r}: {exc.strerror}") from None
    if not readable:
        raise UsageError(
            f"cannot read the alerts of {output!r}: no alerts.jsonl and no alerts/ pane files"
        )
    raise UsageError(f"no alert {alert_id!r} in {output} (alerts.jsonl, alerts/*.jsonl)")
