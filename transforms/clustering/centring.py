"""Per-language centring: each article's vector minus the mean of its language's earlier ones.

A multilingual encoder places every text of one language near a common
offset: two unrelated Russian blurbs can be closer than a Russian and an
English blurb on one event. Subtracting from each article's (unit) vector the
running mean of the earlier articles of its language removes that offset,
and what is left is what sets the article apart from the rest of its
language's news: its event.

The running mean depends on the order articles come in, so it lives in the
tracker, which sees them in event-time order (never in the embedding stage,
whose batches come in any order), and its sums are in the tracker's
snapshot. A language's first articles have a noisy mean: centring applies
only once ``min_count`` earlier articles are known. With a half-life (event
time), older articles weigh less, so the mean follows what the language's
news is about now.

With ``pooled_min_count``, a language not yet counted ``min_count`` times is
centred on the mean of *all* earlier articles, every language together, once
those number ``pooled_min_count``. It removes the model's shared direction
and what the stream's news has in common, not the language's own offset;
without it such an article stays uncentred, and with a model whose cosines
sit high (e5: unrelated blurbs near 0.7) it clears a bar chosen for centred
vectors and joins whatever is near. A stream of many languages with a few articles each
is exactly that case. The pooled mean needs many more articles than one
language's: in a small stream on one topic (the five seeds) the mean of all
articles *is* that topic, and taking it off an article in another language
takes off what it shares with the topic's story and thread.

Thread documents (descriptions, exemplars, not-about) are not centred: they
come before any article (and again at every restart), when the means are
empty or a restored state's, so centring them at arrival would make a
thread's definition depend on when the pipeline last started.
"""

import base64
import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from transforms.clustering.model import unit


def language_key(language: str) -> str:
    """The primary subtag, lower-cased: ``zh-yue`` and ``zh`` share one mean."""
    return language.split("-", 1)[0].split("_", 1)[0].strip().lower()


@dataclasses.dataclass
class _Mean:
    """One language's (decayed) sum of unit vectors."""

    total: np.ndarray
    weight: float  # the decayed count: the sum's divisor
    count: int  # articles ever added: what ``min_count`` is compared with
    at: float  # event time of the last article added


class LanguageCentring:
    """Running per-language means of article vectors, and centring with them."""

    def __init__(
        self, min_count: int = 1, half_life_days: float = 0.0, pooled_min_count: int = 0
    ) -> None:
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1 (got {min_count})")
        if pooled_min_count < 0:
            raise ValueError(f"pooled_min_count must be at least 0 (got {pooled_min_count})")
        if not half_life_days >= 0 or math.isinf(half_life_days):
            raise ValueError(f"half_life_days must be finite and >= 0 (got {half_life_days})")
        self.min_count = min_count
        self.half_life = half_life_days * 86400.0
        self.pooled_min_count = pooled_min_count  # 0: no pooled mean
        self._means: dict[str, _Mean] = {}

    def __len__(self) -> int:
        return len(self._means)

    def centred(self, language: str, vector: np.ndarray) -> np.ndarray:
        """``vector`` minus its language's mean, made unit (or the pooled mean, or unchanged).

        The mean is that of the articles added so far, never ``vector``'s own.
        Before its language counts ``min_count``, the mean of all languages'
        articles stands in for it once they count ``pooled_min_count`` (not
        0). A vector equal to the mean (nothing left) is returned as it was.
        """
        mean = self._means.get(language_key(language))
        if mean is not None and mean.count >= self.min_count and mean.weight > 0:
            centre = mean.total / mean.weight
        elif self.pooled_min_count and (pooled := self._pooled()) is not None:
            centre = pooled
        else:
            return vector
        rest = vector - centre
        if float(np.linalg.norm(rest)) <= 1e-9:
            return vector
        return unit(rest)

    def add(self, language: str, vector: np.ndarray, at: float) -> None:
        """Counts an article (its uncentred unit vector) in its language's mean."""
        key = language_key(language)
        mean = self._means.get(key)
        if mean is None:
            self._means[key] = _Mean(np.array(vector, dtype=np.float64), 1.0, 1, at)
            return
        factor = self._decay(at - mean.at)
        mean.total = mean.total * factor + vector
        mean.weight = mean.weight * factor + 1.0
        mean.count += 1
        mean.at = max(mean.at, at)

    def _pooled(self) -> np.ndarray | None:
        """The mean of every language's articles, each sum decayed to the latest time.

        Worked out from the per-language sums at each call (a few dozen
        languages): the snapshot holds nothing more, and a restored tracker
        centres as the one that was stopped. Languages are summed in sorted
        order so that the float sum, and every score after it, is the same
        whatever order the languages first came in.
        """
        if sum(m.count for m in self._means.values()) < self.pooled_min_count:
            return None
        latest = max(m.at for m in self._means.values())
        total = np.zeros_like(next(iter(self._means.values())).total)
        weight = 0.0
        for key in sorted(self._means):
            mean = self._means[key]
            factor = self._decay(latest - mean.at)
            total = total + mean.total * factor
            weight += mean.weight * factor
        return None if weight <= 0 else np.asarray(total / weight)

    def _decay(self, elapsed: float) -> float:
        # A late article (elapsed < 0) counts as if it came at the last time.
        if not self.half_life or elapsed <= 0:
            return 1.0
        return float(0.5 ** (elapsed / self.half_life))

    # ------------------------------------------------------------------ snapshots

    def entries(self) -> Iterator[dict[str, Any]]:
        """The snapshot's ``centring`` list, by language."""
        for key in sorted(self._means):
            mean = self._means[key]
            yield {
                "language": key,
                "sum": base64.b64encode(mean.total.astype(np.float64).tobytes()).decode(),
                "weight": mean.weight,
                "count": mean.count,
                "at": mean.at,
            }

    def restore(self, entries: Iterable[dict[str, Any]]) -> None:
        """Takes the sums of a snapshot's ``centring`` list (replacing any held)."""
        self._means = {}
        for entry in entries:
            total = np.frombuffer(base64.b64decode(entry["sum"]), dtype=np.float64).copy()
            self._means[entry["language"]] = _Mean(
                total, float(entry["weight"]), int(entry["count"]), float(entry["at"])
            )
