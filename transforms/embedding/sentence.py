"""The default embedding backend: the packaged model in sentence-transformers (torch)."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from transforms.core.settings import EmbeddingSettings
from transforms.core.setup import offline_model_hub
from transforms.embedding.handler import ArticleEmbeddingHandler, resolve_model_path


def load_sentence_transformer(settings: EmbeddingSettings) -> Any:
    """Loads the configured model from local files only."""
    offline_model_hub()
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


class SentenceTransformerHandler(ArticleEmbeddingHandler[Any]):
    """The default backend: the packaged model in sentence-transformers (torch)."""

    def load_model(self) -> Any:
        return load_sentence_transformer(self._settings)

    def encode(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        return SentenceTransformerEncoder(model).encode(texts, self._settings.encode_batch_size)
