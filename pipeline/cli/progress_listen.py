"""The launcher's side of progress: a loopback UDP socket fed by ``TapProgress``.

``listening(progress)`` binds a port on 127.0.0.1, hands its address to the
job (``Job.progress_address``), and adds the stages' counts up into the given
``Progress`` on a background thread until the block ends, then writes the
last line (none after a failure: ``Progress.finish``).
"""

import contextlib
import socket
import threading
from collections.abc import Iterator

from pipeline.cli.progress import Progress

STAGES = ("read", "embedded", "clustered", "dropped")


class _Listener:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.totals = dict.fromkeys(STAGES, 0)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.25)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="progress", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"{host}:{port}"

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.socket.recv(256)
            except TimeoutError:
                self.progress.update()  # time passes: the heartbeat still beats
                continue
            except OSError:
                return
            stage, _, count = data.decode(errors="replace").partition(" ")
            if stage in self.totals and count.isdigit():
                self.totals[stage] += int(count)
                self.progress.update(**self.totals)


@contextlib.contextmanager
def listening(progress: Progress) -> Iterator[str]:
    """Yields the address to send counts to; the last line is written on a clean exit."""
    listener = _Listener(progress)
    listener.thread.start()
    failed = True
    try:
        yield listener.address
        failed = False
    finally:
        listener.stop.set()
        listener.thread.join(timeout=2)
        listener.socket.close()
        progress.finish(failed=failed)
