"""``threadwatch feedback``: an analyst's verdict on an alert, appended to the feedback file."""

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

from pipeline.cli.common import EXIT_OK, UsageError
from pipeline.options import DEFAULT_FEEDBACK, project_path
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
    print(f"{args.file}: {json.dumps(line, ensure_ascii=False, sort_keys=True)}")
    return EXIT_OK


def find_alert(output: str, alert_id: str) -> dict[str, Any]:
    """The alert ``alert_id`` of a run's ``alerts.jsonl``; a usage error when it is not there."""
    path = os.path.join(output, "alerts.jsonl")
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    alert: dict[str, Any] = json.loads(line)
                    if alert.get("alert_id") == alert_id:
                        return alert
    except OSError as exc:
        raise UsageError(f"cannot read the alerts of {output!r}: {exc.strerror}") from None
    raise UsageError(f"no alert {alert_id!r} in {path}")
