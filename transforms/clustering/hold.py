"""Streaming: articles wait for the watchlist's documents, which share their input.

The thread documents (descriptions, exemplars, not-about examples) can reach
the clustering stage after the first articles; no article is decided before
its threads are defined. The articles wait in the buffer, and the next
element to arrive (the missing documents among them) sets the timer again.
(Not a timer a moment later: with the watermark far past the articles it
would fire at once, again and again, and starve the input the documents
come on.) A document that never comes (dead-lettered on its way) holds them
no longer than ``wait_seconds`` of processing time: the first firing after
that (the next element to arrive sets one) decides them, logged and counted
(``definition_timeouts``).
"""

import logging
from collections.abc import Callable, Set

from transforms.core.metrics import counter

#: Processing-time seconds articles wait for missing thread documents.
DEFINITION_WAIT_SECONDS = 60.0


class DefinitionHold:
    """Decides, at each firing, whether the due articles wait; one per worker."""

    def __init__(self, expected: Set[str], wait_seconds: float, clock: Callable[[], float]) -> None:
        self._expected = frozenset(expected)
        self._wait = wait_seconds
        self._clock = clock
        self._since: float | None = None
        self._timeouts = counter("definition_timeouts")

    def waits(self, known: Set[str]) -> bool:
        """True while documents of ``expected`` are not ``known``, up to the wait."""
        missing = self._expected - known
        if not missing:
            self._since = None
            return False
        now = self._clock()
        if self._since is None:
            self._since = now
        if now - self._since < self._wait:
            return True
        self._timeouts.inc()
        logging.warning(
            "deciding articles without thread documents that never came: %s",
            ", ".join(sorted(missing)),
        )
        return False
