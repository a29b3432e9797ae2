"""The tracker's duplicate index: same id, same text, or nearly the same text.

Exact hashes and MinHash LSH bands of the articles of the last
``dedup_horizon_days``, in processing (= event time) order so that ageing
pops from the front; plus every id ever seen (``SeenIds``), so a replay is
``same_id`` however old it is.
"""

import collections
from collections.abc import Iterable, Iterator
from typing import Any

from transforms.clustering.seen_ids import SeenIds
from transforms.core.records import EmbeddedArticle
from transforms.text import fingerprint


class DuplicateIndex:
    """Finds the earlier article a new one duplicates, and remembers new ones."""

    def __init__(self) -> None:
        self.log: collections.deque[tuple[float, str, str, tuple[str, ...]]] = collections.deque()
        self._by_id: dict[str, str] = {}
        #: Every id ever processed (never ages out): a replay is ``same_id`` however old.
        self._seen = SeenIds()
        self._by_hash: dict[str, str] = {}
        self._by_band: dict[str, list[str]] = collections.defaultdict(list)
        self._signatures: dict[str, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self.log)

    def seen(self, article_id: str) -> bool:
        return article_id in self._by_id or article_id in self._seen

    def find(
        self, article: EmbeddedArticle, near_threshold: float
    ) -> tuple[str, str, float] | None:
        """(original id, kind, similarity) of what the article duplicates, or None."""
        features = article.features
        if self.seen(article.id):
            return article.id, "same_id", 1.0
        original = self._by_hash.get(features.exact_hash)
        if original is not None:
            return original, "exact", 1.0
        best: tuple[float, str] | None = None
        for key in fingerprint.lsh_keys(features.minhash):
            for candidate in self._by_band.get(key, ()):
                score = fingerprint.jaccard_estimate(features.minhash, self._signatures[candidate])
                if best is None or score > best[0] or (score == best[0] and candidate < best[1]):
                    best = (score, candidate)
        if best is not None and best[0] >= near_threshold:
            return best[1], "near", best[0]
        return None

    def remember(self, article: EmbeddedArticle) -> None:
        self._seen.add(article.id)
        self._index(
            article.timestamp, article.id, article.features.exact_hash, article.features.minhash
        )

    def _index(self, ts: float, article_id: str, digest: str, signature: tuple[int, ...]) -> None:
        bands = tuple(fingerprint.lsh_keys(signature))
        self.log.append((ts, article_id, digest, bands))
        self._by_id[article_id] = article_id
        self._by_hash.setdefault(digest, article_id)
        for key in bands:
            self._by_band[key].append(article_id)
        self._signatures[article_id] = signature

    def expire(self, now: float, horizon: float) -> None:
        """Forgets the signatures older than ``horizon`` seconds before ``now`` (not the ids)."""
        while self.log and self.log[0][0] + horizon < now:
            _, article_id, digest, bands = self.log.popleft()
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

    # ------------------------------------------------------------------ snapshots

    def entries(self) -> Iterator[dict[str, Any]]:
        """The snapshot's ``dedup`` list, oldest first."""
        for ts, aid, digest, _ in self.log:
            yield {
                "ts": ts,
                "id": aid,
                "hash": digest,
                "minhash": list(self._signatures.get(aid, ())),
            }

    def encoded_seen(self) -> str:
        return self._seen.encode()

    @classmethod
    def restore(cls, entries: Iterable[dict[str, Any]], seen: str) -> "DuplicateIndex":
        index = cls()
        for d in entries:
            index._index(d["ts"], d["id"], d["hash"], tuple(d["minhash"]))
        index._seen = SeenIds.decode(seen)
        return index
