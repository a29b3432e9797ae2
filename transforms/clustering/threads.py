"""Thread linking: which thread a new story belongs to, and the threads' memory.

A thread is watched (from ``threads.yaml``: a description, exemplars,
required terms; it never expires) or emergent (started by a story no
thread took; forgotten after ``thread_horizon_days`` without activity, the
oldest first past ``max_emergent_threads``). Each remembers its last
``thread_story_memory`` stories; a closed one's centroid is frozen into
one matrix (``remembered``) so that one product finds the threads near a
new story.
"""

import collections
from collections.abc import Iterable, Mapping

import numpy as np

from transforms.clustering import events
from transforms.clustering.feedback import FeedbackBook
from transforms.clustering.model import (
    BOUND_MARGIN,
    DAY,
    Story,
    Thread,
    ThreadStory,
    bounded,
    known_language,
    rounded,
    short_hash,
    utc,
)
from transforms.clustering.story_index import StoryIndex
from transforms.clustering.terms import TermStatistics
from transforms.clustering.thread_scores import Names, Scored, score_remembered, score_watched
from transforms.core.records import EmbeddedArticle, Event, ThreadRecord
from transforms.core.settings import ClusteringSettings, ThreadSpec


def description_id(thread_id: str) -> str:
    """Id of a watched thread's description document."""
    return f"thread:{thread_id}:description"


def not_about_id(thread_id: str, number: int) -> str:
    """Id of a watched thread's ``number``-th (from 1) not-about document."""
    return f"thread:{thread_id}:not_about:{number}"


def definition_ids(specs: Iterable[ThreadSpec]) -> frozenset[str]:
    """The documents that define the watchlist and always reach the tracker.

    Exemplar files are left out: one that fails extraction is dead-lettered
    and never comes.
    """
    ids = {description_id(s.id) for s in specs if s.description}
    ids |= {not_about_id(s.id, n) for s in specs for n in range(1, len(s.not_about) + 1)}
    return frozenset(ids)


def feedback_key(story_id: str) -> str:
    """Key of a story's vector among a thread's documents or negatives (from feedback)."""
    return f"feedback:{story_id}"


def row(thread_id: str, story_id: str) -> str:
    """Key of a (thread, remembered story) row in the remembered index."""
    return f"{thread_id}\n{story_id}"


class ThreadBook:
    """The threads, by id, and the index of the closed stories they remember."""

    def __init__(
        self, settings: ClusteringSettings, dim: int, feedback: FeedbackBook | None = None
    ) -> None:
        self.settings = settings
        #: The analyst's verdicts (``config/feedback.jsonl``).
        self.feedback = feedback if feedback is not None else FeedbackBook()
        self.threads: dict[str, Thread] = {}
        # No emergent thread expires before this time (a lower bound).
        self._expire_after = float("-inf")
        # Closed stories that threads remember, one row per (thread, story):
        # one product finds the threads a new story may belong to.
        self.remembered = StoryIndex(dim)
        #: Ids of the watched threads (from the configuration; never expire).
        self.watched: set[str] = set()

    def ensure(self, specs: Iterable[ThreadSpec]) -> None:
        """Adds watched threads from the configuration; the configuration wins."""
        for spec in specs:
            threshold = self.settings.thread_threshold if spec.threshold is None else spec.threshold
            required = tuple(frozenset(t.lower() for t in g) for g in spec.required_terms)
            existing = self.threads.get(spec.id)
            if existing is not None:
                existing.title, existing.threshold, existing.required = (
                    spec.title,
                    threshold,
                    required,
                )
                existing.kind = "watched"
                self.watched.add(spec.id)
                continue
            self.threads[spec.id] = Thread(
                id=spec.id,
                title=spec.title,
                kind="watched",
                threshold=threshold,
                required=required,
                documents={},
                terms=collections.Counter(),
                stories=collections.OrderedDict(),
                last_active=float("-inf"),
                created_at=float("-inf"),
            )
            self.watched.add(spec.id)

    def restored(self, threads: Iterable[Thread]) -> None:
        """Takes threads from a snapshot, and rebuilds what derives from them."""
        for thread in threads:
            self.threads[thread.id] = thread
        for thread in self.threads.values():
            if thread.kind == "watched":
                self.watched.add(thread.id)
            for story_id, remembered in thread.stories.items():
                if remembered.centroid is not None:
                    self.remembered.put(row(thread.id, story_id), remembered.centroid)

    def story_closed(self, story: Story) -> None:
        """Freezes a closing story's centroid in its thread's memory."""
        if story.thread_id in self.threads:
            remembered = self.threads[story.thread_id].stories.get(story.id)
            if remembered is not None:
                remembered.centroid = story.centroid()
                self.remembered.put(row(story.thread_id, story.id), remembered.centroid)

    def expire(self, now: float) -> None:
        """Forgets the emergent threads inactive for longer than the horizon."""
        if self._expire_after >= now:
            return
        thread_horizon = self.settings.thread_horizon_days * DAY
        for thread_id in sorted(self.threads):
            thread = self.threads[thread_id]
            if thread.kind == "emergent" and thread.last_active + thread_horizon < now:
                self.forget(thread_id)
        self._expire_after = min(
            (t.last_active + thread_horizon for t in self.threads.values() if t.kind == "emergent"),
            default=float("inf"),
        )

    def active(self, thread: Thread, at: float) -> None:
        thread.last_active = at
        if thread.kind == "emergent":
            expires = at + self.settings.thread_horizon_days * DAY
            self._expire_after = min(self._expire_after, expires)

    def forget(self, thread_id: str) -> None:
        thread = self.threads.pop(thread_id)
        for story_id in thread.stories:
            self.remembered.discard(row(thread_id, story_id))

    def add_document(self, article: EmbeddedArticle, vector: np.ndarray) -> None:
        """A thread's description, exemplar or negative example (ignored for an unknown thread)."""
        thread = self.threads.get(article.thread_id or "")
        if thread is None:
            return
        if article.role == "negative":
            thread.negatives[article.id] = vector
            return
        if article.id not in thread.documents:
            thread.terms.update(dict(article.features.terms))
            thread.definition_terms.update(dict(article.features.terms))
        thread.documents[article.id] = vector
        language = known_language(article.language)
        if language is not None:
            thread.document_languages[article.id] = language

    # ------------------------------------------------------------------ linking

    def link(
        self,
        story: Story,
        article: EmbeddedArticle,
        vector: np.ndarray,
        stories: Mapping[str, Story],
        index: StoryIndex,
        terms: TermStatistics,
    ) -> list[Event]:
        """Links a new story to its best thread: an alert, or a new emergent thread.

        A story on an emergent thread raises an alert only with
        ``emergent_alerts``; it joins the thread either way.
        """
        candidates = self._candidates(vector, stories, index)
        best = self._best(candidates, story, article, vector, stories, terms)
        if best is not None:
            return self._put_on(story, article, best)
        if not self.settings.emergent_threads or self.settings.max_emergent_threads == 0:
            return []
        return [self._start_emergent(story)]

    def relink(
        self,
        story: Story,
        article: EmbeddedArticle,
        vector: np.ndarray,
        stories: Mapping[str, Story],
        terms: TermStatistics,
    ) -> list[Event]:
        """Scores a story again when it takes its first article in a language a
        watched thread is defined in: an alert, with that article, or nothing.

        A story opened in Russian was scored on its Russian first article
        against an English definition, across languages; when an English
        article joins it, that article is scored against the thread in the
        thread's own language. Only watched threads defined in that language
        are tried, and only for a story on no watched thread yet and with no
        verdict on any (so it never alerted on one); a story that moves off an
        emergent thread leaves it (forgotten when no story is left on it).
        """
        language = known_language(article.language)
        if language is None or story.thread_id in self.watched or self.feedback.judged(story.id):
            # On a watched thread already, or judged by an analyst on one (so it
            # alerted once): its one alert, and the verdict, stand.
            return []
        candidates = [
            t
            for t in sorted(self.watched)
            if language in self.threads[t].document_languages.values()
        ]
        best = self._best(candidates, story, article, vector, stories, terms)
        if best is None:
            return []
        left = self.threads.get(story.thread_id or "")
        alerts = self._put_on(story, article, best)
        if left is not None:
            # Its memory may have let the story go already (``thread_story_memory``).
            left.stories.pop(story.id, None)
            self.remembered.discard(row(left.id, story.id))
            if not left.stories and not any(s.thread_id == left.id for s in stories.values()):
                self.forget(left.id)
        return alerts

    def _best(
        self,
        candidates: Iterable[str],
        story: Story,
        article: EmbeddedArticle,
        vector: np.ndarray,
        stories: Mapping[str, Story],
        terms: TermStatistics,
    ) -> tuple[Thread, Scored] | None:
        """The candidate thread the story scores highest on, at or above its bar.

        A watched thread that takes the story wins over every emergent one,
        whatever their scores: the two are on different scales (a watched
        thread scores against its definition, an emergent one against its
        stories), and an emergent thread that grew from look-alikes (another
        treaty, another visit) would otherwise take the very stories the
        analyst asked for.
        """
        best: tuple[Thread, Scored] | None = None
        names = Names(terms, dict(article.features.terms))
        for thread_id in candidates:
            thread = self.threads[thread_id]
            if not thread.accepts(article.features.watch_terms):
                continue
            if self.feedback.refused(thread_id, story.id):
                # Marked not relevant: never on this thread, and from now on a
                # negative example that its look-alikes are refused by.
                thread.negatives[feedback_key(story.id)] = vector
                continue
            if self.feedback.confirmed(thread_id, story.id):
                thread.documents[feedback_key(story.id)] = vector
            if thread.kind == "watched":
                scored = score_watched(self.settings, thread, vector, story.id, stories, names)
                if scored is None:
                    continue
                threshold = rounded(thread.threshold - self._language_discount(thread, story))
            else:
                scored = score_remembered(thread, vector, story.id, stories)
                threshold = self.settings.emergent_thread_threshold
            if scored[0] >= threshold and (best is None or _outranks(thread, scored, best)):
                best = (thread, scored)
        return best

    def _put_on(
        self, story: Story, article: EmbeddedArticle, best: tuple[Thread, Scored]
    ) -> list[Event]:
        """Attaches the story to the thread it matched: an alert, unless none is due."""
        thread, (score, matched_by, nearest, nearest_score) = best
        self._attach(story, thread)
        if thread.kind == "emergent" and not self.settings.emergent_alerts:
            return []
        if self.feedback.silenced(thread.id, story.id):
            return []
        return [events.alert(story, article, thread, score, matched_by, nearest, nearest_score)]

    def _language_discount(self, thread: Thread, story: Story) -> float:
        """How much lower a watched thread's bar is for a story in none of its
        definition's languages (``thread_cross_language_discount``)."""
        defined_in = set(thread.document_languages.values())
        if not defined_in or not story.languages or story.languages & defined_in:
            return 0.0
        return self.settings.thread_cross_language_discount

    def _candidates(
        self, vector: np.ndarray, stories: Mapping[str, Story], index: StoryIndex
    ) -> list[str]:
        """Threads whose score could reach their threshold, in id order.

        A thread's score is its best similarity over its prototype and the
        stories it remembers (``_score``). Rather than loop over every
        thread ever started, three products find the few that come near any
        threshold: remembered closed stories, open stories (their centroids,
        from the story index) and prototypes. The exact scores are then
        computed for those alone.
        """
        watched = [self.threads[t] for t in self.watched]
        thresholds = [self.settings.emergent_thread_threshold, *(t.threshold for t in watched)]
        floor = min(thresholds) - BOUND_MARGIN
        candidates: set[str] = set()
        for key, _ in self.remembered.candidates(vector, floor):
            candidates.add(key.split("\n", 1)[0])
        if index.ids:
            keys = index.rows()
            scores = keys @ vector.astype(np.float32)
            if self.settings.linkage != "centroid":  # rows are mean vectors: make them unit
                scores = scores / np.maximum(np.linalg.norm(keys, axis=1), 1e-12)
            for i in np.nonzero(scores >= floor)[0]:
                thread_id = stories[index.ids[i]].thread_id
                if thread_id is not None:
                    candidates.add(thread_id)
        candidates.update(t.id for t in watched if t.documents)  # the configured few
        return sorted(t for t in candidates if t in self.threads)

    def _attach(self, story: Story, thread: Thread) -> None:
        story.thread_id = thread.id
        thread.stories[story.id] = ThreadStory(story.id, story.title, story.opened_at, None)
        while len(thread.stories) > self.settings.thread_story_memory:
            forgotten, _ = thread.stories.popitem(last=False)
            self.remembered.discard(row(thread.id, forgotten))
        self.active(thread, story.last_seen)
        thread.terms.update(story.terms)
        thread.terms = bounded(thread.terms, self.settings.story_term_limit)

    def _start_emergent(self, story: Story) -> ThreadRecord:
        emergent = [t for t in self.threads.values() if t.kind == "emergent"]
        if len(emergent) >= self.settings.max_emergent_threads:
            oldest = min(emergent, key=lambda t: (t.last_active, t.id))
            self.forget(oldest.id)
        thread = Thread(
            id="t-" + short_hash(story.id)[:12],
            title=story.title,
            kind="emergent",
            threshold=self.settings.emergent_thread_threshold,
            required=(),
            documents={},
            terms=collections.Counter(),
            stories=collections.OrderedDict(),
            last_active=story.last_seen,
            created_at=story.opened_at,
        )
        self.threads[thread.id] = thread
        self._attach(story, thread)
        return ThreadRecord(thread.id, thread.title, "emergent", story.id, utc(story.opened_at))


def _outranks(thread: Thread, scored: Scored, best: tuple[Thread, Scored]) -> bool:
    """Whether ``thread`` at ``scored`` beats the best so far: watched first, then score."""
    watched, best_watched = thread.kind == "watched", best[0].kind == "watched"
    if watched != best_watched:
        return watched
    return scored[0] > best[1][0]
