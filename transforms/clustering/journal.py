"""What the clustering stage keeps in Beam state between firings, as bytes.

The journal bags hold each step's items since the last snapshot, tagged
with the step (the state version) they were decided in: replaying the
steps in order over the snapshot, each step's verdicts before its
articles, rebuilds the tracker exactly. ``TrackerCache`` is the worker's
tracker between firings, valid only for the state version it matches.
"""

import datetime as dt
import struct
from collections.abc import Iterable

from transforms.clustering.tracker import StoryTracker
from transforms.core.coders import EmbeddedArticleCoder, decode_mark, encode_mark
from transforms.core.feedback import FeedbackMark
from transforms.core.records import EmbeddedArticle

_VERSION = struct.Struct(">Q")
_CODER = EmbeddedArticleCoder()


class TrackerCache:
    """The worker's tracker between firings, valid only for the state version it matches."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.tracker: StoryTracker | None = None

    def get(self, version: int | None) -> StoryTracker | None:
        if version is None or version != self.version:
            return None
        return self.tracker

    def put(self, version: int, tracker: StoryTracker) -> None:
        self.version, self.tracker = version, tracker

    def invalidate(self) -> None:
        """Called before the tracker changes: a failure mid-step leaves no stale entry."""
        self.version, self.tracker = None, None


def pack_article(version: int, article: EmbeddedArticle) -> bytes:
    return _VERSION.pack(version) + _CODER.encode(article)


def pack_mark(version: int, mark: FeedbackMark) -> bytes:
    return _VERSION.pack(version) + encode_mark(mark)


def replay(tracker: StoryTracker, articles: Iterable[bytes], marks: Iterable[bytes]) -> None:
    """Replays journaled steps in order: each step's verdicts, then its articles."""
    steps: dict[int, tuple[list[FeedbackMark], list[EmbeddedArticle]]] = {}
    for entry in marks:
        (step,) = _VERSION.unpack_from(entry)
        steps.setdefault(step, ([], []))[0].append(decode_mark(entry[_VERSION.size :]))
    for entry in articles:
        (step,) = _VERSION.unpack_from(entry)
        steps.setdefault(step, ([], []))[1].append(_CODER.decode(entry[_VERSION.size :]))
    for step in sorted(steps):
        step_marks, step_articles = steps[step]
        tracker.add_feedback(sorted(step_marks, key=mark_order))
        tracker.observe_all(step_articles)


def mark_order(mark: FeedbackMark) -> tuple[float, bytes]:
    """The order a step applies the verdicts that came in it: by when they were given
    (``at``, in UTC; none or unreadable first), then by content: later wins, and the
    same verdicts give the same order however the bag returns them."""
    try:
        at = dt.datetime.fromisoformat(mark.at)
    except ValueError:
        return (float("-inf"), encode_mark(mark))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return (at.timestamp(), encode_mark(mark))
