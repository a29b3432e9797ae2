"""``EmbedArticles``: sentence embeddings through Beam's ``RunInference``.

``RunInference`` loads the model once per worker process (not per bundle),
batches elements with ``BatchElements`` and reports inference metrics; the
handler below only says how to load the packaged model and how to turn a
batch of articles into vectors.

What is embedded: the title followed by the start of the body, cut at
``max_chars`` characters. all-MiniLM-L6-v2 reads 256 word pieces, so the
model sees the title and the lead: the part of a news article that says which
event it reports (see the README's design notes for the measurement).

Two backends, chosen by ``EmbeddingSettings.backend`` through
``make_handler``: ``sentence-transformers`` (torch; the default) and ``onnx``
(ONNX Runtime with a model exported by ``threadwatch onnx-export``, optionally
int8: ``transforms/embedding/onnx.py``). Both handlers share the batching and the
article handling below and differ only in how a model is loaded and run;
``benchmarks/README.md`` has their speed and quality.
"""

import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import ModelHandler, RunInference
from apache_beam.transforms.window import TimestampedValue

from transforms.core.metrics import count_dead_letter
from transforms.core.records import Article, DeadLetter, EmbeddedArticle
from transforms.core.settings import EmbeddingSettings

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
        text_from=article.text_from,
    )


class Encoder(Protocol):
    """What both backends offer: texts in, unit-length float32 vectors out."""

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray: ...


def load_sentence_transformer(settings: EmbeddingSettings) -> Any:
    """Loads the configured model from local files only."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from sentence_transformers import SentenceTransformer  # heavy: import on workers only
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    path = resolve_model_path(settings.model)
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    if settings.max_seq_length is not None:
        model.max_seq_length = settings.max_seq_length
    return model


class SentenceTransformerEncoder:
    """A sentence-transformers model behind the ``Encoder`` interface."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )


def load_encoder(settings: EmbeddingSettings) -> Encoder:
    """The configured backend's encoder, outside Beam (benchmarks, replays)."""
    if settings.backend == "onnx":
        from transforms.embedding.onnx import load_onnx_encoder

        return load_onnx_encoder(settings)
    return SentenceTransformerEncoder(load_sentence_transformer(settings))


ModelT = TypeVar("ModelT")


class ArticleEmbeddingHandler(ModelHandler[Article, EmbeddedArticle, ModelT]):
    """Articles in, embedded articles out: what every backend's handler shares.

    ``RunInference`` calls ``load_model`` once per worker process and hands
    ``run_inference`` the batches ``BatchElements`` forms within
    ``min_batch_size``..``max_batch_size``. Subclasses say how to load and run
    one model; the text each article contributes is the same for all.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        super().__init__(
            min_batch_size=settings.min_batch_size,
            max_batch_size=settings.max_batch_size,
            env_vars=dict(OFFLINE_ENV),
        )
        self._settings = settings

    def encode(self, model: ModelT, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def run_inference(
        self,
        batch: Sequence[Article],
        model: ModelT,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[EmbeddedArticle]:
        texts = [embedding_text(a.title, a.text, self._settings.max_chars) for a in batch]
        vectors = self.encode(model, texts)
        return [to_embedded(a, v) for a, v in zip(batch, vectors, strict=True)]

    def get_num_bytes(self, batch: Sequence[Article]) -> int:
        return sum(len(a.text) for a in batch)

    def get_metrics_namespace(self) -> str:
        return "threadwatch.embedding"

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        return dict(self._batching_kwargs)


class SentenceTransformerHandler(ArticleEmbeddingHandler[Any]):
    """The default backend: the packaged model in sentence-transformers (torch)."""

    def load_model(self) -> Any:
        return load_sentence_transformer(self._settings)

    def encode(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        return SentenceTransformerEncoder(model).encode(texts, self._settings.encode_batch_size)


def make_handler(settings: EmbeddingSettings) -> ArticleEmbeddingHandler[Any]:
    """The model handler of the configured backend (``EmbeddingSettings.backend``)."""
    if settings.backend == "onnx":
        from transforms.embedding.onnx import OnnxHandler

        return OnnxHandler(settings)
    return SentenceTransformerHandler(settings)


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
