"""Document frequencies of salient terms over the last ``idf_horizon_days``: TF-IDF.

The sparse half of the story score: two events of one kind read alike, but
name different places and people, and those names are rare in the recent
news. Every article's term set is logged with its time, so ageing pops
from the front.
"""

import collections
import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from transforms.core.records import EmbeddedArticle


@functools.lru_cache(maxsize=4096)
def _tf(count: int) -> float:
    return 1.0 + math.log(count)


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(weight * large.get(term, 0.0) for term, weight in small.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


class TermStatistics:
    """Document frequencies over a sliding window of articles."""

    def __init__(self) -> None:
        self.log: collections.deque[tuple[float, tuple[str, ...]]] = collections.deque()
        self.df: collections.Counter[str] = collections.Counter()

    def count(self, article: EmbeddedArticle) -> None:
        self._add(article.timestamp, tuple(sorted(t for t, _ in article.features.terms)))

    def _add(self, ts: float, terms: tuple[str, ...]) -> None:
        self.log.append((ts, terms))
        self.df.update(terms)

    def expire(self, now: float, horizon: float) -> None:
        while self.log and self.log[0][0] + horizon < now:
            _, terms = self.log.popleft()
            self.df.subtract(terms)
            for term in terms:
                if self.df[term] <= 0:
                    del self.df[term]

    def weights(
        self, counts: Mapping[str, int], idf: dict[str, float] | None = None
    ) -> dict[str, float]:
        """TF-IDF weights: (1 + log count) * (log((N + 1) / (df + 1)) + 1).

        ``idf`` caches the second factor across the calls of one decision
        (the document frequencies do not change within it).
        """
        documents = len(self.log) + 1
        cache = {} if idf is None else idf
        weights: dict[str, float] = {}
        for term, count in counts.items():
            if count <= 0:
                continue
            factor = cache.get(term)
            if factor is None:
                factor = cache[term] = math.log((documents + 1) / (self.df[term] + 1)) + 1
            weights[term] = _tf(count) * factor
        return weights

    def entries(self) -> Iterator[dict[str, Any]]:
        """The snapshot's ``terms`` list, oldest first."""
        for ts, terms in self.log:
            yield {"ts": ts, "terms": list(terms)}

    @classmethod
    def restore(cls, entries: Iterable[dict[str, Any]]) -> "TermStatistics":
        stats = cls()
        for entry in entries:
            stats._add(entry["ts"], tuple(entry["terms"]))
        return stats
