"""Explicit coders for the elements that Beam stores and ships between workers.

Pickling dataclasses would work on one machine, but a pickle is neither
compact nor stable across library versions, and Beam refuses non-deterministic
coders for keys on some runners. Embedded articles are what the clustering
stage buffers in state, so they get a compact, deterministic encoding: sorted
JSON for the metadata and the raw float32 bytes of the vector.
"""

import datetime as dt
import json
import struct
from typing import Any

import numpy as np
from apache_beam import coders

from transforms.core.feedback import FeedbackMark, TrackerInput
from transforms.core.records import EmbeddedArticle, Features

_HEADER = struct.Struct(">I")


def _features_to_json(f: Features) -> dict[str, Any]:
    return {
        "exact_hash": f.exact_hash,
        "minhash": list(f.minhash),
        "terms": [list(t) for t in f.terms],
        "watch_terms": sorted(f.watch_terms),
    }


def _features_from_json(d: dict[str, Any]) -> Features:
    return Features(
        exact_hash=d["exact_hash"],
        minhash=tuple(d["minhash"]),
        terms=tuple((str(t), int(c)) for t, c in d["terms"]),
        watch_terms=frozenset(d["watch_terms"]),
    )


class EmbeddedArticleCoder(coders.Coder):
    """Deterministic: equal articles always encode to equal bytes."""

    def encode(self, value: EmbeddedArticle) -> bytes:
        meta = json.dumps(
            {
                "id": value.id,
                "url": value.url,
                "title": value.title,
                "published": value.published.isoformat(),
                "published_source": value.published_source,
                "source": value.source,
                "language": value.language,
                "role": value.role,
                "thread_id": value.thread_id,
                "features": _features_to_json(value.features),
                "text_from": value.text_from,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        vector = np.ascontiguousarray(value.vector, dtype="<f4").tobytes()
        return _HEADER.pack(len(meta)) + meta + vector

    def decode(self, encoded: bytes) -> EmbeddedArticle:
        (size,) = _HEADER.unpack_from(encoded)
        meta = json.loads(encoded[4 : 4 + size])
        vector = np.frombuffer(encoded[4 + size :], dtype="<f4").astype(np.float32)
        return EmbeddedArticle(
            id=meta["id"],
            url=meta["url"],
            title=meta["title"],
            published=dt.datetime.fromisoformat(meta["published"]),
            published_source=meta["published_source"],
            source=meta["source"],
            language=meta["language"],
            role=meta["role"],
            thread_id=meta["thread_id"],
            features=_features_from_json(meta["features"]),
            vector=vector,
            text_from=meta.get("text_from"),
        )

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> type:
        return EmbeddedArticle


def encode_mark(mark: FeedbackMark) -> bytes:
    """A verdict as sorted JSON: equal marks give equal bytes."""
    return json.dumps(mark.to_json(), sort_keys=True, ensure_ascii=False).encode()


def decode_mark(data: bytes) -> FeedbackMark:
    return FeedbackMark.from_json(json.loads(data))


class TrackerInputCoder(coders.Coder):
    """An article (tag ``a``, ``EmbeddedArticleCoder``) or a verdict (tag ``m``, JSON)."""

    def __init__(self) -> None:
        self._articles = EmbeddedArticleCoder()

    def encode(self, value: TrackerInput) -> bytes:
        if value.article is not None:
            return b"a" + self._articles.encode(value.article)
        if value.mark is None:
            raise ValueError("a tracker input holds an article or a mark")
        return b"m" + encode_mark(value.mark)

    def decode(self, encoded: bytes) -> TrackerInput:
        if encoded[:1] == b"a":
            return TrackerInput(article=self._articles.decode(encoded[1:]))
        if encoded[:1] == b"m":
            return TrackerInput(mark=decode_mark(encoded[1:]))
        raise ValueError(f"not a tracker input: tag {encoded[:1]!r}")

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> type:
        return TrackerInput


class FeedbackMarkCoder(coders.Coder):
    """A verdict as sorted JSON (``encode_mark``)."""

    def encode(self, value: FeedbackMark) -> bytes:
        return encode_mark(value)

    def decode(self, encoded: bytes) -> FeedbackMark:
        return decode_mark(encoded)

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> type:
        return FeedbackMark
