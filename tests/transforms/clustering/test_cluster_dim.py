"""The clustering stage's vector dimension: the backend's, checked against stored state."""

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
