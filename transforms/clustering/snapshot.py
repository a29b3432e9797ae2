"""The tracker's snapshot codec: a versioned, self-describing JSON document.

Vectors are base64 float64; stories and threads sorted by id, the term and
duplicate logs in their order, so the same tracker always gives the same
bytes. Only what cannot be rebuilt is stored: the indexes (story matrix,
LSH bands, document frequencies, remembered centroids) are rebuilt on load.
"""

import base64
import collections
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from transforms.clustering.duplicates import DuplicateIndex
from transforms.clustering.model import Story, Thread, ThreadStory
from transforms.clustering.terms import TermStatistics
from transforms.core.feedback import FeedbackMark

#: 2: every id ever seen (``seen``); 3: verdicts held, centring sums (and, optional
#: within 3, each story's languages).
STATE_VERSION = 3
#: Versions this code reads: a version-2 snapshot has no verdicts and no sums.
READABLE_VERSIONS = (2, 3)


def _vec(v: np.ndarray | None) -> str | None:
    return (
        None if v is None else base64.b64encode(np.asarray(v, dtype=np.float64).tobytes()).decode()
    )


def _unvec(text: str | None) -> np.ndarray | None:
    return None if text is None else np.frombuffer(base64.b64decode(text), dtype=np.float64).copy()


@dataclasses.dataclass
class Snapshot:
    """A tracker's state, as its parts hold it."""

    dim: int
    clock: float | None
    stories: Mapping[str, Story]
    threads: Mapping[str, Thread]
    terms: TermStatistics
    duplicates: DuplicateIndex
    #: The verdicts the tracker holds, in the order they came.
    feedback: tuple[FeedbackMark, ...] = ()
    #: Per-language vector sums (``centring.LanguageCentring.entries``); a
    #: snapshot without them (centring off, or written before) has none.
    centring: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: The embedding model the vectors come from (``embedding_space``); a
    #: snapshot written before it was recorded has None.
    space: str | None = None


def embedding_mismatch(
    held_dim: int, held_space: str | None, dim: int, space: str | None
) -> str | None:
    """Why vectors of the configured model cannot join a state's; None when they can.

    Two models of one dimension (all-MiniLM-L6-v2 and multilingual-e5-small,
    384 each) do not share a space: their cosines mean nothing to each other,
    and a state mixing them clusters at random without any error. A state
    that does not name its model (written before it was recorded) is judged
    by its dimension alone.
    """
    if held_dim != dim:
        return (
            f"the stored state holds {held_dim}-dimensional vectors but the configured "
            f"embedding backend makes {dim}"
        )
    if held_space is not None and space is not None and held_space != space:
        return (
            f"the stored state's vectors come from {held_space!r} but the configured "
            f"embedding backend is {space!r}"
        )
    return None


def journal_mismatch(steps: Iterable[tuple[int, Sequence[Any]]], dim: int) -> str | None:
    """Why a journal's articles cannot be replayed into a tracker of ``dim``; None if they can.

    A streaming state stopped before its first snapshot has a journal only:
    the model check of the snapshot cannot see it, its vectors' length can.
    """
    for step, articles in steps:
        for article in articles:
            if len(article.vector) != dim:
                return (
                    f"its journal (step {step}) holds {len(article.vector)}-dimensional vectors "
                    f"but the configured embedding backend makes {dim}"
                )
    return None


def _story(s: Story) -> dict[str, Any]:
    story: dict[str, Any] = {
        "id": s.id,
        "title": s.title,
        "opened_at": s.opened_at,
        "last_seen": s.last_seen,
        "vec_sum": _vec(s.vec_sum),
        "size": s.size,
        "article_ids": s.article_ids,
        "terms": dict(s.terms),
        "thread_id": s.thread_id,
    }
    if s.languages is not None:  # absent: written before languages were kept (unknown)
        story["languages"] = sorted(s.languages)
    return story


def _thread(t: Thread) -> dict[str, Any]:
    thread: dict[str, Any] = {
        "id": t.id,
        "title": t.title,
        "kind": t.kind,
        "threshold": t.threshold,
        "required": [sorted(g) for g in t.required],
        "documents": {k: _vec(v) for k, v in sorted(t.documents.items())},
        "terms": dict(t.terms),
        "negatives": {k: _vec(v) for k, v in sorted(t.negatives.items())},
        "definition_terms": dict(t.definition_terms),
        "stories": [
            {
                "story_id": r.story_id,
                "title": r.title,
                "opened_at": r.opened_at,
                "centroid": _vec(r.centroid),
            }
            for r in t.stories.values()
        ],
        "last_active": t.last_active,
        "created_at": t.created_at,
    }
    if t.document_languages:  # optional, as a story's languages
        thread["document_languages"] = dict(sorted(t.document_languages.items()))
    return thread


def encode(snapshot: Snapshot) -> bytes:
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "dim": snapshot.dim,
        "clock": snapshot.clock,
        "stories": [_story(s) for s in sorted(snapshot.stories.values(), key=lambda s: s.id)],
        "threads": [_thread(snapshot.threads[k]) for k in sorted(snapshot.threads)],
        "terms": list(snapshot.terms.entries()),
        "dedup": list(snapshot.duplicates.entries()),
        "seen": snapshot.duplicates.encoded_seen(),
        "feedback": [m.to_json() for m in snapshot.feedback],
    }
    if snapshot.centring:  # optional: absent, the state is byte for byte as before
        state["centring"] = list(snapshot.centring)
    if snapshot.space is not None:  # optional, as the sums
        state["space"] = snapshot.space
    return json.dumps(state, allow_nan=True).encode()


def decode(data: bytes) -> Snapshot:
    """The parts of a snapshot; raises ValueError for another version."""
    state = json.loads(data)
    if state.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported tracker state version {state.get('version')!r} (this threadwatch "
            f"reads {', '.join(map(str, READABLE_VERSIONS))}; a later one writes newer states)"
        )
    stories: dict[str, Story] = {}
    for s in state["stories"]:
        vec_sum = _unvec(s["vec_sum"])
        assert vec_sum is not None
        stories[s["id"]] = Story(
            s["id"],
            s["title"],
            s["opened_at"],
            s["last_seen"],
            vec_sum,
            s["size"],
            list(s["article_ids"]),
            collections.Counter(s["terms"]),
            s["thread_id"],
            set(s["languages"]) if "languages" in s else None,
        )
    threads: dict[str, Thread] = {}
    for t in state["threads"]:
        threads[t["id"]] = Thread(
            id=t["id"],
            title=t["title"],
            kind=t["kind"],
            threshold=t["threshold"],
            required=tuple(frozenset(g) for g in t["required"]),
            documents={
                k: v for k, text in t["documents"].items() if (v := _unvec(text)) is not None
            },
            terms=collections.Counter(t["terms"]),
            stories=collections.OrderedDict(
                (
                    r["story_id"],
                    ThreadStory(r["story_id"], r["title"], r["opened_at"], _unvec(r["centroid"])),
                )
                for r in t["stories"]
            ),
            last_active=t["last_active"],
            created_at=t["created_at"],
            # Absent from snapshots written before negative examples existed.
            negatives={
                k: v
                for k, text in t.get("negatives", {}).items()
                if (v := _unvec(text)) is not None
            },
            definition_terms=collections.Counter(t.get("definition_terms", {})),
            document_languages=dict(t.get("document_languages", {})),
        )
    return Snapshot(
        dim=int(state["dim"]),
        clock=state["clock"],
        stories=stories,
        threads=threads,
        terms=TermStatistics.restore(state["terms"]),
        duplicates=DuplicateIndex.restore(state["dedup"], state["seen"]),
        # Absent from snapshots written before verdicts were kept in them.
        feedback=tuple(FeedbackMark.from_json(m) for m in state.get("feedback", [])),
        centring=list(state.get("centring", [])),
        space=state.get("space"),
    )
