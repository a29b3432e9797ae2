"""The score an article needs to join a story: time and language as evidence.

One bar (``story_threshold``) for every pair fits neither end: an article
that comes back after a long quiet spell should match more strongly than
one right after the story's last article, and the same event told in two
languages scores lower than in one (names do not match across scripts, and
a multilingual model puts a translation further off than a paraphrase).
"""

from transforms.clustering.model import BOUND_MARGIN, DAY, Story, rounded
from transforms.core.settings import ClusteringSettings


def lowest_bar(settings: ClusteringSettings, language: str | None) -> float:
    """The lowest bar any story asks of an article in ``language`` (a ``known_language``
    key, None when unknown), less the bound margin: what candidates are looked for
    from, so none that can join is missed."""
    bar = settings.story_threshold
    if language is not None:
        bar = rounded(bar - settings.cross_language_discount)
    return bar - BOUND_MARGIN


def join_bar(settings: ClusteringSettings, story: Story, at: float, language: str | None) -> float:
    """The score an article at ``at`` in ``language`` (a ``known_language`` key, computed
    once per article by the caller: this runs for every candidate story) needs to join
    ``story``.

    The bar rises linearly with the time since the story's last article, by
    ``story_time_penalty`` over the whole ``story_horizon_days``, so two
    look-alike events far apart in time split; it is lower by
    ``cross_language_discount`` for an article in a language the story has
    no article in yet (and none for an unknown language).
    """
    bar = settings.story_threshold
    if settings.story_time_penalty:
        gap = max(0.0, at - story.last_seen)
        horizon = max(settings.story_horizon_days * DAY, 1.0)
        bar += settings.story_time_penalty * min(1.0, gap / horizon)
    if settings.cross_language_discount and language is not None and story.new_language(language):
        bar -= settings.cross_language_discount
    return rounded(bar)
