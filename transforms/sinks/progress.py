"""Counts that leave a running job for the launcher's progress line.

A local run is silent until Beam returns, and Beam's metrics can only be
read once it has. So each tapped stage sends its count, a few times a second
at most, as one UDP datagram to a loopback address the launcher listens on
(``pipeline.progress_listen``). UDP because it never blocks and never fails
the job: a datagram nobody reads is dropped, and a lost one only makes the
progress line a little behind. Works across processes (multi-processing
mode); a remote runner gets no address and no tap.

The tap is a side branch: it outputs nothing, so it cannot change any result.
"""

import contextlib
import socket
import time
from typing import Any

import apache_beam as beam

SEND_EVERY_SECONDS = 0.5


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(f"progress address must be on loopback, not {address!r}")
    return host, int(port)


class _TapFn(beam.DoFn):
    def __init__(self, stage: str, address: str) -> None:
        self._stage = stage
        self._address = parse_address(address)

    def setup(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._pending = 0
        self._last = time.monotonic()

    def process(self, element: Any) -> None:
        self._pending += 1
        now = time.monotonic()
        if now - self._last >= SEND_EVERY_SECONDS:
            self._send(now)

    def finish_bundle(self) -> None:
        self._send(time.monotonic())

    def teardown(self) -> None:
        self._socket.close()

    def _send(self, now: float) -> None:
        if self._pending:
            # A full buffer or no listener: this is progress only, never the job's concern.
            with contextlib.suppress(OSError):
                self._socket.sendto(f"{self._stage} {self._pending}".encode(), self._address)
            self._pending = 0
        self._last = now


class TapProgress(beam.PTransform):  # type: ignore[type-arg]
    """Counts the elements of a stage towards the progress line; outputs nothing."""

    def __init__(self, stage: str, address: str) -> None:
        super().__init__()
        self._stage = stage
        self._address = address

    def expand(self, pcoll: Any) -> Any:
        return pcoll | "Count" >> beam.ParDo(_TapFn(self._stage, self._address))
