"""The story tracker: every clustering decision, in one plain Python class.

Given embedded articles in event-time order, the tracker decides for each one:
is it a duplicate of an earlier article; does it join an active story or open
a new one; and does a new story belong to a thread, which raises an alert (a
story joined by its first article in a watched thread's language is asked
again, in that language: ``ThreadBook.relink``). It
knows nothing about Beam: the clustering stage, the evaluation command and the
unit tests all drive the same object, so a decision made in batch is the
decision made in streaming.

``StoryTracker`` composes small parts, each with one job: the duplicate index
(``duplicates``), the term statistics (``terms``), the story index
(``story_index``), the threads and their linking (``threads``), the records it
emits (``events``) and the snapshot codec (``snapshot``); ``model`` holds the
data they share.

Determinism: the same articles in the same (role, event time, id) order give
the same events. ``observe_all`` sorts its input into that order; similarity
ties are broken by the smaller story or thread id; ids are hashes of the ids
they derive from, never counters or clocks.
"""

import collections
import heapq
import math
from collections.abc import Iterable, Iterator

import numpy as np

from transforms.clustering import events
from transforms.clustering.bars import join_bar, lowest_bar
from transforms.clustering.centring import LanguageCentring
from transforms.clustering.duplicates import DuplicateIndex
from transforms.clustering.feedback import FeedbackBook
from transforms.clustering.model import (
    BOUND_MARGIN,
    DAY,
    Story,
    Thread,
    alert_id_for,
    bounded,
    known_language,
    order_key,
    rounded,
    story_id_for,
    unit,
)
from transforms.clustering.snapshot import STATE_VERSION, Snapshot, decode, encode
from transforms.clustering.story_index import StoryIndex
from transforms.clustering.terms import TermStatistics, cosine
from transforms.clustering.threads import ThreadBook
from transforms.clustering.verdicts import apply_verdicts
from transforms.core.feedback import FeedbackMark
from transforms.core.records import EmbeddedArticle, Event, StoryRecord
from transforms.core.settings import ClusteringSettings, ThreadSpec

__all__ = ["STATE_VERSION", "StoryTracker", "alert_id_for", "order_key", "story_id_for"]


class StoryTracker:
    """Online story and thread detection with bounded memory.

    Memory holds only what can still matter: active stories (closed after
    ``story_horizon_days`` without a new article), a bounded summary of each
    thread's recent stories, emergent threads up to their horizon and count
    cap, and the duplicate index over ``dedup_horizon_days``.
    """

    def __init__(
        self,
        settings: ClusteringSettings,
        threads: Iterable[ThreadSpec] = (),
        dim: int = 384,
        feedback: Iterable[FeedbackMark] = (),
        space: str | None = None,
    ) -> None:
        self.settings = settings
        self.dim = dim
        #: The embedding model of its vectors (``embedding_space``), where known.
        self.space = space
        self.clock: float | None = None
        self.stories: dict[str, Story] = {}
        self.index = StoryIndex(dim)
        self.book = ThreadBook(settings, dim, FeedbackBook(feedback))
        # (when a story closes unless it gets another article, its id): a heap,
        # so closing costs nothing per article while no story is due. Stale
        # entries (the story got an article since) are skipped when popped.
        self._closing: list[tuple[float, str]] = []
        self.ensure_threads(threads)
        self.duplicates = DuplicateIndex()
        self.terms = TermStatistics()
        self.centring = LanguageCentring(
            settings.language_centring_min_count,
            settings.language_centring_half_life_days,
            settings.language_centring_pooled_min_count,
        )

    @property
    def threads(self) -> dict[str, Thread]:
        return self.book.threads

    def ensure_threads(self, specs: Iterable[ThreadSpec]) -> None:
        """Adds watched threads from the configuration; the configuration wins.

        Called on a restored tracker too: a thread added to the watchlist since
        the snapshot starts being watched, and a changed title, threshold or
        required terms applies from now on. Prototypes come from the thread
        documents, which are fed again at every start.
        """
        self.book.ensure(specs)

    # ------------------------------------------------------------------ entry points

    def add_feedback(self, marks: Iterable[FeedbackMark]) -> list[FeedbackMark]:
        """Takes verdicts that came while running (a streaming step's marks).

        They apply from now on, to the stories already held too, exactly as a
        restart with them in the feedback file would apply them. Returns the
        marks that were new; one already held changes nothing.
        """
        new = self.book.feedback.add(marks)
        apply_verdicts(self.book, self.stories, new)
        return new

    def observe_all(self, articles: Iterable[EmbeddedArticle]) -> list[Event]:
        """Observes articles in tracker order, whatever order they were given in."""
        found: list[Event] = []
        for article in sorted(articles, key=order_key):
            found.extend(self.observe(article))
        return found

    def observe(self, article: EmbeddedArticle) -> list[Event]:
        """Observes one article; the caller guarantees non-decreasing event time."""
        if article.role != "article":
            self.book.add_document(article, unit(article.vector.astype(np.float64)))
            return []
        ts = article.timestamp
        if self.clock is not None and ts < self.clock:
            return self._observe_late(article)
        found: list[Event] = list(self.expire(ts))
        self.clock = ts
        duplicate = self._find_duplicate(article)
        if duplicate is not None:
            return [*found, duplicate]
        self.duplicates.remember(article)
        vector = self._vector(article)
        match = self._best_story(article, vector)
        self.terms.count(article)
        self._count_language(article)
        if match is not None:
            story = self.stories[match[0]]
            language = known_language(article.language)
            first_in_language = language is not None and story.new_language(language)
            self._join(story, article, vector)
            story.add_language(language)  # in-order articles only, as the name statistics
            relinked: list[Event] = []
            if first_in_language:  # scored again, in that language (``ThreadBook.relink``)
                relinked = self.book.relink(story, article, vector, self.stories, self.terms)
            # The assignment names the thread the story is on after its article.
            found.append(events.assignment(article, story, "joined", match[1]))
            return [*found, *relinked]
        story = self._open(article, vector)
        found.append(events.assignment(article, story, "opened", None))
        found.extend(self.book.link(story, article, vector, self.stories, self.index, self.terms))
        return found

    def expire(self, now: float) -> Iterator[Event]:
        """Closes stories and forgets threads and signatures that aged out by ``now``."""
        horizon = self.settings.story_horizon_days * DAY
        while self._closing and self._closing[0][0] < now:
            closed_at, story_id = heapq.heappop(self._closing)
            story = self.stories.get(story_id)
            if story is None or story.last_seen + horizon != closed_at:
                continue  # closed already, or it had an article since
            del self.stories[story_id]
            self.index.remove(story_id)
            self.book.story_closed(story)
            yield events.story_record(story, "closed", closed_at)
        self.book.expire(now)
        self.terms.expire(now, self.settings.idf_horizon_days * DAY)
        self.duplicates.expire(now, self.settings.dedup_horizon_days * DAY)

    def open_stories(self) -> list[StoryRecord]:
        """Records of the stories still open: what a bounded input ends with."""
        at = self.clock if self.clock is not None else 0.0
        return [events.story_record(self.stories[s], "open", at) for s in sorted(self.stories)]

    # ------------------------------------------------------------------ decisions

    def _due(self, story: Story) -> None:
        """Schedules the story's closing at its current last article + the horizon."""
        horizon = self.settings.story_horizon_days * DAY
        heapq.heappush(self._closing, (story.last_seen + horizon, story.id))

    def _vector(self, article: EmbeddedArticle) -> np.ndarray:
        """The unit vector every score uses: centred on its language (``language_centring``)."""
        vector = unit(article.vector.astype(np.float64))
        if not self.settings.language_centring:
            return vector
        return self.centring.centred(article.language, vector)

    def _count_language(self, article: EmbeddedArticle) -> None:
        """Counts an in-order article in its language's mean (late ones are not, as for terms)."""
        if self.settings.language_centring:
            vector = unit(article.vector.astype(np.float64))
            self.centring.add(article.language, vector, article.timestamp)

    def _find_duplicate(self, article: EmbeddedArticle) -> Event | None:
        found = self.duplicates.find(article, self.settings.near_duplicate_threshold)
        return None if found is None else events.duplicate(article, *found)

    def _best_story(self, article: EmbeddedArticle, vector: np.ndarray) -> tuple[str, float] | None:
        """The active story the article joins, with its score; None opens a new story.

        score = (1 - w) * dense + w * sparse, where dense is the cosine to the
        story's embedding centroid and sparse the TF-IDF cosine of salient
        terms (mostly names). Two events of one kind (two earthquakes) read
        alike but name different places and people: the sparse part keeps
        them apart. Since sparse <= 1, only stories with
        dense >= (threshold - w) / (1 - w) can reach the threshold, so the
        sparse part is computed for those few candidates only.
        """
        language = known_language(article.language)  # once, not per candidate
        lowest = lowest_bar(self.settings, language)
        weight = self.settings.sparse_weight
        floor = lowest if weight == 0 else (lowest - weight) / (1 - weight)
        best: tuple[str, float] | None = None
        idf: dict[str, float] = {}  # one logarithm per name for all candidates
        article_terms = self.terms.weights(dict(article.features.terms), idf) if weight else {}
        squares = [(t, w * w) for t, w in article_terms.items()]
        article_norm = math.sqrt(sum(w2 for _, w2 in squares))
        for story_id, dense in self.index.candidates(vector, floor):
            score = dense
            story = self.stories[story_id]
            needed = join_bar(self.settings, story, article.timestamp, language)
            if weight:
                # The name cosine is at most the share (by norm) of the article's
                # weight on names the story has at all (Cauchy-Schwarz over the
                # shared names). Most candidates fail even that bound: skip their
                # full TF-IDF, which costs as many logarithms as the story has names.
                shared = sum(w2 for t, w2 in squares if t in story.terms)
                bound = math.sqrt(shared) / article_norm if article_norm else 0.0
                if (1 - weight) * dense + weight * bound < needed - BOUND_MARGIN:
                    continue
                story_terms = self.terms.weights(story.terms, idf)
                score = rounded((1 - weight) * dense + weight * cosine(article_terms, story_terms))
            if score >= needed and (
                best is None or score > best[1] or (score == best[1] and story_id < best[0])
            ):
                best = (story_id, score)
        return best

    def _story_key(self, story: Story) -> np.ndarray:
        """What an article is compared with: the centroid direction, or the mean
        member vector (whose dot product is the mean similarity to the members:
        average linkage, which a story mixing two events cannot win with)."""
        if self.settings.linkage == "average":
            return np.asarray(story.vec_sum / story.size)
        return story.centroid()

    def _open(self, article: EmbeddedArticle, vector: np.ndarray) -> Story:
        story = Story(
            id=story_id_for(article.id),
            title=article.title,
            opened_at=article.timestamp,
            last_seen=article.timestamp,
            vec_sum=vector.copy(),
            size=1,
            article_ids=[article.id],
            terms=collections.Counter(dict(article.features.terms)),
        )
        story.add_language(known_language(article.language))
        self._restore_story(story)
        return story

    def _restore_story(self, story: Story) -> None:
        self.stories[story.id] = story
        self.index.put(story.id, self._story_key(story))
        self._due(story)

    def _join(self, story: Story, article: EmbeddedArticle, vector: np.ndarray) -> None:
        story.vec_sum = story.vec_sum + vector
        story.size += 1
        if article.timestamp > story.last_seen:
            story.last_seen = article.timestamp
            self._due(story)
        if len(story.article_ids) < 1000:
            story.article_ids.append(article.id)
        story.terms.update(dict(article.features.terms))
        story.terms = bounded(story.terms, self.settings.story_term_limit)
        self.index.put(story.id, self._story_key(story))
        if story.thread_id in self.threads:
            self.book.active(self.threads[story.thread_id], article.timestamp)

    def _observe_late(self, article: EmbeddedArticle) -> list[Event]:
        """An article older than the clock: it may join a story, never alert.

        Opening a story in the past would rewrite history that alerts were
        already emitted for, so a late article either joins its best active
        story or is dead-lettered with the reason.
        """
        assert self.clock is not None
        if self.duplicates.seen(article.id):
            # Seen before: a replay after a restart, or the same item sent twice.
            return [events.duplicate(article, article.id, "same_id", 1.0)]
        lateness = self.clock - article.timestamp
        allowed = self.settings.allowed_lateness_hours * 3600
        if lateness > allowed:
            return [
                events.dead_letter(
                    article,
                    "late",
                    f"{lateness / 3600:.1f} h behind the clustering clock, "
                    f"beyond the allowed lateness of {allowed / 3600:.1f} h",
                )
            ]
        duplicate = self._find_duplicate(article)
        if duplicate is not None:
            return [duplicate]
        vector = self._vector(article)
        match = self._best_story(article, vector)
        if match is None:
            return [
                events.dead_letter(
                    article,
                    "late_unmatched",
                    "late article that matches no active story; late articles never open stories",
                )
            ]
        self.duplicates.remember(article)
        story = self.stories[match[0]]
        self._join(story, article, vector)
        return [events.assignment(article, story, "joined", match[1], late=True)]

    # ------------------------------------------------------------------ snapshots

    def to_bytes(self) -> bytes:
        """A versioned, self-describing snapshot (``transforms.clustering.snapshot``)."""
        return encode(
            Snapshot(
                self.dim,
                self.clock,
                self.stories,
                self.threads,
                self.terms,
                self.duplicates,
                tuple(self.book.feedback.marks),
                centring=list(self.centring.entries()),
                space=self.space,
            )
        )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        settings: ClusteringSettings,
        threads: Iterable[ThreadSpec] = (),
        feedback: Iterable[FeedbackMark] = (),
    ) -> "StoryTracker":
        snapshot = decode(data)
        tracker = cls(
            settings, (), dim=snapshot.dim, feedback=snapshot.feedback, space=snapshot.space
        )
        tracker.clock = snapshot.clock
        for story in snapshot.stories.values():
            tracker._restore_story(story)
        tracker.book.restored(snapshot.threads.values())
        tracker.duplicates = snapshot.duplicates
        tracker.terms = snapshot.terms
        tracker.centring.restore(snapshot.centring)
        tracker.ensure_threads(threads)
        # Marks the snapshot holds were applied when they came; only new lines
        # of the feedback file apply now (to stories of earlier runs too).
        tracker.add_feedback(feedback)
        return tracker

    def known_documents(self, arriving: Iterable[EmbeddedArticle]) -> set[str]:
        """Ids of the thread documents known, or among ``arriving``."""
        known = {k for t in self.threads.values() for k in (*t.documents, *t.negatives)}
        known.update(a.id for a in arriving if a.role != "article")
        return known

    def stats(self) -> dict[str, int]:
        """Sizes of what the tracker holds: for benchmarks and state-size reports."""
        return {
            "active_stories": len(self.stories),
            "threads": len(self.threads),
            "emergent_threads": sum(t.kind == "emergent" for t in self.threads.values()),
            "dedup_entries": len(self.duplicates),
            "term_log_entries": len(self.terms.log),
            "vocabulary": len(self.terms.df),
        }
