"""Duplicate signatures and salient terms."""

from tests.support import REPO
from transforms.core.records import RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.text.cleaning import clean_plain_text
from transforms.text.extraction import extract_article
from transforms.text.fingerprint import (
    WatchTermMatcher,
    compute_features,
    exact_hash,
    jaccard_estimate,
    lsh_keys,
    minhash,
    normalise,
    salient_terms,
)

ARTICLE = clean_plain_text((REPO / "seeds" / "004_bed5f04292cb6d2e.txt").read_text()).body
OTHER = clean_plain_text((REPO / "seeds" / "002_dc85ee8fd00bc9d9.txt").read_text()).body


def test_exact_hash_ignores_case_spacing_and_typographic_quotes() -> None:
    variant = ARTICLE.upper().replace("’", "'").replace("\n", "\n\n  ")
    assert exact_hash(variant) == exact_hash(ARTICLE)
    assert exact_hash(ARTICLE + " One more sentence.") != exact_hash(ARTICLE)


def test_syndicated_copy_with_edits_is_near_identical() -> None:
    paragraphs = ARTICLE.split("\n")
    # A syndicated copy: last paragraph cut, a line of attribution added, a word changed.
    copy = "\n".join(["(Reuters) Updated copy.", *paragraphs[:-1]]).replace("Tuesday", "Tue")
    estimate = jaccard_estimate(minhash(ARTICLE), minhash(copy))
    assert estimate >= 0.8
    assert set(lsh_keys(minhash(ARTICLE))) & set(lsh_keys(minhash(copy)))


def test_different_articles_on_the_same_event_are_not_near_duplicates() -> None:
    assert jaccard_estimate(minhash(ARTICLE), minhash(OTHER)) < 0.2


def test_signatures_are_stable_across_processes() -> None:
    # Fixed seeds and crc32: this value must never change between runs or machines.
    assert (
        minhash("the quick brown fox jumps over the lazy dog")[:3]
        == minhash("The quick brown fox, jumps over the lazy dog!")[:3]
    )
    assert len(minhash(ARTICLE)) == 64
    assert normalise("Putin’s “visit” — Tehran") == "putin's visit tehran"


def test_salient_terms_are_names_not_sentence_starts() -> None:
    terms = dict(salient_terms(ARTICLE))
    assert terms["putin"] >= 5
    assert {"iran", "tehran", "erdogan", "khamenei"} <= set(terms)
    assert "officials" not in terms and "the" not in terms


def test_watch_terms_match_whole_words_only() -> None:
    matcher = WatchTermMatcher(["Iran", "Russia"])
    assert matcher("Iran's ties with Russia’s leaders") == {"iran", "russia"}
    assert matcher("Iranian and Russian officials") == frozenset()
    assert WatchTermMatcher([])("anything") == frozenset()


NO_TERMS = WatchTermMatcher([])
BRIEFS = [
    "Storm closes schools across the northern region as snow falls for a third day",
    "Central bank holds interest rates steady as inflation eases for a second month",
    "Rail workers vote to strike over pay in a dispute that has lasted since spring",
]


def features_of(text: str, item_id: str) -> tuple[str, tuple[int, ...]]:
    """Through extraction, as in the pipeline: a headline-only brief has no body."""
    doc = RawDocument(item_id, f"file:///{item_id}", text.encode(), "text/plain", mtime=1.7e9)
    article = extract_article(doc, ExtractionSettings())
    features = compute_features(article.title, article.text, NO_TERMS, item_id=article.id)
    return features.exact_hash, features.minhash


def test_different_one_line_briefs_are_not_duplicates() -> None:
    for brief in BRIEFS:  # the whole line is the title; the body is empty
        assert (
            extract_article(
                RawDocument("b", "file:///b", brief.encode(), "text/plain", mtime=1.7e9),
                ExtractionSettings(),
            ).text
            == ""
        )
    signatures = [features_of(brief, f"brief-{i}") for i, brief in enumerate(BRIEFS)]
    assert len({exact for exact, _ in signatures}) == len(BRIEFS)
    for i, (_, a) in enumerate(signatures):
        for _, b in signatures[i + 1 :]:
            assert jaccard_estimate(a, b) < 0.3


def test_a_true_copy_of_a_brief_is_still_an_exact_duplicate() -> None:
    original = features_of(BRIEFS[0], "brief-0")
    copy = features_of(BRIEFS[0].upper() + "\n", "copy-of-0")
    assert copy == original


def test_signatures_cover_the_title_as_well_as_the_body() -> None:
    body = "The minister resigned on Monday after a week of protests in the capital."
    one = compute_features("Minister resigns", body, NO_TERMS, item_id="a")
    other = compute_features("Protests end", body, NO_TERMS, item_id="b")
    assert one.exact_hash != other.exact_hash
    assert one.minhash != other.minhash


def test_words_of_any_script_count() -> None:
    russian = "Путин прибыл в Тегеран для переговоров с президентом Ирана о новом договоре"
    chinese = "普京抵达德黑兰，与伊朗总统会谈新条约。"
    other_russian = "Землетрясение магнитудой шесть баллов произошло у побережья Японии утром"
    assert normalise(russian).split()[:2] == ["путин", "прибыл"]
    assert normalise(chinese) != ""
    hashes = {exact_hash(t) for t in (russian, chinese, other_russian)}
    assert len(hashes) == 3
    assert exact_hash(russian.upper()) == exact_hash(russian)


def test_a_text_without_words_never_matches_another() -> None:
    symbols = "🔥 🔥 🔥 — !!! ★ ★"
    one = compute_features("", symbols, NO_TERMS, item_id="a")
    other = compute_features("", symbols, NO_TERMS, item_id="b")
    assert normalise(symbols) == ""
    assert one.exact_hash != other.exact_hash
    assert jaccard_estimate(one.minhash, other.minhash) < 0.2
    assert not set(lsh_keys(one.minhash)) & set(lsh_keys(other.minhash))
