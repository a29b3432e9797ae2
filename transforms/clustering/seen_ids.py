"""Every article id the tracker has ever processed, compactly, for ``same_id`` at any age.

The duplicate index forgets articles after ``dedup_horizon_days`` (its
near-duplicate signatures are what costs memory), but a restart or a
re-sent item must be recognised however old it is: otherwise a replayed
article older than the clustering clock is dead-lettered as ``late``, or a
younger one is processed twice. Ids are kept as 64-bit BLAKE2b digests in a
sorted numpy array (8 bytes an id: 8 MB per million articles) plus a small
set of recent ones merged in batches, so membership costs one binary search.
A false match needs two ids with the same 64-bit digest: about one in 10^7
over a billion articles.
"""

import base64
import hashlib

import numpy as np

_MERGE_EVERY = 4096


def _digest(article_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(article_id.encode(), digest_size=8).digest(), "big")


class SeenIds:
    """A grow-only set of article ids with a compact, order-independent encoding."""

    def __init__(self) -> None:
        self._sorted = np.zeros(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def __len__(self) -> int:
        self._merge()
        return int(self._sorted.size)

    def __contains__(self, article_id: object) -> bool:
        if not isinstance(article_id, str):
            return False
        key = _digest(article_id)
        if key in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, np.uint64(key)))
        return at < self._sorted.size and int(self._sorted[at]) == key

    def add(self, article_id: str) -> None:
        self._recent.add(_digest(article_id))
        if len(self._recent) >= _MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if self._recent:
            fresh = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            self._sorted = np.union1d(self._sorted, fresh)
            self._recent.clear()

    def encode(self) -> str:
        """Base64 of the sorted digests: the same set always gives the same text."""
        self._merge()
        return base64.b64encode(self._sorted.astype(">u8").tobytes()).decode()

    @classmethod
    def decode(cls, text: str) -> "SeenIds":
        seen = cls()
        raw = base64.b64decode(text.encode(), validate=True)
        if len(raw) % 8:
            raise ValueError("seen ids: length is not a multiple of 8 bytes")
        values = np.frombuffer(raw, dtype=">u8").astype(np.uint64)
        if values.size > 1 and not bool(np.all(values[1:] > values[:-1])):
            raise ValueError("seen ids: digests are not strictly increasing")
        seen._sorted = values
        return seen
