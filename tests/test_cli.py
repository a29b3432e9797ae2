"""``threadwatch`` as a user runs it: a subprocess from the repository root."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import golden
from tests.support import REPO, read_jsonl

THREADWATCH = [sys.executable, "-m", "pipeline.cli"]


def threadwatch(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*THREADWATCH, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_run_on_defaults_writes_outputs_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = threadwatch("run", "--output", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "articles read:     5" in lines
    assert "  duplicates:      0" in lines
    assert "  dead-lettered:   0" in lines
    assert "stories opened:    2" in lines
    assert "alerts:            2" in lines
    alert_lines = [line for line in lines if line.startswith("ALERT ")]
    assert len(alert_lines) == 2
    assert all("[Russia–Iran strategic treaty]" in line for line in alert_lines)
    for name in ("alerts", "stories", "assignments", "duplicates", "threads", "dead_letters"):
        assert (out / f"{name}.jsonl").exists()
    expected = json.loads((golden.GOLDEN / "seeds.json").read_text())
    assert [a["alert_id"] for a in read_jsonl(out / "alerts.jsonl")] == [
        a["alert_id"] for a in expected["alerts"]
    ]


def test_multi_processing_workers_give_the_same_alerts(tmp_path: Path) -> None:
    done = threadwatch(
        "run",
        "--output",
        str(tmp_path),
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    )
    assert done.returncode == 0, done.stderr
    expected = json.loads((golden.GOLDEN / "seeds.json").read_text())
    assert golden.same(
        read_jsonl(tmp_path / "alerts.jsonl"), [_with_local_url(a) for a in expected["alerts"]]
    )


def _with_local_url(alert: dict) -> dict:  # type: ignore[type-arg]
    alert = json.loads(json.dumps(alert))
    name = alert["article"]["url"].rsplit("/", 1)[-1]
    alert["article"]["url"] = (REPO / "seeds" / name).as_uri()
    return alert


def test_broken_watchlist_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "threads.yaml"
    broken.write_text("threads:\n  - id: x\n    title: t\n    descripton: typo\n")
    done = threadwatch("run", "--threads", str(broken), "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    assert f"{broken}: threads[0].descripton: unknown key" in done.stderr
    assert not (tmp_path / "out").exists()


def test_unparseable_watchlist_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "threads.yaml"
    broken.write_text("threads: [\n")
    done = threadwatch("run", "--threads", str(broken))
    assert done.returncode == 2
    assert f"{broken}: invalid YAML" in done.stderr


def test_unknown_flag_exits_2() -> None:
    done = threadwatch("run", "--sourc", "seeds")
    assert done.returncode == 2
    assert "unknown option(s): --sourc" in done.stderr


def test_help_lists_the_threadwatch_options() -> None:
    done = threadwatch("run", "--help")
    assert done.returncode == 0
    for flag in ("--source", "--threads", "--settings", "--output"):
        assert flag in done.stdout


def test_streaming_a_folder_without_a_subscription_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local streaming runner would end such a job at once, writing nothing."""
    from pipeline.cli import main

    out = tmp_path / "out"
    assert main(["run", "--streaming", "--source", "seeds", "--output", str(out)]) == 2
    error = capsys.readouterr().err
    assert "--streaming needs --input_subscription" in error
    assert "threadwatch watch" in error and "without --streaming" in error
    assert not out.exists()
