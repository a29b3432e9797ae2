"""``--state`` is checked at start-up: a file the clustering stage could not load is refused."""

import json
from pathlib import Path

import pytest

from pipeline.state_check import StateFileError, check_state_file
from tests.tracker_support import article, unit
from transforms.errors import ConfigError
from transforms.settings import ClusteringSettings, ThreadSpec
from transforms.tracker import StoryTracker

SETTINGS = ClusteringSettings()
THREADS = (ThreadSpec(id="ru-ir", title="Russia–Iran", description="d"),)


def snapshot() -> bytes:
    """A real snapshot with a story in it, as the clustering stage writes one."""
    tracker = StoryTracker(SETTINGS, THREADS)
    list(tracker.observe_all([article("a1", unit("a"), 0.0)]))
    data = tracker.to_bytes()
    assert json.loads(data)["stories"], "the snapshot must hold a story to be a fair test"
    return data


def refused(path: Path) -> str:
    with pytest.raises(StateFileError) as info:
        check_state_file(str(path), SETTINGS, THREADS)
    assert isinstance(info.value, ConfigError)  # exit 2, like every configuration error
    assert info.value.path == str(path)
    return str(info.value)


def test_a_missing_file_is_a_first_run(tmp_path: Path) -> None:
    check_state_file(str(tmp_path / "state.json"), SETTINGS, THREADS)
    assert not (tmp_path / "state.json").exists()


def test_a_snapshot_the_stage_wrote_passes(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(snapshot())
    check_state_file(str(path), SETTINGS, THREADS)


@pytest.mark.parametrize("keep", [0.01, 0.5, 0.9999])
def test_a_truncated_snapshot_is_refused(tmp_path: Path, keep: float) -> None:
    """A write cut short, wherever it stops: inside a string, a number or between fields."""
    data = snapshot()
    path = tmp_path / "state.json"
    path.write_bytes(data[: int(len(data) * keep)])
    assert refused(path).startswith(f"{path}: is truncated: its JSON ends after")


def test_corrupt_json_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(snapshot().replace(b'"stories"', b'"stories" x', 1))
    assert refused(path).startswith(f"{path}: is corrupt: invalid JSON at byte ")


def test_bytes_that_are_not_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    assert refused(path).startswith(f"{path}: is corrupt")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"")
    assert refused(path).startswith(f"{path}: is empty")


def test_another_format_version_is_incompatible(tmp_path: Path) -> None:
    state = json.loads(snapshot())
    state["version"] = 99
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    message = refused(path)
    assert message.startswith(f"{path}: is incompatible: unsupported tracker state version 99")
    assert "reads version 1" in message


@pytest.mark.parametrize(
    "text", ["[]", '{"version": 1}', '{"version": 1, "dim": 384, "clock": 0, "stories": 5}']
)
def test_json_of_another_shape_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    assert "is not a tracker state snapshot this version can read" in refused(path)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert "cannot be read" in refused(tmp_path)
