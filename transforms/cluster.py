"""``ClusterStories``: the one stateful stage, feeding the story tracker in event-time order.

Every embedded article is keyed to one shard and buffered in ``BagState``. An
event-time timer fires once the watermark has passed the buffered articles;
the articles at or before the timer's time are sorted by (role, event time,
id) and fed to the ``StoryTracker``, whose state lives in ``ValueState``
between firings. Because the watermark guarantees that nothing earlier is
still on its way, the tracker sees the same order whatever the arrival order,
bundling or worker count.

With ``state_path`` (local or any Beam filesystem) the tracker's state is
also written there, atomically, after every firing (or at most every
``state_every_seconds`` of processing time, and always at the end of a
bounded input), and a job whose state is empty starts from it: a restarted
job goes on where the last one stopped, treating articles it already
processed as duplicates (``same_id``) instead of alerting on them again.

``flush_every_seconds`` only decides how often the timer fires, never the
order: ``None`` (bounded input) fires once, at the end of the input; in
streaming a small step (one second) gives alerts within seconds of the
watermark passing an article.
"""

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import BoundedWindow, GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from transforms.atomic import read_bytes, replace_bytes
from transforms.coders import EmbeddedArticleCoder
from transforms.metrics import count_dead_letter, counter
from transforms.records import (
    Alert,
    Assignment,
    DeadLetter,
    Duplicate,
    EmbeddedArticle,
    Event,
    StoryRecord,
    ThreadRecord,
)
from transforms.settings import ClusteringSettings, ThreadSpec
from transforms.tracker import StoryTracker

ASSIGNMENTS = "assignments"
DUPLICATES = "duplicates"
ALERTS = "alerts"
STORIES = "stories"
THREADS = "threads"
DEAD_LETTER = "dead_letter"
_TAGS = {
    Assignment: ASSIGNMENTS,
    Duplicate: DUPLICATES,
    Alert: ALERTS,
    StoryRecord: STORIES,
    ThreadRecord: THREADS,
    DeadLetter: DEAD_LETTER,
}


def shard_key(article: EmbeddedArticle) -> str:
    """All articles share one tracker: a thread spans every source and language.

    One key sustains far more articles per second than the embedding stage
    produces (see docs); the parallel stages are the ones before it.
    """
    return "all"


class _TrackStoriesFn(beam.DoFn):
    # State and timer parameters are typed Any: Beam injects runtime objects
    # whose declared defaults (StateParam, TimerParam) mypy cannot reconcile.
    BUFFER = BagStateSpec("buffer", EmbeddedArticleCoder())
    TRACKER = ReadModifyWriteStateSpec("tracker", BytesCoder())
    NEXT_FLUSH = ReadModifyWriteStateSpec("next_flush", VarIntCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(
        self,
        settings: ClusteringSettings,
        threads: Sequence[ThreadSpec],
        flush_every_seconds: float | None,
        state_path: str | None = None,
        state_every_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._threads = tuple(threads)
        self._flush_every = flush_every_seconds
        self._state_path = state_path
        self._state_every = state_every_seconds
        self._clock = clock
        self._last_snapshot = float("-inf")
        self._clustered = counter("articles_clustered")
        self._opened = counter("stories_opened")
        self._duplicates = counter("duplicates")
        self._alerts = counter("alerts")
        self._emergent = counter("threads_emergent")

    def _flush_micros(self, article: EmbeddedArticle, window: BoundedWindow) -> int:
        """When the timer must fire for this article, in whole milliseconds.

        Runners carry timer timestamps in milliseconds: a timer set at a
        finer time would fire at a truncated time, before its articles.
        """
        end = window.max_timestamp().micros // 1000 * 1000
        if self._flush_every is None:
            return int(end)
        step = max(1000, round(self._flush_every * 1000) * 1000)
        micros = round(article.timestamp * 1_000_000) if article.role == "article" else 0
        return int(min(end, math.ceil(micros / step) * step))

    def process(
        self,
        element: tuple[str, EmbeddedArticle],
        window: Any = beam.DoFn.WindowParam,
        buffer: Any = beam.DoFn.StateParam(BUFFER),
        next_flush: Any = beam.DoFn.StateParam(NEXT_FLUSH),
        flush: Any = beam.DoFn.TimerParam(FLUSH),
    ) -> None:
        article = element[1]
        buffer.add(article)
        target = self._flush_micros(article, window)
        current = next_flush.read()
        if current is None or target < current:
            flush.set(Timestamp(micros=target))
            next_flush.write(target)

    @on_timer(FLUSH)
    def on_flush(
        self,
        fired: Any = beam.DoFn.TimestampParam,
        window: Any = beam.DoFn.WindowParam,
        buffer: Any = beam.DoFn.StateParam(BUFFER),
        tracker_state: Any = (beam.DoFn.StateParam(TRACKER)),
        next_flush: Any = beam.DoFn.StateParam(NEXT_FLUSH),
        flush: Any = beam.DoFn.TimerParam(FLUSH),
    ) -> Iterator[Any]:
        items = list(buffer.read())
        due = [a for a in items if self._flush_micros(a, window) <= fired.micros]
        rest = [a for a in items if self._flush_micros(a, window) > fired.micros]

        saved = tracker_state.read()
        if saved is None and self._state_path:
            saved = read_bytes(self._state_path)  # a snapshot of an earlier run
        tracker = (
            StoryTracker.from_bytes(saved, self._settings, self._threads)
            if saved is not None
            else StoryTracker(self._settings, self._threads)
        )
        for event in tracker.observe_all(due):
            yield self._output(event)
        final = fired.micros >= window.max_timestamp().micros // 1000 * 1000
        if final:
            for record in tracker.open_stories():
                yield self._output(record)
        snapshot = tracker.to_bytes()
        tracker_state.write(snapshot)
        now = self._clock()  # processing time, only to pace the writes
        if self._state_path and (final or now - self._last_snapshot >= self._state_every):
            # Every step by default: a restart resumes exactly where this left off.
            replace_bytes(self._state_path, snapshot)
            self._last_snapshot = now

        buffer.clear()
        next_flush.clear()
        for article in rest:
            buffer.add(article)
        if rest:
            target = min(self._flush_micros(a, window) for a in rest)
            flush.set(Timestamp(micros=target))
            next_flush.write(target)

    def _output(self, event: Event) -> Any:
        if isinstance(event, Assignment):
            self._clustered.inc()
            if event.action == "opened":
                self._opened.inc()
        elif isinstance(event, Duplicate):
            self._duplicates.inc()
        elif isinstance(event, Alert):
            self._alerts.inc()
        elif isinstance(event, ThreadRecord):
            self._emergent.inc()
        elif isinstance(event, DeadLetter):
            count_dead_letter(event)
        timestamp = event.event_time.timestamp() if not isinstance(event, DeadLetter) else None
        value = event if timestamp is None else TimestampedValue(event, timestamp)
        tag = _TAGS[type(event)]
        return value if tag == ASSIGNMENTS else beam.pvalue.TaggedOutput(tag, value)


class ClusterStories(beam.PTransform):  # type: ignore[type-arg]
    """Embedded articles → assignments, duplicates, alerts, stories, threads, dead letters.

    Thread documents (descriptions and exemplars, role ``description`` or
    ``exemplar``) go through the same input and are processed before any
    article. Outputs are tagged: ``assignments`` (main), ``duplicates``,
    ``alerts``, ``stories``, ``threads``, ``dead_letter``.
    """

    def __init__(
        self,
        settings: ClusteringSettings,
        threads: Sequence[ThreadSpec],
        flush_every_seconds: float | None = None,
        state_path: str | None = None,
        state_every_seconds: float = 0.0,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._threads = tuple(threads)
        self._flush_every = flush_every_seconds
        self._state_path = state_path
        self._state_every = state_every_seconds

    def expand(self, articles: beam.pvalue.PCollection[EmbeddedArticle]) -> Any:
        return (
            articles
            | "InGlobalWindow" >> beam.WindowInto(GlobalWindows())
            | "KeyByShard"
            >> beam.Map(lambda a: (shard_key(a), a)).with_output_types(tuple[str, EmbeddedArticle])
            | "TrackStories"
            >> beam.ParDo(
                _TrackStoriesFn(
                    self._settings,
                    self._threads,
                    self._flush_every,
                    self._state_path,
                    self._state_every,
                )
            ).with_outputs(DUPLICATES, ALERTS, STORIES, THREADS, DEAD_LETTER, main=ASSIGNMENTS)
        )
