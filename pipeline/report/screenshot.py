"""A screenshot of a report page with headless Chromium (Debian's package).

Used by ``threadwatch report --screenshot`` (the README's picture) and by the
browser tests, which share ``CHROMIUM_FLAGS``: without the background-networking
flags Chromium tries to reach Google's servers on start, which neither a test
nor a user looking at a local file should cause.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.report.load import ReportError

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


def chromium_path() -> str:
    """``$THREADWATCH_CHROMIUM`` or Debian's ``chromium``; a clear error when absent."""
    configured = os.environ.get("THREADWATCH_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ReportError(
            "Chromium not found: install Debian's package (scripts/setup does: "
            "apt-get install --no-install-recommends chromium) or set THREADWATCH_CHROMIUM"
        )
    return found


def take_screenshot(
    page: Path, destination: Path, story_id: str | None = None, size: tuple[int, int] = (1280, 800)
) -> Path:
    """Photographs ``page`` at ``size`` (with ``story_id``'s detail open) into ``destination``."""
    destination.unlink(missing_ok=True)
    url = page.resolve().as_uri() + (f"#story={story_id}" if story_id else "")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="threadwatch-chromium-") as profile:
        command = [
            chromium_path(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={destination.resolve()}",
            url,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(
                f"Chromium took over {exc.timeout:.0f} s to photograph {page}"
            ) from exc
    if done.returncode != 0 or not destination.is_file():
        tail = "\n".join(done.stderr.splitlines()[-5:])
        raise ReportError(f"Chromium could not photograph {page} (exit {done.returncode}): {tail}")
    return destination
