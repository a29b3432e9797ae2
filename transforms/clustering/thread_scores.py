"""How well a new story fits a thread: its definition, its names and its remembered stories.

Pure functions of a thread and a story's vector (and names), so the linking
in ``threads`` only decides which thread wins and what follows from it.
"""

from collections.abc import Mapping

import numpy as np

from transforms.clustering.model import Story, Thread, ThreadStory, rounded
from transforms.clustering.terms import TermStatistics, cosine
from transforms.core.settings import ClusteringSettings

#: (score, matched_by, the nearest remembered story, its similarity).
Scored = tuple[float, str, ThreadStory | None, float | None]


class Names:
    """The name (TF-IDF) cosine of one article to threads' definitions, weights computed once."""

    def __init__(self, terms: TermStatistics, article_terms: Mapping[str, int]) -> None:
        self._terms = terms
        self._idf: dict[str, float] = {}
        self._article = terms.weights(article_terms, self._idf)

    def cosine(self, thread: Thread) -> float:
        return cosine(self._article, self._terms.weights(thread.definition_terms, self._idf))


def score_remembered(
    thread: Thread, vector: np.ndarray, exclude: str, stories: Mapping[str, Story]
) -> Scored:
    """(score, matched_by, nearest earlier story, its similarity) of a story."""
    nearest: ThreadStory | None = None
    nearest_score: float | None = None
    for remembered in thread.stories.values():
        if remembered.story_id == exclude:
            continue
        centroid = remembered.centroid
        if centroid is None:
            live = stories.get(remembered.story_id)
            if live is None:
                continue
            centroid = live.centroid()
        score = rounded(float(centroid @ vector))
        if nearest_score is None or score > nearest_score:
            nearest, nearest_score = remembered, score
    prototype = thread.prototype()
    description = rounded(float(prototype @ vector)) if prototype is not None else None
    if description is not None and (nearest_score is None or description >= nearest_score):
        return description, "description", nearest, nearest_score
    score = nearest_score if nearest_score is not None else -1.0
    return score, "story", nearest, nearest_score


def score_watched(
    settings: ClusteringSettings,
    thread: Thread,
    vector: np.ndarray,
    exclude: str,
    stories: Mapping[str, Story],
    names: Names,
) -> Scored | None:
    """A watched thread's score, judged against its own definition; None: refused.

    The definition (description, exemplars) scores the story, blended
    with the name cosine to the definition's own names. A remembered
    story of the thread may carry the match, but only when the story is
    near the definition itself (``thread_anchor``): otherwise one false
    positive would pull the next look-alike in, and the thread would
    drift (chaining). A story nearer one of the thread's negative
    examples than its definition (``contrast_margin``) is refused.
    """
    score, matched_by, nearest, nearest_score = score_remembered(thread, vector, exclude, stories)
    prototype = thread.prototype()
    if prototype is None:
        return score, matched_by, nearest, nearest_score
    definition = rounded(float(prototype @ vector))
    negative = thread.nearest_negative(vector)
    if negative is not None and negative > definition - settings.contrast_margin:
        return None
    weight = settings.thread_sparse_weight
    if weight and thread.definition_terms:
        blended = rounded((1 - weight) * definition + weight * names.cosine(thread))
    else:
        blended = definition
    carried = nearest_score is not None and definition >= settings.thread_anchor
    if carried and nearest_score is not None and nearest_score > blended:
        return nearest_score, "story", nearest, nearest_score
    return blended, "description", nearest, nearest_score
