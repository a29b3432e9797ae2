"""``ClusterStories``: the one stateful stage, feeding the story tracker in event-time order.

Every embedded article is keyed to one shard and buffered in ``BagState``. An
event-time timer fires once the watermark has passed the buffered articles;
the articles at or before the timer's time are sorted by (role, event time,
id) and fed to the ``StoryTracker``. Because the watermark guarantees that
nothing earlier is still on its way, the tracker sees the same order whatever
the arrival order, bundling or worker count.

What a step costs does not grow with history. The tracker stays in memory
between firings (one per worker, like a model: ``TrackerCache``); Beam
state holds a snapshot, rewritten only every ``compact_every`` articles, and
a journal bag of the items of each step since, so a worker that restarts or
a bundle that is retried rebuilds exactly the same tracker (snapshot plus
replay: the tracker is deterministic in its input order). A version counter
in state tells whether the cached tracker is the one state describes.

With ``state_path`` (local or any Beam filesystem; ``transforms.clustering.state_store``)
the state also outlives the job. Streaming: each step appends its items to
the state's journal before its outputs leave this stage, and the snapshot is
rewritten every ``state_every_seconds``; a restart replays the journal and
emits the alerts of the replayed steps again, with the same ``alert_id``
(alert files are named by it, so they are written once). Batch: the final
snapshot goes out on the ``state`` output, and ``CommitState`` writes it only
after every output file is written, together with them (see the store).

``flush_every_seconds`` only decides how often the timer fires, never the
order: ``None`` (bounded input) fires once, at the end of the input; in
streaming a small step (one second) gives alerts within seconds of the
watermark passing an article.

Verdicts: those of the feedback file (``feedback``) and, in streaming, those
that come while the job runs (``live_feedback``) are applied as part of a
step, before its articles, and journaled with it like them, so a rebuilt or
restarted tracker applies each at the same point. A verdict the tracker
already holds (the file's lines at every firing, a line published twice)
changes nothing.
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
from apache_beam.transforms.window import BoundedWindow, GlobalWindows
from apache_beam.utils.timestamp import Timestamp

from transforms.clustering.hold import DEFINITION_WAIT_SECONDS, DefinitionHold
from transforms.clustering.journal import TrackerCache, mark_order, pack_article, pack_mark, replay
from transforms.clustering.outputs import (
    ALERTS,
    ASSIGNMENTS,
    DUPLICATES,
    STATE,
    STORIES,
    THREADS,
    EventOutputs,
)
from transforms.clustering.snapshot import embedding_mismatch, journal_mismatch
from transforms.clustering.state_store import StateStore
from transforms.clustering.threads import definition_ids
from transforms.clustering.tracker import StoryTracker, order_key
from transforms.core.coders import EmbeddedArticleCoder, decode_mark, encode_mark
from transforms.core.feedback import FeedbackMark, TrackerInput
from transforms.core.records import DEAD_LETTER, Alert, EmbeddedArticle, Event
from transforms.core.settings import ClusteringSettings, ThreadSpec
from transforms.core.setup import register

#: Beam state rewrites the tracker's snapshot after this many journaled items.
COMPACT_EVERY = 2000


def shard_key(item: TrackerInput) -> str:
    """All articles share one tracker: a thread spans every source and language.

    One key sustains far more articles per second than the embedding stage
    produces (see docs); the parallel stages are the ones before it.
    """
    return "all"


class _TrackStoriesFn(beam.DoFn):
    # State and timer parameters are typed Any: Beam injects runtime objects
    # whose declared defaults (StateParam, TimerParam) mypy cannot reconcile.
    BUFFER = BagStateSpec("buffer", EmbeddedArticleCoder())
    SNAPSHOT = ReadModifyWriteStateSpec("snapshot", BytesCoder())
    JOURNAL = BagStateSpec("journal", BytesCoder())
    MARKS = BagStateSpec("marks", BytesCoder())
    JOURNAL_MARKS = BagStateSpec("journal_marks", BytesCoder())
    JOURNALED = ReadModifyWriteStateSpec("journaled", VarIntCoder())
    VERSION = ReadModifyWriteStateSpec("version", VarIntCoder())
    NEXT_FLUSH = ReadModifyWriteStateSpec("next_flush", VarIntCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(
        self,
        settings: ClusteringSettings,
        threads: Sequence[ThreadSpec],
        flush_every_seconds: float | None,
        state_path: str | None = None,
        state_every_seconds: float = 60.0,
        compact_every: int = COMPACT_EVERY,
        clock: Callable[[], float] = time.monotonic,
        feedback: Sequence[FeedbackMark] = (),
        dim: int = 384,
        definition_wait_seconds: float = DEFINITION_WAIT_SECONDS,
        space: str | None = None,
    ) -> None:
        self._definition_wait = definition_wait_seconds
        self._settings = settings
        self._threads = tuple(threads)
        self._feedback = tuple(feedback)
        self._expected = definition_ids(self._threads)
        self._dim = dim
        self._space = space
        self._flush_every = flush_every_seconds
        self._state_path = state_path
        self._state_every = state_every_seconds
        self._compact_every = compact_every
        self._clock = clock
        self._outputs = EventOutputs()

    def setup(self) -> None:
        register()  # a worker decoding buffered articles needs the coders too
        self._cache = TrackerCache()
        self._store = StateStore(self._state_path) if self._state_path else None
        self._last_snapshot = self._clock()
        self._hold = DefinitionHold(self._expected, self._definition_wait, self._clock)

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
        element: tuple[str, TrackerInput],
        timestamp: Any = beam.DoFn.TimestampParam,
        window: Any = beam.DoFn.WindowParam,
        buffer: Any = beam.DoFn.StateParam(BUFFER),
        marks: Any = beam.DoFn.StateParam(MARKS),
        next_flush: Any = beam.DoFn.StateParam(NEXT_FLUSH),
        flush: Any = beam.DoFn.TimerParam(FLUSH),
    ) -> None:
        item = element[1]
        if item.article is not None:
            buffer.add(item.article)
            target = self._flush_micros(item.article, window)
        elif item.mark is not None:
            marks.add(encode_mark(item.mark))
            # Due once the watermark passes it (streaming: its publication), or at the end.
            end = window.max_timestamp().micros // 1000 * 1000
            at = max(0, math.ceil(timestamp.micros / 1000) * 1000)
            target = int(end) if self._flush_every is None else int(min(end, at))
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
        marks_state: Any = beam.DoFn.StateParam(MARKS),
        snapshot: Any = beam.DoFn.StateParam(SNAPSHOT),
        journal: Any = beam.DoFn.StateParam(JOURNAL),
        journal_marks: Any = beam.DoFn.StateParam(JOURNAL_MARKS),
        journaled: Any = beam.DoFn.StateParam(JOURNALED),
        version_state: Any = beam.DoFn.StateParam(VERSION),
        next_flush: Any = beam.DoFn.StateParam(NEXT_FLUSH),
        flush: Any = beam.DoFn.TimerParam(FLUSH),
    ) -> Iterator[Any]:
        items = list(buffer.read())
        due = sorted(
            (a for a in items if self._flush_micros(a, window) <= fired.micros), key=order_key
        )
        rest = [a for a in items if self._flush_micros(a, window) > fired.micros]

        live = sorted((decode_mark(m) for m in marks_state.read()), key=mark_order)
        tracker, version, replayed = self._restore(snapshot, journal, journal_marks, version_state)
        final = fired.micros >= window.max_timestamp().micros // 1000 * 1000
        if not final and not replayed and self._hold.waits(tracker.known_documents(due)):
            next_flush.clear()
            return
        self._cache.invalidate()
        # The file's verdicts (new ones only: at a job's first step, and new lines
        # after a restart), then those that came; before the step's articles.
        marks = tracker.add_feedback([*self._feedback, *live])
        self._outputs.marks.inc(len(marks))
        events: list[Event] = [*replayed, *tracker.observe_all(due)]
        if final:
            events.extend(tracker.open_stories())
        if due or marks:
            version += 1
            version_state.write(version)
        pending = (journaled.read() or 0) + len(due) + len(marks)
        if final or pending >= self._compact_every:
            # A new snapshot holds this step too: no need to journal it first.
            snapshot.write(tracker.to_bytes())
            journal.clear()
            journal_marks.clear()
            journaled.write(0)
        elif due or marks:
            for article in due:
                journal.add(pack_article(version, article))
            for mark in marks:
                journal_marks.add(pack_mark(version, mark))
            journaled.write(pending)
        state_out = self._persist(tracker, version, due, marks, final)
        self._cache.put(version, tracker)

        for event in events:
            yield self._outputs.output(event)
        if state_out is not None:
            yield beam.pvalue.TaggedOutput(STATE, state_out)

        buffer.clear()
        marks_state.clear()
        next_flush.clear()
        for article in rest:
            buffer.add(article)
        if rest:
            target = min(self._flush_micros(a, window) for a in rest)
            flush.set(Timestamp(micros=target))
            next_flush.write(target)

    def _restore(
        self, snapshot: Any, journal: Any, journal_marks: Any, version_state: Any
    ) -> tuple[StoryTracker, int, list[Event]]:
        """The tracker as state describes it, its version, and alerts to emit again."""
        version = version_state.read()
        cached = self._cache.get(version)
        if cached is not None:
            return cached, version, []
        if version is not None:  # a new worker, or a retried bundle: rebuild from state
            tracker = self._tracker(snapshot.read())
            replay(tracker, journal.read(), journal_marks.read())
            return tracker, version, []
        if self._store is None:
            return self._new_tracker(), 0, []
        # The job's first firing: go on from the stored state of an earlier run.
        loaded = self._store.load()
        tracker = self._tracker(loaded.tracker)
        problem = journal_mismatch(loaded.steps, self._dim)
        if problem is not None:
            raise ValueError(f"{problem}: a state directory belongs to one embedding model")
        replayed: list[Event] = []
        for step, articles in loaded.steps:
            # These steps' outputs may not have left before the crash: their
            # alerts go out again, with the same ids (files named by alert_id).
            tracker.add_feedback(loaded.marks.get(step, ()))
            replayed += [e for e in tracker.observe_all(articles) if isinstance(e, Alert)]
        snapshot.write(tracker.to_bytes())
        version_state.write(loaded.last_seq)
        return tracker, loaded.last_seq, replayed

    def _tracker(self, saved: bytes | None) -> StoryTracker:
        # The file's verdicts come as part of the first step (``on_flush``).
        if saved is None:
            return self._new_tracker()
        tracker = StoryTracker.from_bytes(saved, self._settings, self._threads)
        problem = embedding_mismatch(tracker.dim, tracker.space, self._dim, self._space)
        if problem is not None:
            raise ValueError(
                f"{problem}: a state directory belongs to one embedding model (start a new "
                "one, or go back to the model it was made with)"
            )
        if tracker.space is None:  # written before the model was recorded: from now on
            tracker.space = self._space
        return tracker

    def _new_tracker(self) -> StoryTracker:
        return StoryTracker(self._settings, self._threads, self._dim, space=self._space)

    def _persist(
        self,
        tracker: StoryTracker,
        version: int,
        due: Sequence[EmbeddedArticle],
        marks: Sequence[FeedbackMark],
        final: bool,
    ) -> tuple[int, bytes] | None:
        """Writes the file state (streaming), or returns it for ``CommitState`` (batch)."""
        if self._store is None:
            return None
        if self._flush_every is None:  # batch: committed with the outputs, after them
            return (version, tracker.to_bytes()) if final else None
        if due or marks:
            self._store.append(version, due, marks)  # before this step's outputs leave
        now = self._clock()  # processing time, only to pace the snapshots
        if final or now - self._last_snapshot >= self._state_every:
            self._store.commit(tracker.to_bytes(), version)
            self._last_snapshot = now
        return None


class ClusterStories(beam.PTransform):  # type: ignore[type-arg]
    """Embedded articles → assignments, duplicates, alerts, stories, threads, dead letters.

    Thread documents (descriptions and exemplars, role ``description`` or
    ``exemplar``) go through the same input and are processed before any
    article. Outputs are tagged: ``assignments`` (main), ``duplicates``,
    ``alerts``, ``stories``, ``threads``, ``dead_letter``, and ``state``: in
    batch with a ``state_path``, the final ``(sequence, snapshot)`` for
    ``CommitState``. ``live_feedback``: verdicts that come while a streaming
    job runs, applied from the step they reach.
    """

    def __init__(
        self,
        settings: ClusteringSettings,
        threads: Sequence[ThreadSpec],
        flush_every_seconds: float | None = None,
        state_path: str | None = None,
        state_every_seconds: float = 60.0,
        compact_every: int = COMPACT_EVERY,
        feedback: Sequence[FeedbackMark] = (),
        dim: int = 384,
        live_feedback: beam.pvalue.PCollection[FeedbackMark] | None = None,
        space: str | None = None,
    ) -> None:
        super().__init__()
        self._live_feedback = live_feedback
        self._settings = settings
        self._threads = tuple(threads)
        self._feedback = tuple(feedback)
        self._dim = dim
        self._space = space
        self._flush_every = flush_every_seconds
        self._state_path = state_path
        self._state_every = state_every_seconds
        self._compact_every = compact_every

    def expand(self, articles: beam.pvalue.PCollection[EmbeddedArticle]) -> Any:
        register()  # the keyed articles' coder is looked up in Beam's registry
        inputs = [
            articles
            | "AsTrackerInput"
            >> beam.Map(lambda a: TrackerInput(article=a)).with_output_types(TrackerInput)
        ]
        if self._live_feedback is not None:
            marks = self._live_feedback | "MarksAsTrackerInput" >> beam.Map(
                lambda m: TrackerInput(mark=m)
            ).with_output_types(TrackerInput)
            inputs.append(marks | "MarksInGlobalWindow" >> beam.WindowInto(GlobalWindows()))
        merged = inputs[0] if len(inputs) == 1 else inputs | "ArticlesAndVerdicts" >> beam.Flatten()
        return (
            merged
            | "InGlobalWindow" >> beam.WindowInto(GlobalWindows())
            | "KeyByShard"
            >> beam.Map(lambda i: (shard_key(i), i)).with_output_types(tuple[str, TrackerInput])
            | "TrackStories"
            >> beam.ParDo(
                _TrackStoriesFn(
                    self._settings,
                    self._threads,
                    self._flush_every,
                    self._state_path,
                    self._state_every,
                    self._compact_every,
                    feedback=self._feedback,
                    dim=self._dim,
                    space=self._space,
                )
            ).with_outputs(
                DUPLICATES, ALERTS, STORIES, THREADS, DEAD_LETTER, STATE, main=ASSIGNMENTS
            )
        )
