"""Replaying a labelled stream through the story tracker with cached embeddings.

Tuning clustering settings means scoring dozens of settings on the same
articles. Embedding is the expensive part and does not depend on those
settings, so this module embeds a stream once (the same extraction, features
and embedding text as the pipeline, cached on disk by a hash of the stream,
the settings and the code that prepares it) and replays
the tracker — the same ``StoryTracker`` the Beam stage feeds — for each
setting. Final figures always come from ``threadwatch eval`` (the real graph);
a test checks the replay gives the same events.
"""

import hashlib
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluation.labelled import LabelledRecord, document
from transforms.clustering.tracker import StoryTracker
from transforms.core.errors import ItemError
from transforms.core.feedback import FeedbackMark
from transforms.core.records import Article, EmbeddedArticle, Event, StoryRecord
from transforms.core.settings import ClusteringSettings, Settings, ThreadSpec
from transforms.embedding.embed import DEFAULT_DIM, load_encoder
from transforms.embedding.handler import article_text, to_embedded
from transforms.text.extraction import extract_article
from transforms.text.fingerprint import WatchTermMatcher, compute_features

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "out" / "cache"
#: The code a cached stream was made by: a change to extraction, features or
#: embedding makes a new cache entry instead of replaying stale articles.
PREPARED_BY = ("transforms/text", "transforms/embedding", "transforms/core", "pipeline/evaluation")


def _code_digest() -> bytes:
    digest = hashlib.sha256()
    for folder in PREPARED_BY:
        for source in sorted((REPO / folder).rglob("*.py")):
            digest.update(source.relative_to(REPO).as_posix().encode() + b"\0")
            digest.update(source.read_bytes())
    return digest.digest()


def prepare(
    records: Sequence[LabelledRecord],
    settings: Settings,
    threads: Sequence[ThreadSpec],
    path: str = "stream",
    cache: bool = True,
) -> tuple[list[EmbeddedArticle], list[str]]:
    """Embedded articles of a stream (exemplars included), and ids that failed extraction."""
    key = hashlib.sha256(
        json.dumps(
            [[r.id, r.text, r.title, r.published, r.role, r.thread] for r in records]
        ).encode()
        + repr(
            (settings.embedding, settings.extraction, [t.required_terms for t in threads])
        ).encode()
        + _code_digest()
    ).hexdigest()[:16]
    cached = CACHE / f"{key}.pkl"
    if cache and cached.exists():
        with cached.open("rb") as handle:
            loaded: tuple[list[EmbeddedArticle], list[str]] = pickle.load(handle)
            return loaded
    matcher = WatchTermMatcher(t for spec in threads for t in spec.watch_terms())
    articles: list[Article] = []
    failed: list[str] = []
    for record in records:
        try:
            article = extract_article(document(record, path), settings.extraction)
        except ItemError:
            failed.append(record.id)
            continue
        features = compute_features(article.title, article.text, matcher)
        articles.append(Article(**{**article.__dict__, "features": features}))
    encoder = load_encoder(settings.embedding)
    texts = [article_text(settings.embedding, a.title, a.text) for a in articles]
    vectors = np.asarray(encoder.encode(texts, 8))
    embedded = [to_embedded(a, v) for a, v in zip(articles, vectors, strict=True)]
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        with cached.open("wb") as handle:
            pickle.dump((embedded, failed), handle)
    return embedded, failed


def replay(
    embedded: Sequence[EmbeddedArticle],
    failed: Sequence[str],
    clustering: ClusteringSettings,
    threads: Sequence[ThreadSpec],
    feedback: Sequence[FeedbackMark] = (),
) -> dict[str, list[dict[str, Any]]]:
    """The outputs ``WriteOutputs`` would write, as parsed JSON records."""
    dim = int(embedded[0].vector.shape[0]) if embedded else DEFAULT_DIM
    tracker = StoryTracker(clustering, threads, dim, feedback=feedback)
    events: list[Event] = tracker.observe_all(embedded)
    events.extend(tracker.open_stories())
    outputs: dict[str, list[dict[str, Any]]] = {
        "alerts": [],
        "stories": [],
        "assignments": [],
        "duplicates": [],
        "threads": [],
        "dead_letters": [{"item": i, "stage": "extract", "reason": "replay"} for i in failed],
    }
    names = {
        "Alert": "alerts",
        "StoryRecord": "stories",
        "Assignment": "assignments",
        "Duplicate": "duplicates",
        "ThreadRecord": "threads",
        "DeadLetter": "dead_letters",
    }
    for event in events:
        outputs[names[type(event).__name__]].append(event.to_json())
    assert all(isinstance(e, StoryRecord) or e is not None for e in events)
    return outputs
