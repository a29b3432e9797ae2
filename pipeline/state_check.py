"""Checks the ``--state`` snapshot at start-up, before any article is read or embedded.

The clustering stage reads the snapshot only when it first fires, that is
after the whole input has been read, cleaned and embedded. A corrupt,
truncated or incompatible file found there wastes all that work and ends in a
traceback; found here it is a configuration error (exit 2) naming the file and
what is wrong with it. The check decodes the file the way the stage will
(``StateStore.load``, then ``StoryTracker.from_bytes`` of its snapshot), so a
state that passes here loads there; its journal steps are decoded too. A
state made with another embedding model (another dimension, or the same
dimension from another model: MiniLM and e5 both make 384) is refused too:
its vectors and the new ones would be compared as if they meant the same.

A missing file is fine: it is the first run, and the stage will write it
(unless a journal beside it holds steps: a streaming job stopped before its
first snapshot, whose vectors are checked as a snapshot's would be).
"""

import json
from collections.abc import Sequence

from transforms.clustering.snapshot import embedding_mismatch, journal_mismatch
from transforms.clustering.state_store import StateError, StateStore
from transforms.clustering.tracker import STATE_VERSION, StoryTracker
from transforms.core.atomic import read_bytes
from transforms.core.errors import ConfigError
from transforms.core.settings import ClusteringSettings, EmbeddingSettings, ThreadSpec
from transforms.embedding.embed import embedding_dim, embedding_space

_FRESH_START = "delete it (or name another --state) to start without it"
_OTHER = "name another --state for these settings, or go back to the settings it was made with"


class StateFileError(ConfigError):
    """The ``--state`` file exists but cannot be resumed from."""


def check_state_file(
    path: str,
    settings: ClusteringSettings,
    threads: Sequence[ThreadSpec],
    embedding: EmbeddingSettings,
) -> None:
    """Raises ``StateFileError`` unless ``path`` is absent or a state this version loads,
    made with ``embedding``'s model."""
    try:
        data = read_bytes(path)
    except OSError as exc:  # a folder, no permission, an unreachable bucket…
        raise StateFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    if data is not None and not data.strip():
        raise StateFileError(path, f"is empty, not a tracker state snapshot; {_FRESH_START}")
    try:
        loaded = StateStore(path).load()
    except StateError as exc:
        raise StateFileError(exc.path, f"{exc.problem}; {_FRESH_START}") from None
    problem = journal_mismatch(loaded.steps, embedding_dim(embedding))
    if problem is not None:
        raise StateFileError(path, f"belongs to another embedding model: {problem}; {_OTHER}")
    if loaded.tracker is None:
        return
    data = loaded.tracker
    try:
        tracker = StoryTracker.from_bytes(data, settings, threads)
    except UnicodeDecodeError:
        raise StateFileError(
            path, f"is corrupt: not UTF-8 JSON, so not a tracker state snapshot; {_FRESH_START}"
        ) from None
    except json.JSONDecodeError as exc:
        # The input ran out: at its very end, or inside a string that never closes.
        if exc.pos >= len(data.rstrip()) or exc.msg.startswith("Unterminated string"):
            what = f"is truncated: its JSON ends after {len(data)} bytes, before it is complete"
        else:
            what = f"is corrupt: invalid JSON at byte {exc.pos} ({exc.msg})"
        raise StateFileError(path, f"{what}; {_FRESH_START}") from None
    except ValueError as exc:
        if "version" in str(exc):
            raise StateFileError(
                path,
                f"is incompatible: {exc} (this threadwatch reads version {STATE_VERSION}); "
                f"{_FRESH_START}",
            ) from None
        raise StateFileError(path, f"is corrupt: {exc}; {_FRESH_START}") from None
    except (KeyError, TypeError, AttributeError, IndexError, AssertionError) as exc:
        # Valid JSON of the wrong shape: a missing field, a list for an object…
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise StateFileError(
            path,
            f"is not a tracker state snapshot this version can read ({detail}); {_FRESH_START}",
        ) from None
    problem = embedding_mismatch(
        tracker.dim, tracker.space, embedding_dim(embedding), embedding_space(embedding)
    )
    if problem is not None:
        raise StateFileError(path, f"belongs to another embedding model: {problem}; {_OTHER}")
