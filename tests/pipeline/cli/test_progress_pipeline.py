"""The progress line of a real run: counts reach the launcher while the job runs."""

import dataclasses
import io
import time
from pathlib import Path

from pipeline.cli.progress import Progress
from pipeline.cli.progress_listen import listening
from tests import golden
from tests.support import CachedModelHandler, make_job, run_job


class _Log(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_run_reports_its_counts_and_outputs_do_not_change(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    log = _Log()
    progress = Progress(log, time.monotonic, every=0.05)
    with listening(progress) as address:
        job = dataclasses.replace(make_job(tmp_path / "out", seeds_dir), progress_address=address)
        result = run_job(job, model_handler)
        deadline = time.monotonic() + 5
        while progress.counts.finished < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # the last datagrams are on their way
    last = log.getvalue().strip().splitlines()[-1]
    assert last.startswith("threadwatch: done read=")
    assert "embedded=5 clustered=5 dropped=0" in last
    # A side branch only: the outputs are the golden ones.
    expected = golden.load("seeds")
    assert [a["alert_id"] for a in result.outputs["alerts"]] == [
        a["alert_id"] for a in expected["alerts"]
    ]
