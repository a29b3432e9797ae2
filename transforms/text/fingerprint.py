"""Embedding-free signals: duplicate signatures and salient terms.

Duplicates are found from the text itself, not the embedding: two different
articles on one event embed close together, while a syndicated copy shares
whole runs of words. Exact copies hash equal after normalisation; rewritten or
trimmed copies share most word 5-shingles, which MinHash estimates cheaply and
locality-sensitive hashing finds without comparing against every article.

Every hash here is stable across processes and machines (crc32 and fixed
seeds, never Python's randomised ``hash``), so signatures computed on one
worker match those computed on another.
"""

import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable

import numpy as np

from transforms.core.records import Features

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20240711)
_A = _rng.integers(1, _PRIME, size=NUM_PERM, dtype=np.int64)
_B = _rng.integers(0, _PRIME, size=NUM_PERM, dtype=np.int64)
del _rng

_QUOTES = (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("–", "-"), ("—", "-"))
_POSSESSIVE = re.compile(r"['’]s$")
# Letters and digits of any script ([^\W_]): an ASCII-only pattern reads a
# Russian or Chinese article as no words at all, and every two of those would
# be "exact" duplicates of each other.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _fold(text: str) -> str:
    """NFKC, straight quotes and dashes, lowercase."""
    folded = unicodedata.normalize("NFKC", text)
    if not folded.isascii():  # str.translate() would be ten times slower
        for curly, straight in _QUOTES:
            folded = folded.replace(curly, straight)
    return folded.lower()


def normalise(text: str) -> str:
    """Lowercase words only: what two copies of one article have in common."""
    return " ".join(_TOKEN.findall(_fold(text)))


def exact_hash(text: str) -> str:
    """Equal for texts with the same words (``normalise``); see ``compute_features``."""
    return _exact_hash_of_normalised(normalise(text))


def _exact_hash_of_normalised(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


def minhash(text: str) -> tuple[int, ...]:
    """MinHash of the text's word 5-shingles (NUM_PERM values)."""
    return _minhash_of_tokens(normalise(text).split())


def _minhash_of_tokens(tokens: list[str]) -> tuple[int, ...]:
    if len(tokens) < SHINGLE:
        grams = [" ".join(tokens)] if tokens else [""]
    else:
        grams = [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]
    hashes = np.fromiter((zlib.crc32(g.encode()) for g in set(grams)), dtype=np.int64)
    hashes %= _PRIME
    permuted = (np.outer(hashes, _A) + _B) % _PRIME
    return tuple(int(v) for v in permuted.min(axis=0))


def jaccard_estimate(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def lsh_keys(signature: tuple[int, ...]) -> list[str]:
    """Band keys: two signatures sharing any key are near-duplicate candidates."""
    return [
        f"{band}:" + ",".join(map(str, signature[band * ROWS : (band + 1) * ROWS]))
        for band in range(BANDS)
    ]


# Capitalised words that start sentences or stand for roles, not for entities.
_NOT_ENTITIES = {
    "a", "an", "the", "and", "but", "or", "nor", "for", "so", "yet", "in", "on", "at", "to",
    "of", "by", "with", "from", "as", "if", "when", "while", "after", "before", "since",
    "it", "its", "he", "she", "his", "her", "they", "their", "we", "our", "i", "you",
    "this", "that", "these", "those", "there", "here", "what", "who", "why", "how",
    "mr", "mrs", "ms", "dr", "president", "minister", "prime", "foreign", "secretary",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "according", "meanwhile", "however",
    "despite", "during", "over", "under", "about", "also", "both", "all", "some", "many",
    "new", "said", "says", "one", "two", "three", "last", "next", "first", "more", "most",
}  # fmt: skip
_CAPITALISED = re.compile(r"(?<![\w'’-])([A-Z][a-zA-Z'’-]+)")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"”’')]*\s+|\n\s*|[\"“‘(]\s*)$")


def salient_terms(text: str, limit: int = 30) -> tuple[tuple[str, int], ...]:
    """Capitalised words (mostly names) with counts, most frequent first.

    A word seen only at the start of sentences is ignored: "Despite" is not a
    name, while "Putin" is capitalised wherever it stands.
    """
    counts: Counter[str] = Counter()
    inside: set[str] = set()
    for match in _CAPITALISED.finditer(text):
        word = _POSSESSIVE.sub("", match.group(1)).strip("'’-").lower()
        if len(word) < 2 or word in _NOT_ENTITIES:
            continue
        counts[word] += 1
        if not _SENTENCE_START.search(text[max(0, match.start() - 4) : match.start()]):
            inside.add(word)
    ranked = sorted(((w, c) for w, c in counts.items() if w in inside), key=lambda x: (-x[1], x[0]))
    return tuple(ranked[:limit])


class WatchTermMatcher:
    """Finds which of the watched threads' required terms occur in a text."""

    def __init__(self, terms: Iterable[str]) -> None:
        unique = sorted({t.lower() for t in terms if t.strip()}, key=lambda t: (-len(t), t))
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in unique) + r")(?!\w)")
            if unique
            else None
        )

    def __call__(self, text: str) -> frozenset[str]:
        if self._pattern is None:
            return frozenset()
        return frozenset(self._pattern.findall(_fold(text)))


def compute_features(
    title: str, text: str, matcher: WatchTermMatcher, item_id: str = ""
) -> Features:
    """The article's signals; both duplicate signatures cover title and body.

    The body alone is not enough: a one-line brief is all title and no body
    after cleaning, and two different briefs would hash alike. A text with
    no words at all (only symbols) gets signatures of its ``item_id``
    instead, so it can never be a duplicate of another article.
    """
    full = f"{title}\n{text}" if title else text
    normalised = normalise(full)  # once, for both hashes: it is most of their cost
    tokens = normalised.split() if normalised else [f"\0no words\0{item_id}"]
    return Features(
        exact_hash=_exact_hash_of_normalised(normalised or tokens[0]),
        minhash=_minhash_of_tokens(tokens),
        terms=salient_terms(full),
        watch_terms=matcher(full),
    )
