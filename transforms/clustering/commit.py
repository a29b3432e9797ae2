"""``CommitState``: a batch run's state is written after, and together with, its outputs.

The clustering stage hands over its final snapshot instead of writing it, so
that no state can ever claim articles whose outputs were not written (a
crash there used to turn a whole run's articles into ``same_id`` duplicates
and lose their alerts). The outputs are staged in a folder beside the
target; this stage waits for every staged file (a side input of the paths
written), commits the snapshot naming the staging folder, then moves the
files into place. See ``transforms.clustering.state_store`` for why that is one
transaction.
"""

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.clustering.state_store import Outbox, StateStore, publish


class _CommitFn(beam.DoFn):
    def __init__(self, state_path: str, outbox: Outbox) -> None:
        self._state_path = state_path
        self._outbox = outbox

    def process(
        self, _: Any, snapshots: list[tuple[int, bytes]], written: list[str]
    ) -> Iterator[str]:
        if len(snapshots) > 1:
            raise RuntimeError(f"one tracker snapshot expected, got {len(snapshots)}")
        if snapshots:
            seq, tracker = snapshots[0]
            StateStore(self._state_path).commit(tracker, seq, self._outbox)
        # No snapshot: nothing was clustered, so nothing can be decided twice.
        yield from publish(self._outbox)


class CommitState(beam.PTransform):  # type: ignore[type-arg]
    """(snapshots, paths written) → the state committed, the staged files published."""

    def __init__(self, state_path: str, outbox: Outbox) -> None:
        super().__init__()
        self._state_path = state_path
        self._outbox = outbox

    def expand(self, inputs: Any) -> Any:
        snapshots, written = inputs
        return (
            snapshots.pipeline
            | "Once" >> beam.Create([None])
            | "CommitAndPublish"
            >> beam.ParDo(
                _CommitFn(self._state_path, self._outbox),
                beam.pvalue.AsList(snapshots),
                beam.pvalue.AsList(written),
            )
        )
