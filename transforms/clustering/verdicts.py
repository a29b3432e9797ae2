"""Verdicts applied to what the tracker already holds: stories decided before the mark came.

A story marked not relevant leaves its thread's memory and becomes one of
the thread's negative examples; one marked relevant becomes a positive
example. A verdict on a story not seen yet applies when it opens
(``ThreadBook.link``); a story with a verdict never gets a second look in
another language (``ThreadBook.relink``). Each mark is applied once, when it reaches the
tracker (at a start, from the file, or in a streaming step), so a tracker
that ran on and one rebuilt from its snapshot hold the same examples.
"""

from collections.abc import Iterable, Mapping

import numpy as np

from transforms.clustering.model import Story
from transforms.clustering.threads import ThreadBook, feedback_key, row
from transforms.core.feedback import FeedbackMark


def apply_verdicts(
    book: ThreadBook, stories: Mapping[str, Story], marks: Iterable[FeedbackMark]
) -> None:
    """Applies the current verdict on each (thread, story) that ``marks`` name."""
    for thread_id, story_id, verdict in book.feedback.verdicts(marks):
        thread = book.threads.get(thread_id)
        if thread is None:
            continue
        key = feedback_key(story_id)
        live = stories.get(story_id)
        remembered = thread.stories.get(story_id)
        if live is not None:
            centroid: np.ndarray | None = live.centroid()
        else:
            centroid = remembered.centroid if remembered is not None else None
        if centroid is None:
            continue
        if verdict == "relevant":
            thread.negatives.pop(key, None)  # a later verdict undoes an earlier one
            thread.documents[key] = centroid
            continue
        thread.documents.pop(key, None)
        thread.negatives[key] = centroid
        if remembered is not None:
            del thread.stories[story_id]
            book.remembered.discard(row(thread_id, story_id))
        if live is not None and live.thread_id == thread_id:
            live.thread_id = None
