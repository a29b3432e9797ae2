"""The report's browser tests share one headless Chromium per module and one seeds run."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import BrowserError, Page, chromium
from tests.support import REPO


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    try:
        with chromium(tmp_path_factory.mktemp("chromium")) as tab:
            yield tab
    except BrowserError as exc:
        pytest.fail(f"headless Chromium is needed for these tests (scripts/setup): {exc}")


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own command on the seeds: ``threadwatch run --report``."""
    out = tmp_path_factory.mktemp("seeds") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--output", str(out), "--report"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"report: {out / 'report.html'}" in done.stdout
    return out
