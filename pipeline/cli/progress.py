"""Progress of a long run, for a person at a terminal or for the logs.

``Progress`` is fed counts (articles read, embedded, clustered, and those that
ended as duplicates or dead letters) and told the time by an injected clock;
it decides when to write and what. On a terminal it redraws one line in place
every couple of seconds, with the rate and, when the input size is known, the
share done and an ETA. When the output is not a terminal (a log file, CI) it
writes a one-line ``key=value`` heartbeat every half minute instead, so logs
show the job is alive without filling up.

It writes only to the stream it is given (stderr in practice), never to the
run's outputs, and a call that does not write costs one clock reading and a
comparison, so it can be called per element. The rate is measured over the
last ``window`` seconds, so an ETA follows the current speed rather than the
average since the model was loading.
"""

import collections
import dataclasses
from collections.abc import Callable
from typing import TextIO

TERMINAL_SECONDS = 2.0
HEARTBEAT_SECONDS = 30.0
WINDOW_SECONDS = 30.0


@dataclasses.dataclass
class Counts:
    """Items so far at each stage; ``finished`` ones are done (clustered or dropped)."""

    read: int = 0
    embedded: int = 0
    clustered: int = 0
    #: Duplicates and dead letters: done without being clustered.
    dropped: int = 0

    @property
    def finished(self) -> int:
        return self.clustered + self.dropped


def duration(seconds: float) -> str:
    """``45s``, ``2m10s``, ``1h02m``: short enough for one terminal line."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Progress:
    """Writes a progress line (terminal) or a heartbeat (not a terminal), rate-limited."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        total: int | None = None,
        every: float | None = None,
        window: float = WINDOW_SECONDS,
        label: str = "threadwatch",
    ) -> None:
        if total is not None and total < 0:
            raise ValueError(f"total must be >= 0, not {total}")
        if every is not None and every <= 0:
            raise ValueError(f"every must be > 0 seconds, not {every}")
        self._stream = stream
        self._clock = clock
        self._total = total
        self._terminal = stream.isatty()
        self._every = every or (TERMINAL_SECONDS if self._terminal else HEARTBEAT_SECONDS)
        self._window = window
        self._label = label
        self._started = clock()
        # A heartbeat waits a full interval; a terminal shows the first line at once.
        self._last_write = self._started if not self._terminal else self._started - self._every
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._samples.append((self._started, 0))
        self._width = 0
        self.counts = Counts()

    def update(
        self,
        read: int | None = None,
        embedded: int | None = None,
        clustered: int | None = None,
        dropped: int | None = None,
    ) -> bool:
        """Sets the counts given (totals so far); writes if it is time. True if it wrote."""
        counts = self.counts
        if read is not None:
            counts.read = read
        if embedded is not None:
            counts.embedded = embedded
        if clustered is not None:
            counts.clustered = clustered
        if dropped is not None:
            counts.dropped = dropped
        now = self._clock()
        if now - self._last_write < self._every:
            return False
        self._write(now, final=False)
        return True

    def finish(self, failed: bool = False) -> None:
        """The last line: the terminal line is completed, the log gets a ``done`` heartbeat.

        After a failure (a refused start, a failed pipeline) there is no ``done``:
        a terminal line already drawn is only ended, so the error starts a line.
        """
        if not failed:
            self._write(self._clock(), final=True)
        elif self._terminal and self._width:
            self._stream.write("\n")
            self._stream.flush()

    def rate(self, now: float) -> float | None:
        """Finished items a second over the last ``window`` seconds (None before any time)."""
        first_time, first_done = self._samples[0]
        if now <= first_time:
            return None
        return (self.counts.finished - first_done) / (now - first_time)

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        if self._total is None or not rate or rate <= 0:
            return None
        return max(0, self._total - self.counts.finished) / rate

    def terminal_line(self, now: float) -> str:
        c, rate, eta = self.counts, self.rate(now), self.eta(now)
        parts = [
            f"read {c.read:,}",
            f"embedded {c.embedded:,}",
            f"clustered {c.clustered:,}",
        ]
        if c.dropped:
            parts.append(f"dropped {c.dropped:,}")
        parts.append(f"{rate:,.1f}/s" if rate is not None else "–/s")
        if self._total:
            parts.append(f"{100 * c.finished / self._total:.0f}% of {self._total:,}")
            parts.append(f"ETA {duration(eta)}" if eta is not None else "ETA –")
        parts.append(f"{duration(now - self._started)} elapsed")
        return f"{self._label}: " + " · ".join(parts)

    def heartbeat_line(self, now: float, final: bool = False) -> str:
        c, rate, eta = self.counts, self.rate(now), self.eta(now)
        fields = [
            f"read={c.read}",
            f"embedded={c.embedded}",
            f"clustered={c.clustered}",
            f"dropped={c.dropped}",
            f"rate={rate:.1f}/s" if rate is not None else "rate=-",
        ]
        if self._total is not None:
            fields.append(f"total={self._total}")
            fields.append(f"eta={round(eta)}s" if eta is not None else "eta=-")
        fields.append(f"elapsed={round(now - self._started)}s")
        return f"{self._label}: {'done' if final else 'progress'} " + " ".join(fields)

    def _write(self, now: float, final: bool) -> None:
        if self._terminal:
            line = self.terminal_line(now)
            # Spaces over what is left of a longer previous line, then back to its start.
            padded = line.ljust(self._width)
            self._width = len(line)
            self._stream.write("\r" + padded + ("\n" if final else ""))
        else:
            self._stream.write(self.heartbeat_line(now, final) + "\n")
        self._stream.flush()
        self._last_write = now
        self._samples.append((now, self.counts.finished))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()
