"""Start-up checks of a run's inputs that no configuration loader makes.

``threadwatch run`` checks these before the pipeline starts, so a mistake
costs nothing: a ``--source`` that does not exist would otherwise read
nothing and report success.
"""

import os

from apache_beam.io.filesystems import FileSystems

from pipeline.graph import Job
from transforms.core.errors import ThreadwatchError


class SourceError(ThreadwatchError):
    """``--source`` names no folder that can be read."""


def check_source(source: str | None) -> None:
    """``--source`` must name a folder (local, or a prefix with objects under it)."""
    if not source:
        return
    if "://" not in source:
        if not os.path.isdir(source):
            what = "is a file, not a folder" if os.path.exists(source) else "no such folder"
            raise SourceError(f"--source {source}: {what}")
        return
    # Object stores have no folders: one that holds nothing and one that does
    # not exist look the same, and either would make a run with no input.
    try:
        found = FileSystems.match([FileSystems.join(source, "*")], limits=[1])[0].metadata_list
    except Exception as exc:  # Beam's filesystems raise BeamIOError or the client's own
        raise SourceError(f"--source {source}: cannot be listed: {exc}") from None
    if not found:
        raise SourceError(f"--source {source}: no such folder (nothing found under it)")


def no_threads_warning(job: Job, threads_path: str) -> str | None:
    """An empty watchlist is legal (emergent threads only) but rarely meant."""
    if job.threads:
        return None
    if job.settings.clustering.emergent_threads:
        then = "alerts can come only from emergent threads"
    else:
        then = "and clustering.emergent_threads is off: this run can raise no alert"
    return f"{threads_path}: no threads to watch; {then}"
