"""Publishing from the edge processes (``watch``, ``poll-feeds``) with retries and backoff.

A Pub/Sub publish that fails (the service unavailable for a moment, a
deadline passed) is tried again after a wait that doubles up to a cap; one
that still fails after the last attempt raises ``PublishFailed``, and the
caller leaves what it was publishing unremembered so that its next pass
publishes it again: nothing is dropped and the process keeps running.

Why a small loop and not a library: google-api-core's ``Retry`` (installed
with Beam's gcp extra) sleeps with ``time.sleep`` and times its deadline with
``time.monotonic`` and takes neither as an argument, so a test of the backoff
would wait real seconds; tenacity, which takes a ``sleep``, is not one of our
declared dependencies. The waits have no jitter: one edge process publishes
to its topic, so there is no herd of clients to spread out, and fixed waits
make the behaviour repeatable.
"""

import dataclasses
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Up to ``attempts`` tries, waiting ``first_seconds`` × ``multiplier``ⁿ between them.

    Each wait is at most ``max_seconds``.
    """

    attempts: int = 5
    first_seconds: float = 1.0
    multiplier: float = 2.0
    max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.first_seconds < 0 or self.max_seconds < 0:
            raise ValueError("waits cannot be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def waits(self) -> list[float]:
        """The waits between the attempts, in order (one fewer than the attempts)."""
        return [
            min(self.first_seconds * self.multiplier**n, self.max_seconds)
            for n in range(self.attempts - 1)
        ]


class PublishFailed(Exception):
    """The last attempt failed too; ``error`` is its exception."""

    def __init__(self, attempts: int, error: Exception) -> None:
        super().__init__(f"not published after {attempts} attempt(s): {error!r}")
        self.attempts = attempts
        self.error = error


def publish_with_retry(
    publish: Callable[[bytes], None],
    data: bytes,
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> int:
    """Publishes ``data``, retrying on failure; returns the attempts it took.

    Raises ``PublishFailed`` when every attempt failed.
    """
    waits = backoff.waits()
    for attempt in range(1, backoff.attempts + 1):
        try:
            publish(data)
        # Any exception: ``publish`` is the client's boundary, and which types
        # a failure takes (google.api_core errors, a future's TimeoutError,
        # gRPC's, a socket's) is the client's business; each means "not
        # published", which is all the caller needs to know.
        except Exception as exc:
            if attempt == backoff.attempts:
                raise PublishFailed(attempt, exc) from exc
            wait = waits[attempt - 1]
            log(
                f"publish failed (attempt {attempt} of {backoff.attempts}): {exc!r}; "
                f"retrying in {wait:g} s"
            )
            sleep(wait)
        else:
            return attempt
    raise AssertionError("unreachable")  # the loop returns or raises
