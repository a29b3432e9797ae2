"""``EmbedArticles``: sentence embeddings through Beam's ``RunInference``.

``RunInference`` loads the model once per worker process (not per bundle),
batches elements with ``BatchElements`` and reports inference metrics; the
handler below only says how to load the packaged model and how to turn a
batch of articles into vectors.

What is embedded: the title followed by the start of the body, cut at
``max_chars`` characters. all-MiniLM-L6-v2 reads 256 word pieces, so the
model sees the title and the lead: the part of a news article that says which
event it reports (see the README's design notes for the measurement).
"""

import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import ModelHandler, RunInference
from apache_beam.transforms.window import TimestampedValue

from transforms.metrics import count_dead_letter
from transforms.records import Article, DeadLetter, EmbeddedArticle
from transforms.settings import EmbeddingSettings

#: The packaged model must never be fetched from a hub: these make the
#: Hugging Face libraries fail instead of downloading.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def resolve_model_path(model: str) -> str:
    """``package:<module>`` → the folder its ``get_model_path()`` returns; else a path."""
    if model.startswith("package:"):
        module = importlib.import_module(model.removeprefix("package:"))
        return str(module.get_model_path())
    return model


def embedding_text(title: str, text: str, max_chars: int) -> str:
    """Title + lead: the title is not repeated when the body already starts with it."""
    body = text.strip()
    if title and not body.startswith(title):
        body = f"{title}.\n{body}" if not title.endswith((".", "?", "!")) else f"{title}\n{body}"
    return body[:max_chars]


def to_embedded(article: Article, vector: np.ndarray) -> EmbeddedArticle:
    assert article.features is not None, "Fingerprint must run before embedding"
    return EmbeddedArticle(
        id=article.id,
        url=article.url,
        title=article.title,
        published=article.published,
        published_source=article.published_source,
        source=article.source,
        language=article.language,
        role=article.role,
        thread_id=article.thread_id,
        features=article.features,
        vector=np.asarray(vector, dtype=np.float32),
    )


def load_sentence_transformer(settings: EmbeddingSettings) -> Any:
    """Loads the configured model from local files only."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from sentence_transformers import SentenceTransformer  # heavy: import on workers only
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = resolve_model_path(settings.model)
    return SentenceTransformer(path, device="cpu", local_files_only=True)


class SentenceTransformerHandler(ModelHandler[Article, EmbeddedArticle, Any]):
    """Articles in, embedded articles out, with a sentence-transformers model."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        super().__init__(
            min_batch_size=settings.min_batch_size,
            max_batch_size=settings.max_batch_size,
            env_vars=dict(OFFLINE_ENV),
        )
        self._settings = settings

    def load_model(self) -> Any:
        return load_sentence_transformer(self._settings)

    def run_inference(
        self,
        batch: Sequence[Article],
        model: Any,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[EmbeddedArticle]:
        texts = [embedding_text(a.title, a.text, self._settings.max_chars) for a in batch]
        vectors = model.encode(
            texts,
            batch_size=self._settings.encode_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [to_embedded(a, v) for a, v in zip(batch, vectors, strict=True)]

    def get_num_bytes(self, batch: Sequence[Article]) -> int:
        return sum(len(a.text) for a in batch)

    def get_metrics_namespace(self) -> str:
        return "threadwatch.embedding"

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        return dict(self._batching_kwargs)


class EmbedArticles(beam.PTransform):  # type: ignore[type-arg]
    """Articles → embedded articles (vector plus metadata, without the body).

    Outputs ``main`` and ``dead_letter``: a batch whose inference fails
    becomes one dead letter per article, instead of failing the job.
    """

    def __init__(self, handler: ModelHandler[Article, EmbeddedArticle, Any]) -> None:
        super().__init__()
        self._handler = handler

    def expand(self, articles: Any) -> Any:
        main, failed = (
            articles | "RunInference" >> RunInference(self._handler).with_exception_handling()
        )
        dead = failed.failed_inferences | "ToDeadLetters" >> beam.FlatMap(_failed_batch)
        # BatchElements emits batches at the window's start: put each article
        # back at its own event time for the event-time stages downstream.
        timed = main | "RestoreEventTime" >> beam.Map(lambda a: TimestampedValue(a, a.timestamp))
        return {"main": timed, "dead_letter": dead}


def _failed_batch(failure: tuple[list[Article], Any]) -> Iterator[DeadLetter]:
    """(batch, error): Beam gives the error as (type, message, traceback lines)."""
    batch, error = failure
    if isinstance(error, tuple) and len(error) >= 2:
        detail = f"{getattr(error[0], '__name__', error[0])}: {error[1]}"
    else:
        detail = str(error)
    for article in batch:
        letter = DeadLetter(article.id, article.url, "embed", "inference_failed", detail)
        if article.role == "article":
            count_dead_letter(letter)
        yield letter
