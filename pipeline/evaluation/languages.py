"""Per-language figures of a scored run, and recall on pairs across languages (pure functions).

A stream in many languages can look fine overall while one script is lost
whole (dead-lettered, or folded into unrelated "duplicates"). These figures
say, for each language, where its articles ended; and how often two articles
on one gold story written in different languages end in one predicted story
(the cross-lingual pairwise recall).
"""

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

#: The language of an article whose language nobody stated or detected.
UNKNOWN = "und"


def languages_of(
    stated: Mapping[str, str | None], outputs: Mapping[str, list[dict[str, Any]]]
) -> dict[str, str]:
    """Item → language: the stated one, else the one the run recorded, else ``und``."""
    recorded: dict[str, str] = {}
    for name in ("assignments", "duplicates"):
        for record in outputs.get(name, ()):
            article = record["article"]
            if article.get("language"):
                recorded[article["id"]] = article["language"]
    for letter in outputs.get("dead_letters", ()):
        if letter.get("language"):
            recorded.setdefault(letter["item"], letter["language"])
    return {item: given or recorded.get(item, UNKNOWN) for item, given in stated.items()}


def per_language(
    language: Mapping[str, str], outputs: Mapping[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """For each language: its articles, and how many were clustered, duplicates, dead letters."""
    report: dict[str, dict[str, Any]] = {}

    def entry(lang: str) -> dict[str, Any]:
        return report.setdefault(
            lang,
            {"articles": 0, "clustered": 0, "duplicates": {}, "dead_letters": {}},
        )

    for lang in language.values():
        entry(lang)["articles"] += 1
    for record in outputs.get("assignments", ()):
        item = record["article"]["id"]
        if item in language:
            entry(language[item])["clustered"] += 1
    for record in outputs.get("duplicates", ()):
        item = record["article"]["id"]
        if item in language:
            kinds = entry(language[item])["duplicates"]
            kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    for letter in outputs.get("dead_letters", ()):
        if letter["item"] in language:
            reasons = entry(language[letter["item"]])["dead_letters"]
            reasons[letter["reason"]] = reasons.get(letter["reason"], 0) + 1
    order = sorted(report, key=lambda lang: (-report[lang]["articles"], lang))
    return {lang: report[lang] for lang in order}


def cross_language_duplicates(
    language: Mapping[str, str], outputs: Mapping[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """Duplicates whose original is in another language, by kind (none is right)."""
    kinds: Counter[str] = Counter()
    for record in outputs.get("duplicates", ()):
        item, original = record["article"]["id"], record["duplicate_of"]
        if item in language and original in language and language[item] != language[original]:
            kinds[record["kind"]] += 1
    return dict(sorted(kinds.items()))


def _pairs_across(counts: Mapping[str, int]) -> int:
    """Pairs of items of different languages, from the items per language."""
    total = sum(counts.values())
    return (total * total - sum(n * n for n in counts.values())) // 2


def cross_lingual_recall(
    predicted: Mapping[str, str], gold: Mapping[str, str], language: Mapping[str, str]
) -> dict[str, Any]:
    """Of the pairs of one gold story in two languages, the share in one predicted story."""
    by_story: dict[str, Counter[str]] = defaultdict(Counter)
    by_both: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for item, story in gold.items():
        lang = language.get(item, UNKNOWN)
        by_story[story][lang] += 1
        by_both[(story, predicted[item])][lang] += 1
    pairs = sum(_pairs_across(c) for c in by_story.values())
    together = sum(_pairs_across(c) for c in by_both.values())
    return {
        "pairs": pairs,
        "together": together,
        "recall": round(together / pairs, 4) if pairs else None,
    }
