"""``threadwatch feedback`` and the feedback file, end to end on the seeds."""

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.cli.common import UsageError
from pipeline.cli.feedback import main as feedback
from pipeline.config.feedback import load_feedback, parse_feedback
from tests.support import REPO, CachedModelHandler, make_job, run_job
from transforms.core.errors import ConfigError

TREATY = "russia-iran-strategic-treaty"
#: A later Putin–Pezeshkian meeting, written for these tests: a look-alike of the
#: seeds' October 2024 story, on the thread by its score.
REPEAT = REPO / "tests" / "fixtures" / "feedback" / "repeat_meeting.txt"


def test_a_not_relevant_mark_on_a_seed_alert_removes_it_from_the_next_runs(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    first = run_job(make_job(tmp_path / "first", seeds_dir), model_handler)
    alerts = first.outputs["alerts"]
    assert len(alerts) == 2
    marked = alerts[1]  # the October 2024 meeting, say an analyst disagrees
    file = tmp_path / "feedback.jsonl"
    assert (
        feedback(
            [
                "--alert",
                marked["alert_id"],
                "not-relevant",
                "--note",
                "Встреча, не договор — 会谈 — ไม่ใช่สนธิสัญญา — ليست معاهدة",
                "--output",
                str(tmp_path / "first"),
                "--file",
                str(file),
            ]
        )
        == 0
    )
    (line,) = [json.loads(x) for x in file.read_text(encoding="utf-8").splitlines()]
    assert line["verdict"] == "not-relevant" and line["alert_id"] == marked["alert_id"]
    assert (line["thread_id"], line["story_id"]) == (TREATY, marked["story"]["id"])
    assert line["note"].startswith("Встреча") and line["at"].endswith("Z")

    marks = tuple(load_feedback(str(file)))
    runs = []
    for name in ("second", "third"):
        job = dataclasses.replace(make_job(tmp_path / name, seeds_dir), feedback=marks)
        runs.append(run_job(job, model_handler).outputs)
    assert [a["alert_id"] for a in runs[0]["alerts"]] == [alerts[0]["alert_id"]]
    assert runs[0] == runs[1]  # same inputs, same feedback: same outputs


def test_an_unknown_alert_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "alerts.jsonl").write_text("")
    file = tmp_path / "feedback.jsonl"
    with pytest.raises(UsageError, match="no alert 'nope'"):
        feedback(
            ["--alert", "nope", "relevant", "--output", str(tmp_path / "out"), "--file", str(file)]
        )
    assert not file.exists()


def test_mutes_are_appended_after_a_line_without_its_newline(tmp_path: Path) -> None:
    file = tmp_path / "feedback.jsonl"
    file.write_text('{"verdict": "mute", "thread_id": "t-1"}')  # typed by hand, no newline
    assert feedback(["--thread", "t-2", "--story", "s-1", "mute", "--file", str(file)]) == 0
    marks = load_feedback(str(file))
    assert [(m.verdict, m.thread_id, m.story_id) for m in marks] == [
        ("mute", "t-1", None),
        ("mute", "t-2", "s-1"),
    ]


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ('{"verdict": "maybe", "thread_id": "t", "story_id": "s"}', "line 1.verdict", ""),
        (
            '{"verdict": "relevant", "thread_id": "t"}',
            "line 1.story_id",
            "names a thread and a story",
        ),
        ('{"verdict": "mute"}', "line 1.thread_id", "a mute names a thread or a story"),
        ('{"verdict": "mute", "thread_id": "t", "colour": 1}', "line 1.colour", "unknown key"),
        ("not json", "line 1", "invalid JSON"),
    ],
)
def test_bad_feedback_lines_name_line_and_key(line: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_feedback(line, "feedback.jsonl")
    assert key in str(error.value) and message in str(error.value)


def test_a_missing_default_file_is_no_feedback_but_a_named_one_is_an_error(tmp_path: Path) -> None:
    assert load_feedback(str(tmp_path / "none.jsonl"), required=False) == []
    with pytest.raises(ConfigError, match="cannot be read"):
        load_feedback(str(tmp_path / "none.jsonl"))


def test_the_lines_the_command_writes_follow_the_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[3] / "config" / "feedback.schema.json").read_text())
    file = tmp_path / "feedback.jsonl"
    feedback(["--thread", "t-1", "mute", "--note", "noise", "--file", str(file)])
    feedback(["--story", "s-1", "mute", "--file", str(file)])
    for line in file.read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"verdict": "relevant", "thread_id": "t"}, schema)


def test_without_the_verdict_the_repeat_near_miss_alerts_and_with_it_it_does_not(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    """The control of the streaming test (``test_pubsub``): the repeat alerts unless refused."""
    import shutil

    folder = tmp_path / "seeds"
    shutil.copytree(seeds_dir, folder)
    shutil.copy(REPEAT, folder / REPEAT.name)
    with open(folder / "manifest.yaml", "a", encoding="utf-8") as manifest:
        manifest.write(f"  {REPEAT.name}:\n    published: 2025-06-12\n    language: en\n")
    plain = run_job(make_job(tmp_path / "plain", folder), model_handler).outputs["alerts"]
    assert [a["article"]["id"] for a in plain] == [
        "002_dc85ee8fd00bc9d9.txt",
        "000_46b6a571614f8e47.txt",
        REPEAT.name,
    ]
    meeting = plain[1]
    mark = parse_feedback(
        json.dumps(
            {
                "verdict": "not-relevant",
                "thread_id": TREATY,
                "story_id": meeting["story"]["id"],
                "alert_id": meeting["alert_id"],
            }
        ),
        "feedback.jsonl",
    )
    job = dataclasses.replace(make_job(tmp_path / "marked", folder), feedback=tuple(mark))
    marked = run_job(job, model_handler).outputs["alerts"]
    assert [a["article"]["id"] for a in marked] == ["002_dc85ee8fd00bc9d9.txt"]


def test_an_alert_of_a_streaming_job_is_found_in_its_pane_files(tmp_path: Path) -> None:
    panes = tmp_path / "out" / "alerts"
    panes.mkdir(parents=True)
    alert = {"alert_id": "a-1", "thread": {"id": TREATY}, "story": {"id": "s-1"}}
    (panes / "20241010T193600Z-3f2a.jsonl").write_text(json.dumps(alert) + "\n")
    file = tmp_path / "feedback.jsonl"
    args = ["--alert", "a-1", "relevant", "--output", str(tmp_path / "out"), "--file", str(file)]
    assert feedback(args) == 0
    (mark,) = load_feedback(str(file))
    assert (mark.verdict, mark.thread_id, mark.story_id) == ("relevant", TREATY, "s-1")
