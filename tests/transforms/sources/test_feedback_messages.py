"""Feedback messages: each valid line a verdict, a message with a bad line one dead letter."""

from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config.feedback import parse_feedback
from transforms.core.feedback import FeedbackMark
from transforms.core.records import DEAD_LETTER
from transforms.sources.feedback_messages import _ParseFeedbackFn

SUB = "projects/p/subscriptions/feedback"
# Notes in every script: a verdict's text is kept as written.
NOTES = ["not the treaty", "не договор", "ليست معاهدة", "不是条约", "ไม่ใช่สนธิสัญญา"]


def message(message_id: str, data: bytes) -> PubsubMessage:
    return PubsubMessage(data, {}, message_id=message_id)


def line(story: str, note: str, verdict: str = "not-relevant") -> str:
    import json

    obj = {"verdict": verdict, "thread_id": "ru-ir", "story_id": story, "note": note}
    return json.dumps(obj, ensure_ascii=False)


def _parse(messages: list[PubsubMessage]) -> tuple[Any, Any, beam.Pipeline]:
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    parsed = (
        p
        | beam.Create(messages)
        | beam.ParDo(_ParseFeedbackFn(SUB, parse_feedback)).with_outputs(DEAD_LETTER, main="main")
    )
    return parsed["main"], parsed[DEAD_LETTER], p


def test_every_valid_line_is_a_verdict_and_every_bad_message_one_dead_letter() -> None:
    good = [message(f"m{i}", line(f"s-{i}", note).encode()) for i, note in enumerate(NOTES)]
    two = message("two", (line("s-a", "a") + "\n\n" + line("s-b", "b", "relevant")).encode())
    bad = [
        message("not-json", b"{verdict: relevant"),
        message("no-story", b'{"verdict": "relevant", "thread_id": "ru-ir"}'),
        message("unknown-key", (line("s-x", "x")[:-1] + ', "score": 1}').encode()),
        message("half-bad", (line("s-y", "y") + "\n" + '{"verdict": "maybe"}').encode()),
        message("not-utf8", b"\xff\xfe"),
        message("empty", b"\n  \n"),
    ]
    marks, dead, p = _parse([*good, two, *bad])
    expected = [
        FeedbackMark("not-relevant", "ru-ir", f"s-{i}", note=n) for i, n in enumerate(NOTES)
    ]
    expected += [
        FeedbackMark("not-relevant", "ru-ir", "s-a", note="a"),
        FeedbackMark("relevant", "ru-ir", "s-b", note="b"),
    ]
    assert_that(marks, equal_to(expected), label="Verdicts")
    reasons = dead | beam.Map(lambda d: (d.item, d.stage, d.reason, d.uri))
    assert_that(
        reasons,
        equal_to(
            [
                (m.message_id, "feedback", "invalid_feedback", f"pubsub://{SUB}#{m.message_id}")
                for m in bad
            ]
        ),
        label="DeadLetters",
    )
    # What a person needs to mend the message: which line, which key, what is wrong.
    fragments = {
        "not-json": ("line 1", "invalid JSON"),
        "no-story": ("line 1.story_id", "names a thread and a story"),
        "unknown-key": ("line 1.score", "unknown key"),
        "half-bad": ("line 2.verdict", "'maybe'"),
        "not-utf8": ("not UTF-8",),
        "empty": ("holds no verdict",),
    }
    named = dead | "Named" >> beam.Map(
        lambda d: (d.item, all(f in d.detail for f in fragments[d.item]))
    )
    assert_that(named, equal_to([(m.message_id, True) for m in bad]), label="Details")
    p.run().wait_until_finish()
