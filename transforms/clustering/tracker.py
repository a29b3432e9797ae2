"""The story tracker: every clustering decision, in one plain Python class.

Given embedded articles in event-time order, the tracker decides for each one:
is it a duplicate of an earlier article; does it join an active story or open
a new one; and does a new story belong to a thread, which raises an alert. It
knows nothing about Beam: the clustering stage, the evaluation command and the
unit tests all drive the same object, so a decision made in batch is the
decision made in streaming.

Determinism: the same articles in the same (role, event time, id) order give
the same events. ``observe_all`` sorts its input into that order; similarity
ties are broken by the smaller story or thread id; ids are hashes of the ids
they derive from, never counters or clocks.
"""

import base64
import collections
import dataclasses
import datetime as dt
import functools
import hashlib
import heapq
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from transforms.clustering.seen_ids import SeenIds
from transforms.core.records import (
    Alert,
    Assignment,
    DeadLetter,
    Duplicate,
    EmbeddedArticle,
    Event,
    StoryRecord,
    ThreadRecord,
)
from transforms.core.settings import ClusteringSettings, ThreadSpec
from transforms.text import fingerprint

STATE_VERSION = 2  # 2: every id ever seen (``seen``), for same_id at any age
DAY = 86400.0
_ROLE_RANK = {"description": 0, "exemplar": 0, "article": 1}
#: Scores are rounded before comparison and output so that the last bits of a
#: BLAS dot product (which differ between CPUs) cannot flip a decision.
_DECIMALS = 6
#: Slack for bounds that skip exact scores: more than rounding and float error.
_BOUND_MARGIN = 1e-4


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def story_id_for(first_article_id: str) -> str:
    return "s-" + _short_hash(first_article_id)[:12]


def alert_id_for(thread_id: str, story_id: str) -> str:
    return _short_hash(thread_id, story_id)[:20]


def order_key(article: EmbeddedArticle) -> tuple[int, int, str]:
    """The order the tracker must see articles in: thread definitions first."""
    micros = round(article.published.timestamp() * 1_000_000)
    return (_ROLE_RANK[article.role], micros, article.id)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _round(value: float) -> float:
    return round(float(value), _DECIMALS)


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(weight * large.get(term, 0.0) for term, weight in small.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


@functools.lru_cache(maxsize=4096)
def _tf(count: int) -> float:
    return 1.0 + math.log(count)


def _row(thread_id: str, story_id: str) -> str:
    """Key of a (thread, remembered story) row in the tracker's thread index."""
    return f"{thread_id}\n{story_id}"


@dataclasses.dataclass
class _Story:
    id: str
    title: str
    opened_at: float
    last_seen: float
    vec_sum: np.ndarray
    size: int
    article_ids: list[str]
    terms: collections.Counter[str]
    thread_id: str | None = None

    def centroid(self) -> np.ndarray:
        return _unit(self.vec_sum)


@dataclasses.dataclass
class _ThreadStory:
    """What a thread remembers of one of its stories."""

    story_id: str
    title: str
    opened_at: float
    #: Frozen when the story closes; while it is open the live centroid is used.
    centroid: np.ndarray | None


@dataclasses.dataclass
class _Thread:
    id: str
    title: str
    kind: str  # "watched" | "emergent"
    threshold: float
    required: tuple[frozenset[str], ...]
    #: Thread documents (description, exemplars) by id: feeding one again
    #: (at a restart) replaces it instead of counting it twice.
    documents: dict[str, np.ndarray]
    terms: collections.Counter[str]
    stories: collections.OrderedDict[str, _ThreadStory]
    last_active: float
    created_at: float

    def accepts(self, watch_terms: frozenset[str]) -> bool:
        return all(group & watch_terms for group in self.required)

    def prototype(self) -> np.ndarray | None:
        if not self.documents:
            return None
        return _unit(np.sum([self.documents[k] for k in sorted(self.documents)], axis=0))


class _StoryIndex:
    """Centroids of active stories in one matrix: one product scores them all."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.matrix = np.zeros((16, dim), dtype=np.float32)
        self.ids: list[str] = []
        self.slot: dict[str, int] = {}

    def put(self, story_id: str, centroid: np.ndarray) -> None:
        if story_id not in self.slot:
            if len(self.ids) == self.matrix.shape[0]:
                grown = np.zeros((self.matrix.shape[0] * 2, self.dim), dtype=np.float32)
                grown[: len(self.ids)] = self.matrix[: len(self.ids)]
                self.matrix = grown
            self.slot[story_id] = len(self.ids)
            self.ids.append(story_id)
        self.matrix[self.slot[story_id]] = centroid

    def discard(self, story_id: str) -> None:
        if story_id in self.slot:
            self.remove(story_id)

    def remove(self, story_id: str) -> None:
        index = self.slot.pop(story_id)
        last = len(self.ids) - 1
        if index != last:
            moved = self.ids[last]
            self.matrix[index] = self.matrix[last]
            self.ids[index] = moved
            self.slot[moved] = index
        self.ids.pop()

    def rows(self) -> np.ndarray:
        return self.matrix[: len(self.ids)]

    def candidates(self, vector: np.ndarray, floor: float) -> list[tuple[str, float]]:
        """Stories whose centroid similarity is at least ``floor``, with that similarity."""
        if not self.ids:
            return []
        scores = np.round(self.matrix[: len(self.ids)] @ vector.astype(np.float32), _DECIMALS)
        hits = np.nonzero(scores >= floor)[0]
        return [(self.ids[i], float(scores[i])) for i in hits]


class StoryTracker:
    """Online story and thread detection with bounded memory.

    Memory holds only what can still matter: active stories (closed after
    ``story_horizon_days`` without a new article), a bounded summary of each
    thread's recent stories, emergent threads up to their horizon and count
    cap, and the duplicate index over ``dedup_horizon_days``.
    """

    def __init__(
        self, settings: ClusteringSettings, threads: Iterable[ThreadSpec] = (), dim: int = 384
    ) -> None:
        self.settings = settings
        self.dim = dim
        self.clock: float | None = None
        self.stories: dict[str, _Story] = {}
        self.index = _StoryIndex(dim)
        self.threads: dict[str, _Thread] = {}
        # (when a story closes unless it gets another article, its id): a heap,
        # so closing costs nothing per article while no story is due. Stale
        # entries (the story got an article since) are skipped when popped.
        self._closing: list[tuple[float, str]] = []
        # No emergent thread expires before this time (a lower bound).
        self._threads_expire_after = float("-inf")
        # Closed stories that threads remember, one row per (thread, story):
        # one product finds the threads a new story may belong to.
        self._remembered = _StoryIndex(dim)
        #: Ids of the watched threads (from the configuration; never expire).
        self._watched: set[str] = set()
        self.ensure_threads(threads)
        # Duplicate index, in processing (= event time) order for cheap ageing.
        self._dedup_log: collections.deque[tuple[float, str, str, tuple[str, ...]]] = (
            collections.deque()
        )
        self._by_id: dict[str, str] = {}
        #: Every id ever processed (never ages out): a replay is ``same_id`` however old.
        self._seen = SeenIds()
        self._by_hash: dict[str, str] = {}
        self._by_band: dict[str, list[str]] = collections.defaultdict(list)
        self._signatures: dict[str, tuple[int, ...]] = {}
        # Document frequencies of salient terms over the last idf_horizon_days.
        self._term_log: collections.deque[tuple[float, tuple[str, ...]]] = collections.deque()
        self._df: collections.Counter[str] = collections.Counter()

    def ensure_threads(self, specs: Iterable[ThreadSpec]) -> None:
        """Adds watched threads from the configuration; the configuration wins.

        Called on a restored tracker too: a thread added to the watchlist since
        the snapshot starts being watched, and a changed title, threshold or
        required terms applies from now on. Prototypes come from the thread
        documents, which are fed again at every start.
        """
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
                self._watched.add(spec.id)
                continue
            self.threads[spec.id] = _Thread(
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
            self._watched.add(spec.id)

    # ------------------------------------------------------------------ entry points

    def observe_all(self, articles: Iterable[EmbeddedArticle]) -> list[Event]:
        """Observes articles in tracker order, whatever order they were given in."""
        events: list[Event] = []
        for article in sorted(articles, key=order_key):
            events.extend(self.observe(article))
        return events

    def observe(self, article: EmbeddedArticle) -> list[Event]:
        """Observes one article; the caller guarantees non-decreasing event time."""
        if article.role != "article":
            self._add_thread_document(article)
            return []
        ts = article.timestamp
        if self.clock is not None and ts < self.clock:
            return self._observe_late(article)
        events: list[Event] = list(self.expire(ts))
        self.clock = ts
        duplicate = self._find_duplicate(article)
        if duplicate is not None:
            return [*events, duplicate]
        self._remember(article)
        vector = _unit(article.vector.astype(np.float64))
        match = self._best_story(article, vector)
        self._count_terms(article)
        if match is not None:
            story = self.stories[match[0]]
            self._join(story, article, vector)
            events.append(self._assignment(article, story, "joined", match[1]))
            return events
        story = self._open(article, vector)
        events.append(self._assignment(article, story, "opened", None))
        events.extend(self._link(story, article, vector))
        return events

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
            if story.thread_id in self.threads:
                remembered = self.threads[story.thread_id].stories.get(story_id)
                if remembered is not None:
                    remembered.centroid = story.centroid()
                    self._remembered.put(_row(story.thread_id, story_id), remembered.centroid)
            yield self._story_record(story, "closed", closed_at)
        if self._threads_expire_after < now:
            thread_horizon = self.settings.thread_horizon_days * DAY
            for thread_id in sorted(self.threads):
                thread = self.threads[thread_id]
                if thread.kind == "emergent" and thread.last_active + thread_horizon < now:
                    self._forget_thread(thread_id)
            self._threads_expire_after = min(
                (
                    t.last_active + thread_horizon
                    for t in self.threads.values()
                    if t.kind == "emergent"
                ),
                default=float("inf"),
            )
        idf_horizon = self.settings.idf_horizon_days * DAY
        while self._term_log and self._term_log[0][0] + idf_horizon < now:
            _, terms = self._term_log.popleft()
            self._df.subtract(terms)
            for term in terms:
                if self._df[term] <= 0:
                    del self._df[term]
        dedup_horizon = self.settings.dedup_horizon_days * DAY
        while self._dedup_log and self._dedup_log[0][0] + dedup_horizon < now:
            _, article_id, digest, bands = self._dedup_log.popleft()
            self._by_id.pop(article_id, None)
            if self._by_hash.get(digest) == article_id:
                del self._by_hash[digest]
            for key in bands:
                members = self._by_band.get(key)
                if members is not None:
                    members.remove(article_id)
                    if not members:
                        del self._by_band[key]
            self._signatures.pop(article_id, None)

    def _due(self, story: _Story) -> None:
        """Schedules the story's closing at its current last article + the horizon."""
        horizon = self.settings.story_horizon_days * DAY
        heapq.heappush(self._closing, (story.last_seen + horizon, story.id))

    def _active(self, thread: _Thread, at: float) -> None:
        thread.last_active = at
        if thread.kind == "emergent":
            expires = at + self.settings.thread_horizon_days * DAY
            self._threads_expire_after = min(self._threads_expire_after, expires)

    def _bounded(self, terms: collections.Counter[str]) -> collections.Counter[str]:
        """The most frequent ``story_term_limit`` names once there are twice as many."""
        limit = self.settings.story_term_limit
        if len(terms) <= 2 * limit:
            return terms
        kept = sorted(terms.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return collections.Counter(dict(kept))

    def _forget_thread(self, thread_id: str) -> None:
        thread = self.threads.pop(thread_id)
        for story_id in thread.stories:
            self._remembered.discard(_row(thread_id, story_id))

    def open_stories(self) -> list[StoryRecord]:
        """Records of the stories still open: what a bounded input ends with."""
        at = self.clock if self.clock is not None else 0.0
        return [self._story_record(self.stories[sid], "open", at) for sid in sorted(self.stories)]

    # ------------------------------------------------------------------ decisions

    def _add_thread_document(self, article: EmbeddedArticle) -> None:
        thread = self.threads.get(article.thread_id or "")
        if thread is None:
            return
        if article.id not in thread.documents:
            thread.terms.update(dict(article.features.terms))
        thread.documents[article.id] = _unit(article.vector.astype(np.float64))

    def _find_duplicate(self, article: EmbeddedArticle) -> Duplicate | None:
        features = article.features
        if article.id in self._by_id or article.id in self._seen:
            return self._duplicate(article, article.id, "same_id", 1.0)
        original = self._by_hash.get(features.exact_hash)
        if original is not None:
            return self._duplicate(article, original, "exact", 1.0)
        best: tuple[float, str] | None = None
        for key in fingerprint.lsh_keys(features.minhash):
            for candidate in self._by_band.get(key, ()):
                score = fingerprint.jaccard_estimate(features.minhash, self._signatures[candidate])
                if best is None or score > best[0] or (score == best[0] and candidate < best[1]):
                    best = (score, candidate)
        if best is not None and best[0] >= self.settings.near_duplicate_threshold:
            return self._duplicate(article, best[1], "near", best[0])
        return None

    def _remember(self, article: EmbeddedArticle) -> None:
        bands = tuple(fingerprint.lsh_keys(article.features.minhash))
        self._dedup_log.append((article.timestamp, article.id, article.features.exact_hash, bands))
        self._by_id[article.id] = article.id
        self._seen.add(article.id)
        self._by_hash.setdefault(article.features.exact_hash, article.id)
        for key in bands:
            self._by_band[key].append(article.id)
        self._signatures[article.id] = article.features.minhash

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
        threshold = self.settings.story_threshold
        weight = self.settings.sparse_weight
        floor = threshold if weight == 0 else (threshold - weight) / (1 - weight)
        best: tuple[str, float] | None = None
        idf: dict[str, float] = {}  # one logarithm per name for all candidates
        article_terms = self._term_weights(dict(article.features.terms), idf) if weight else {}
        squares = [(t, w * w) for t, w in article_terms.items()]
        article_norm = math.sqrt(sum(w2 for _, w2 in squares))
        for story_id, dense in self.index.candidates(vector, floor):
            score = dense
            if weight:
                story = self.stories[story_id]
                # The name cosine is at most the share (by norm) of the article's
                # weight on names the story has at all (Cauchy-Schwarz over the
                # shared names). Most candidates fail even that bound: skip their
                # full TF-IDF, which costs as many logarithms as the story has names.
                shared = sum(w2 for t, w2 in squares if t in story.terms)
                bound = math.sqrt(shared) / article_norm if article_norm else 0.0
                if (1 - weight) * dense + weight * bound < threshold - _BOUND_MARGIN:
                    continue
                story_terms = self._term_weights(story.terms, idf)
                score = _round((1 - weight) * dense + weight * _cosine(article_terms, story_terms))
            if score >= threshold and (
                best is None or score > best[1] or (score == best[1] and story_id < best[0])
            ):
                best = (story_id, score)
        return best

    def _term_weights(
        self, counts: Mapping[str, int], idf: dict[str, float] | None = None
    ) -> dict[str, float]:
        """TF-IDF weights: (1 + log count) * (log((N + 1) / (df + 1)) + 1).

        ``idf`` caches the second factor across the calls of one decision
        (the document frequencies do not change within it).
        """
        documents = len(self._term_log) + 1
        cache = {} if idf is None else idf
        weights: dict[str, float] = {}
        for term, count in counts.items():
            if count <= 0:
                continue
            factor = cache.get(term)
            if factor is None:
                factor = cache[term] = math.log((documents + 1) / (self._df[term] + 1)) + 1
            weights[term] = _tf(count) * factor
        return weights

    def _count_terms(self, article: EmbeddedArticle) -> None:
        terms = tuple(sorted(t for t, _ in article.features.terms))
        self._term_log.append((article.timestamp, terms))
        self._df.update(terms)

    def _story_key(self, story: _Story) -> np.ndarray:
        """What an article is compared with: the centroid direction, or the mean
        member vector (whose dot product is the mean similarity to the members:
        average linkage, which a story mixing two events cannot win with)."""
        if self.settings.linkage == "average":
            return np.asarray(story.vec_sum / story.size)
        return story.centroid()

    def _open(self, article: EmbeddedArticle, vector: np.ndarray) -> _Story:
        story = _Story(
            id=story_id_for(article.id),
            title=article.title,
            opened_at=article.timestamp,
            last_seen=article.timestamp,
            vec_sum=vector.copy(),
            size=1,
            article_ids=[article.id],
            terms=collections.Counter(dict(article.features.terms)),
        )
        self.stories[story.id] = story
        self.index.put(story.id, self._story_key(story))
        self._due(story)
        return story

    def _join(self, story: _Story, article: EmbeddedArticle, vector: np.ndarray) -> None:
        story.vec_sum = story.vec_sum + vector
        story.size += 1
        if article.timestamp > story.last_seen:
            story.last_seen = article.timestamp
            self._due(story)
        if len(story.article_ids) < 1000:
            story.article_ids.append(article.id)
        story.terms.update(dict(article.features.terms))
        story.terms = self._bounded(story.terms)
        self.index.put(story.id, self._story_key(story))
        if story.thread_id in self.threads:
            self._active(self.threads[story.thread_id], article.timestamp)

    def _thread_score(
        self, thread: _Thread, vector: np.ndarray, exclude: str
    ) -> tuple[float, str, _ThreadStory | None, float | None]:
        """(score, matched_by, nearest earlier story, its similarity) of a story."""
        nearest: _ThreadStory | None = None
        nearest_score: float | None = None
        for remembered in thread.stories.values():
            if remembered.story_id == exclude:
                continue
            centroid = remembered.centroid
            if centroid is None:
                live = self.stories.get(remembered.story_id)
                if live is None:
                    continue
                centroid = live.centroid()
            score = _round(float(centroid @ vector))
            if nearest_score is None or score > nearest_score:
                nearest, nearest_score = remembered, score
        prototype = thread.prototype()
        description = _round(float(prototype @ vector)) if prototype is not None else None
        if description is not None and (nearest_score is None or description >= nearest_score):
            return description, "description", nearest, nearest_score
        score = nearest_score if nearest_score is not None else -1.0
        return score, "story", nearest, nearest_score

    def _link(self, story: _Story, article: EmbeddedArticle, vector: np.ndarray) -> list[Event]:
        """Links a new story to its best thread: an alert, or a new emergent thread."""
        best: tuple[float, str] | None = None
        details: dict[str, tuple[str, _ThreadStory | None, float | None]] = {}
        for thread_id in self._thread_candidates(vector):
            thread = self.threads[thread_id]
            if not thread.accepts(article.features.watch_terms):
                continue
            score, matched_by, nearest, nearest_score = self._thread_score(thread, vector, story.id)
            threshold = (
                thread.threshold
                if thread.kind == "watched"
                else self.settings.emergent_thread_threshold
            )
            if score < threshold:
                continue
            details[thread_id] = (matched_by, nearest, nearest_score)
            if best is None or score > best[0]:
                best = (score, thread_id)
        if best is not None:
            thread = self.threads[best[1]]
            matched_by, nearest, nearest_score = details[best[1]]
            self._attach(story, thread)
            alert = self._alert(story, article, thread, best[0], matched_by, nearest, nearest_score)
            return [alert]
        if not self.settings.emergent_threads or self.settings.max_emergent_threads == 0:
            return []
        return [self._start_emergent_thread(story)]

    def _thread_candidates(self, vector: np.ndarray) -> list[str]:
        """Threads whose score could reach their threshold, in id order.

        A thread's score is its best similarity over its prototype and the
        stories it remembers (``_thread_score``). Rather than loop over every
        thread ever started, three products find the few that come near any
        threshold: remembered closed stories (``_remembered``), open stories
        (their centroids, from the story index) and prototypes. The exact
        scores are then computed for those alone, as before.
        """
        watched = [self.threads[t] for t in self._watched]
        thresholds = [self.settings.emergent_thread_threshold, *(t.threshold for t in watched)]
        floor = min(thresholds) - _BOUND_MARGIN
        candidates: set[str] = set()
        for row, _ in self._remembered.candidates(vector, floor):
            candidates.add(row.split("\n", 1)[0])
        if self.index.ids:
            keys = self.index.rows()
            scores = keys @ vector.astype(np.float32)
            if self.settings.linkage != "centroid":  # rows are mean vectors: make them unit
                scores = scores / np.maximum(np.linalg.norm(keys, axis=1), 1e-12)
            for i in np.nonzero(scores >= floor)[0]:
                thread_id = self.stories[self.index.ids[i]].thread_id
                if thread_id is not None:
                    candidates.add(thread_id)
        candidates.update(t.id for t in watched if t.documents)  # the configured few
        return sorted(t for t in candidates if t in self.threads)

    def _attach(self, story: _Story, thread: _Thread) -> None:
        story.thread_id = thread.id
        thread.stories[story.id] = _ThreadStory(story.id, story.title, story.opened_at, None)
        while len(thread.stories) > self.settings.thread_story_memory:
            forgotten, _ = thread.stories.popitem(last=False)
            self._remembered.discard(_row(thread.id, forgotten))
        self._active(thread, story.last_seen)
        thread.terms.update(story.terms)
        thread.terms = self._bounded(thread.terms)

    def _start_emergent_thread(self, story: _Story) -> ThreadRecord:
        emergent = [t for t in self.threads.values() if t.kind == "emergent"]
        if len(emergent) >= self.settings.max_emergent_threads:
            oldest = min(emergent, key=lambda t: (t.last_active, t.id))
            self._forget_thread(oldest.id)
        thread = _Thread(
            id="t-" + _short_hash(story.id)[:12],
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
        return ThreadRecord(thread.id, thread.title, "emergent", story.id, _utc(story.opened_at))

    def _observe_late(self, article: EmbeddedArticle) -> list[Event]:
        """An article older than the clock: it may join a story, never alert.

        Opening a story in the past would rewrite history that alerts were
        already emitted for, so a late article either joins its best active
        story or is dead-lettered with the reason.
        """
        assert self.clock is not None
        if article.id in self._by_id or article.id in self._seen:
            # Seen before: a replay after a restart, or the same item sent twice.
            return [self._duplicate(article, article.id, "same_id", 1.0)]
        lateness = self.clock - article.timestamp
        allowed = self.settings.allowed_lateness_hours * 3600
        if lateness > allowed:
            return [
                self._dead_letter(
                    article,
                    "late",
                    f"{lateness / 3600:.1f} h behind the clustering clock, "
                    f"beyond the allowed lateness of {allowed / 3600:.1f} h",
                )
            ]
        duplicate = self._find_duplicate(article)
        if duplicate is not None:
            return [duplicate]
        vector = _unit(article.vector.astype(np.float64))
        match = self._best_story(article, vector)
        if match is None:
            return [
                self._dead_letter(
                    article,
                    "late_unmatched",
                    "late article that matches no active story; late articles never open stories",
                )
            ]
        self._remember(article)
        story = self.stories[match[0]]
        self._join(story, article, vector)
        return [self._assignment(article, story, "joined", match[1], late=True)]

    # ------------------------------------------------------------------ records

    def _assignment(
        self,
        article: EmbeddedArticle,
        story: _Story,
        action: str,
        similarity: float | None,
        late: bool = False,
    ) -> Assignment:
        return Assignment(
            article=article.ref(),
            story_id=story.id,
            action="opened" if action == "opened" else "joined",
            similarity=None if similarity is None else round(similarity, 4),
            thread_id=story.thread_id,
            late=late,
            event_time=article.published,
        )

    def _duplicate(
        self, article: EmbeddedArticle, original: str, kind: str, similarity: float
    ) -> Duplicate:
        return Duplicate(
            article=article.ref(),
            duplicate_of=original,
            kind="exact" if kind == "exact" else "near" if kind == "near" else "same_id",
            similarity=round(similarity, 4),
            event_time=article.published,
        )

    def _dead_letter(self, article: EmbeddedArticle, reason: str, detail: str) -> DeadLetter:
        return DeadLetter(
            item=article.id, uri=article.url, stage="cluster", reason=reason, detail=detail
        )

    def _alert(
        self,
        story: _Story,
        article: EmbeddedArticle,
        thread: _Thread,
        score: float,
        matched_by: str,
        nearest: _ThreadStory | None,
        nearest_score: float | None,
    ) -> Alert:
        article_terms = dict(article.features.terms)
        shared = sorted(
            (t for t in article_terms if t in thread.terms),
            key=lambda t: (-article_terms[t], t),
        )[:10]
        return Alert(
            alert_id=alert_id_for(thread.id, story.id),
            thread={"id": thread.id, "title": thread.title, "kind": thread.kind},
            story={
                "id": story.id,
                "opened_at": _utc(story.opened_at).isoformat().replace("+00:00", "Z"),
            },
            article=article.ref(),
            score=round(score, 4),
            matched_by="description" if matched_by == "description" else "story",
            evidence={
                "shared_terms": shared,
                "required_terms_found": sorted(
                    article.features.watch_terms & frozenset().union(*thread.required)
                )
                if thread.required
                else [],
                "nearest_story": None
                if nearest is None
                else {
                    "id": nearest.story_id,
                    "title": nearest.title,
                    "opened_at": _utc(nearest.opened_at).isoformat().replace("+00:00", "Z"),
                    "similarity": None if nearest_score is None else round(nearest_score, 4),
                },
            },
            event_time=article.published,
        )

    def _story_record(self, story: _Story, status: str, at: float) -> StoryRecord:
        return StoryRecord(
            story_id=story.id,
            title=story.title,
            status="closed" if status == "closed" else "open",
            thread_id=story.thread_id,
            opened_at=_utc(story.opened_at),
            last_seen=_utc(story.last_seen),
            size=story.size,
            article_ids=tuple(story.article_ids),
            top_terms=tuple(
                t for t, _ in sorted(story.terms.items(), key=lambda x: (-x[1], x[0]))[:10]
            ),
            event_time=_utc(at),
        )

    # ------------------------------------------------------------------ snapshots

    def to_bytes(self) -> bytes:
        """A versioned, self-describing snapshot (JSON; vectors as base64 float64)."""

        def vec(v: np.ndarray | None) -> str | None:
            return (
                None
                if v is None
                else base64.b64encode(np.asarray(v, dtype=np.float64).tobytes()).decode()
            )

        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "dim": self.dim,
            "clock": self.clock,
            "stories": [
                {
                    "id": s.id,
                    "title": s.title,
                    "opened_at": s.opened_at,
                    "last_seen": s.last_seen,
                    "vec_sum": vec(s.vec_sum),
                    "size": s.size,
                    "article_ids": s.article_ids,
                    "terms": dict(s.terms),
                    "thread_id": s.thread_id,
                }
                for s in sorted(self.stories.values(), key=lambda s: s.id)
            ],
            "threads": [
                {
                    "id": t.id,
                    "title": t.title,
                    "kind": t.kind,
                    "threshold": t.threshold,
                    "required": [sorted(g) for g in t.required],
                    "documents": {k: vec(v) for k, v in sorted(t.documents.items())},
                    "terms": dict(t.terms),
                    "stories": [
                        {
                            "story_id": r.story_id,
                            "title": r.title,
                            "opened_at": r.opened_at,
                            "centroid": vec(r.centroid),
                        }
                        for r in t.stories.values()
                    ],
                    "last_active": t.last_active,
                    "created_at": t.created_at,
                }
                for t in (self.threads[k] for k in sorted(self.threads))
            ],
            "terms": [{"ts": ts, "terms": list(terms)} for ts, terms in self._term_log],
            "dedup": [
                {
                    "ts": ts,
                    "id": aid,
                    "hash": digest,
                    "minhash": list(self._signatures.get(aid, ())),
                }
                for ts, aid, digest, _ in self._dedup_log
            ],
            "seen": self._seen.encode(),
        }
        return json.dumps(state, allow_nan=True).encode()

    @classmethod
    def from_bytes(
        cls, data: bytes, settings: ClusteringSettings, threads: Iterable[ThreadSpec] = ()
    ) -> "StoryTracker":
        state = json.loads(data)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported tracker state version {state.get('version')!r}")

        def vec(text: str | None) -> np.ndarray | None:
            return (
                None
                if text is None
                else np.frombuffer(base64.b64decode(text), dtype=np.float64).copy()
            )

        tracker = cls(settings, (), dim=int(state["dim"]))
        tracker.clock = state["clock"]
        for s in state["stories"]:
            vec_sum = vec(s["vec_sum"])
            assert vec_sum is not None
            story = _Story(
                s["id"],
                s["title"],
                s["opened_at"],
                s["last_seen"],
                vec_sum,
                s["size"],
                list(s["article_ids"]),
                collections.Counter(s["terms"]),
                s["thread_id"],
            )
            tracker.stories[story.id] = story
            tracker.index.put(story.id, tracker._story_key(story))
            tracker._due(story)
        for t in state["threads"]:
            tracker.threads[t["id"]] = _Thread(
                id=t["id"],
                title=t["title"],
                kind=t["kind"],
                threshold=t["threshold"],
                required=tuple(frozenset(g) for g in t["required"]),
                documents={
                    k: v for k, text in t["documents"].items() if (v := vec(text)) is not None
                },
                terms=collections.Counter(t["terms"]),
                stories=collections.OrderedDict(
                    (
                        r["story_id"],
                        _ThreadStory(r["story_id"], r["title"], r["opened_at"], vec(r["centroid"])),
                    )
                    for r in t["stories"]
                ),
                last_active=t["last_active"],
                created_at=t["created_at"],
            )
        for thread in tracker.threads.values():
            if thread.kind == "watched":
                tracker._watched.add(thread.id)
            for story_id, remembered in thread.stories.items():
                if remembered.centroid is not None:
                    tracker._remembered.put(_row(thread.id, story_id), remembered.centroid)
        for d in state["dedup"]:
            signature = tuple(d["minhash"])
            bands = tuple(fingerprint.lsh_keys(signature))
            tracker._dedup_log.append((d["ts"], d["id"], d["hash"], bands))
            tracker._by_id[d["id"]] = d["id"]
            tracker._by_hash.setdefault(d["hash"], d["id"])
            for key in bands:
                tracker._by_band[key].append(d["id"])
            tracker._signatures[d["id"]] = signature
        tracker._seen = SeenIds.decode(state["seen"])
        for entry in state["terms"]:
            terms = tuple(entry["terms"])
            tracker._term_log.append((entry["ts"], terms))
            tracker._df.update(terms)
        tracker.ensure_threads(threads)
        return tracker

    def stats(self) -> dict[str, int]:
        """Sizes of what the tracker holds: for benchmarks and state-size reports."""
        return {
            "active_stories": len(self.stories),
            "threads": len(self.threads),
            "emergent_threads": sum(t.kind == "emergent" for t in self.threads.values()),
            "dedup_entries": len(self._dedup_log),
            "term_log_entries": len(self._term_log),
            "vocabulary": len(self._df),
        }
