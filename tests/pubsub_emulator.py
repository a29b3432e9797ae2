"""The real Pub/Sub emulator of the Google Cloud SDK, started and stopped by tests.

Started as one process group with ``setsid`` and stopped by group: killing only
the launcher script would leave its Java child holding the port.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT = "threadwatch-test"


def _sdk_root() -> Path:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise RuntimeError("gcloud (the Google Cloud SDK) is not installed")
    out = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Path(out.stdout.strip())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator(data_dir: Path) -> Iterator[str]:
    """Yields ``host:port`` of a running emulator on 127.0.0.1."""
    launcher = _sdk_root() / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    port = _free_port()
    log = (data_dir / "emulator.log").open("wb")
    process = subprocess.Popen(
        [str(launcher), "--host=127.0.0.1", f"--port={port}", f"--dir={data_dir}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Pub/Sub emulator did not start: {data_dir}/emulator.log")
            time.sleep(0.2)
        yield host
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()
