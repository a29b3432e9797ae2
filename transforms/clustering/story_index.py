"""Vectors of many stories in one matrix: one product scores them all.

The tracker keeps two: the keys of the active stories, and the frozen
centroids of the closed stories that threads remember (one row per
thread and story).
"""

import numpy as np

from transforms.clustering.model import DECIMALS


class StoryIndex:
    """Rows of unit (or mean) vectors by id; removing a row moves the last into its slot."""

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
        scores = np.round(self.matrix[: len(self.ids)] @ vector.astype(np.float32), DECIMALS)
        hits = np.nonzero(scores >= floor)[0]
        return [(self.ids[i], float(scores[i])) for i in hits]
