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
from transforms.text import scripts

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
# Letters and digits of any script ([^\W_]) and the combining marks written
# on them (which \w leaves out): an ASCII-only pattern reads a Russian or
# Chinese article as no words at all, and every two of those would be "exact"
# duplicates of each other; one without the marks cuts Hindi and Thai words
# at every vowel sign.
# (The second pattern runs on text whose underscores became spaces: the same
# as [^\W_] with the marks added, at the speed of one character class.)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_TOKEN_MARKED = re.compile(f"[\\w{scripts.MARKS}]+(?:'[\\w{scripts.MARKS}]+)?")


def _fold(text: str) -> str:
    """NFKC, straight quotes and dashes, casefold (``lower`` for ASCII, which is the same)."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded.lower()
    for curly, straight in _QUOTES:  # str.translate() would be ten times slower
        folded = folded.replace(curly, straight)
    return folded.casefold()


def _tokens(folded: str) -> list[str]:
    """Word tokens; in scripts written without spaces, one per character (``scripts``)."""
    if folded.isascii():
        return _TOKEN.findall(folded)
    tokens: list[str] = _TOKEN_MARKED.findall(folded.replace("_", " "))
    if not scripts.has_unspaced(folded):
        return tokens
    return [unit for token in tokens for unit in scripts.split_unspaced(token)]


def normalise(text: str) -> str:
    """Lowercase words only: what two copies of one article have in common."""
    return " ".join(_tokens(_fold(text)))


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


# Capitalised words of the other cased scripts (Greek, Cyrillic, Armenian):
# "Путин" is a name as much as "Putin". Latin keeps its own ASCII pattern
# above, so what English articles yield is unchanged.
_CAPITALISED_OTHER = re.compile(
    r"(?<![\w'’-])([\u0386-\u03ab\u0400-\u042f\u0460-\u052e\u0531-\u0556]"
    r"[\u0370-\u058f'’-]+)"
)
# First letters of caseless scripts that write spaces between words (Arabic,
# Hebrew, the Indic scripts, Georgian, Hangul, Ethiopic…): everything past
# Armenian that is not Latin (Latin Extended Additional, full-width forms).
_CASELESS_START = re.compile(r"[\u0590-\u1dff\u2c00-\u2dff\u3130-\u318f\ua000-\uabff\uac00-\ud7ff]")


def salient_terms(
    text: str, limit: int = 30, tokens: list[str] | None = None
) -> tuple[tuple[str, int], ...]:
    """Capitalised words (mostly names) with counts, most frequent first.

    A word seen only at the start of sentences is ignored: "Despite" is not a
    name, while "Putin" is capitalised wherever it stands. Scripts without
    capitals cannot say which words are names: there every word of two or
    more letters is a term (in Han and Thai, every two adjacent characters),
    and the inverse document frequency of the tracker's ``TermStatistics``
    weighs the common ones down. ``tokens`` are the text's ``normalise``
    tokens when the caller has them.
    """
    counts: Counter[str] = Counter()
    inside: set[str] = set()
    patterns = (_CAPITALISED,) if text.isascii() else (_CAPITALISED, _CAPITALISED_OTHER)
    for pattern in patterns:
        for match in pattern.finditer(text):
            word = _POSSESSIVE.sub("", match.group(1)).strip("'’-").lower()
            if len(word) < 2 or word in _NOT_ENTITIES:
                continue
            counts[word] += 1
            if not _SENTENCE_START.search(text[max(0, match.start() - 4) : match.start()]):
                inside.add(word)
    if not text.isascii():
        caseless = _caseless_terms(tokens if tokens is not None else _tokens(_fold(text)))
        counts.update(caseless)
        inside.update(caseless)
    ranked = sorted(((w, c) for w, c in counts.items() if w in inside), key=lambda x: (-x[1], x[0]))
    return tuple(ranked[:limit])


def _caseless_terms(tokens: list[str]) -> list[str]:
    terms: list[str] = []
    previous = ""
    for token in tokens:
        if scripts.has_unspaced(token):
            if previous:
                terms.append(previous + token)
            previous = token
            continue
        previous = ""
        if len(token) >= 2 and _CASELESS_START.match(token) and not token.isdigit():
            terms.append(token)
    return terms


class WatchTermMatcher:
    """Finds which of the watched threads' required terms occur in a text."""

    def __init__(self, terms: Iterable[str]) -> None:
        unique = sorted({_fold(t) for t in terms if t.strip()}, key=lambda t: (-len(t), t))
        # A term in a script written without spaces ("俄罗斯") stands inside a
        # run of letters: it cannot have word boundaries around it.
        alternatives = [
            re.escape(t) if scripts.has_unspaced(t) else rf"(?<!\w){re.escape(t)}(?!\w)"
            for t in unique
        ]
        self._pattern = re.compile("(" + "|".join(alternatives) + ")") if unique else None

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
        terms=salient_terms(full, tokens=tokens if normalised else []),
        watch_terms=matcher(full),
    )
