"""What the story tracker holds: stories, threads, and the small helpers its parts share.

Plain data and pure functions, no decisions: the tracker's parts (duplicate
index, term statistics, story index, thread book, snapshot codec) import
this module, never each other, so each can be read and tested alone.
"""

import collections
import dataclasses
import datetime as dt
import hashlib

import numpy as np

from transforms.core.records import EmbeddedArticle
from transforms.text.language import normalise_language

DAY = 86400.0
_ROLE_RANK = {"description": 0, "exemplar": 0, "negative": 0, "article": 1}
#: Scores are rounded before comparison and output so that the last bits of a
#: BLAS dot product (which differ between CPUs) cannot flip a decision.
DECIMALS = 6
#: Slack for bounds that skip exact scores: more than rounding and float error.
BOUND_MARGIN = 1e-4


def short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def story_id_for(first_article_id: str) -> str:
    return "s-" + short_hash(first_article_id)[:12]


def alert_id_for(thread_id: str, story_id: str) -> str:
    return short_hash(thread_id, story_id)[:20]


def order_key(article: EmbeddedArticle) -> tuple[int, int, str]:
    """The order the tracker must see articles in: thread definitions first."""
    micros = round(article.published.timestamp() * 1_000_000)
    return (_ROLE_RANK[article.role], micros, article.id)


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def rounded(value: float) -> float:
    return round(float(value), DECIMALS)


def bounded(terms: collections.Counter[str], limit: int) -> collections.Counter[str]:
    """The most frequent ``limit`` names once there are twice as many."""
    if len(terms) <= 2 * limit:
        return terms
    kept = sorted(terms.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return collections.Counter(dict(kept))


def known_language(language: str | None) -> str | None:
    """A stated or detected language as its primary subtag (``zh-yue``, ``zh`` → ``zh``;
    ``rus`` → ``ru``); None when unknown (``und``, empty, not a tag)."""
    key = normalise_language(language)
    return None if key in (None, "und", "mul", "zxx") else key


@dataclasses.dataclass
class Story:
    id: str
    title: str
    opened_at: float
    last_seen: float
    vec_sum: np.ndarray
    size: int
    article_ids: list[str]
    terms: collections.Counter[str]
    thread_id: str | None = None
    #: Languages of its articles (``known_language``); None when not known: a
    #: story restored from a snapshot written before they were kept, which
    #: never gets a cross-language discount or a second thread look.
    languages: set[str] | None = dataclasses.field(default_factory=set)

    def centroid(self) -> np.ndarray:
        return unit(self.vec_sum)

    def new_language(self, language: str) -> bool:
        """Whether an article in ``language`` would be the story's first in it
        (False for a story with no known language yet, or whose languages are
        not known: an older snapshot's)."""
        if not self.languages:
            return False
        return language not in self.languages

    def add_language(self, language: str | None) -> None:
        if language is not None and self.languages is not None:
            self.languages.add(language)


@dataclasses.dataclass
class ThreadStory:
    """What a thread remembers of one of its stories."""

    story_id: str
    title: str
    opened_at: float
    #: Frozen when the story closes; while it is open the live centroid is used.
    centroid: np.ndarray | None


@dataclasses.dataclass
class Thread:
    id: str
    title: str
    kind: str  # "watched" | "emergent"
    threshold: float
    required: tuple[frozenset[str], ...]
    #: Thread documents (description, exemplars) by id: feeding one again
    #: (at a restart) replaces it instead of counting it twice.
    documents: dict[str, np.ndarray]
    terms: collections.Counter[str]
    stories: collections.OrderedDict[str, ThreadStory]
    last_active: float
    created_at: float
    #: Negative examples (not-about descriptions, near-miss articles) by id.
    negatives: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: Names in the thread's own definition (description, exemplars) only:
    #: what its stories are scored against, so its remembered stories (and
    #: their false positives) never widen what it is about.
    definition_terms: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    #: The language of each definition document (description, exemplar) by
    #: id, where known: a story in none of them is a cross-language match.
    document_languages: dict[str, str] = dataclasses.field(default_factory=dict)

    def accepts(self, watch_terms: frozenset[str]) -> bool:
        return all(group & watch_terms for group in self.required)

    def prototype(self) -> np.ndarray | None:
        if not self.documents:
            return None
        return unit(np.sum([self.documents[k] for k in sorted(self.documents)], axis=0))

    def nearest_negative(self, vector: np.ndarray) -> float | None:
        """Similarity of ``vector`` to the nearest negative example, if any."""
        if not self.negatives:
            return None
        return max(rounded(float(self.negatives[k] @ vector)) for k in sorted(self.negatives))
