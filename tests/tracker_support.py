"""Building embedded articles with chosen similarities, for tracker logic tests."""

import dataclasses
import datetime as dt
import hashlib

import numpy as np

from transforms.core.records import EmbeddedArticle, Features
from transforms.text.fingerprint import WatchTermMatcher, compute_features

DIM = 384
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def unit(seed: str) -> np.ndarray:
    """A deterministic random unit vector (random vectors in 384 dims are near-orthogonal)."""
    rng = np.random.default_rng(int(hashlib.sha1(seed.encode()).hexdigest()[:8], 16))
    v = rng.standard_normal(DIM)
    return np.asarray(v / np.linalg.norm(v))


def near(base: np.ndarray, similarity: float, seed: str) -> np.ndarray:
    """A unit vector whose cosine to ``base`` is ``similarity`` (up to 1e-9)."""
    noise = unit(seed)
    noise = noise - (noise @ base) * base
    noise /= np.linalg.norm(noise)
    return np.asarray(similarity * base + np.sqrt(1 - similarity**2) * noise)


def article(
    article_id: str,
    vector: np.ndarray,
    day: float,
    text: str | None = None,
    watch: frozenset[str] = frozenset(),
    role: str = "article",
    thread_id: str | None = None,
) -> EmbeddedArticle:
    body = text if text is not None else f"Unique body text of article {article_id} " * 8
    features = compute_features("", body, WatchTermMatcher([]))
    features = Features(features.exact_hash, features.minhash, features.terms, watch)
    return EmbeddedArticle(
        id=article_id,
        url=f"file:///{article_id}",
        title=f"Title {article_id}",
        published=T0 + dt.timedelta(days=day),
        published_source="manifest",
        source="test",
        language="en",
        role=role,  # type: ignore[arg-type]
        thread_id=thread_id,
        features=features,
        vector=vector.astype(np.float32),
    )


def in_language(a: EmbeddedArticle, language: str) -> EmbeddedArticle:
    """The same article, stated in ``language``."""
    return dataclasses.replace(a, language=language)
