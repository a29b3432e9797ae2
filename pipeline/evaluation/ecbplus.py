"""Converting the ECB+ corpus into threadwatch's labelled-stream format.

ECB+ (Cybulska & Vossen, LREC 2014) holds 982 news articles in 43 topics; each
topic has two different real events of the same kind (two earthquakes, two
celebrities entering rehab), which makes it a hard test of keeping similar
events apart. The corpus text was rebuilt from tokens ("Reid , her rep told
People .", quotes as `` and ''): ``detokenize`` restores normal spacing so the
model sees text like a news page's. ECB+ has no publication dates, so the
converter gives the stream its own clock: one article a minute, in a
deterministic order (by document name) or a seeded shuffle.
"""

import datetime as dt
import json
import random
import re
from collections.abc import Iterable, Iterator
from typing import Any

from transforms.text.dates import parse_dateline

STREAM_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STREAM_STEP = dt.timedelta(minutes=1)

_FIXES = [
    (re.compile(r"``\s*"), "“"),
    (re.compile(r"\s*''"), "”"),
    (re.compile(r"\s+([.,;:!?%)\]}])"), r"\1"),
    (re.compile(r"([(\[{$])\s+"), r"\1"),
    (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", re.I), r"\1"),
    (re.compile(r"(\d)\s+-\s+(\d)"), r"\1-\2"),
    (re.compile(r"(\d):\s+(\d)"), r"\1:\2"),
    (re.compile(r"(\w)\s+-\s+(\w)"), r"\1-\2"),
    (re.compile(r"[ \t]+"), " "),
]
_URL_LINE = re.compile(r"^(?:https?|www)\s*[:.]")


_DOC_NAME = re.compile(r"^(\d+)_(\d+)(ecb|ecbplus)")


def _natural(doc: dict[str, Any]) -> tuple[int, int, str, str]:
    """Document-name order as people read it: topic, number, then ecb before ecbplus."""
    name = str(doc["doc"])
    match = _DOC_NAME.match(name)
    if not match:
        return (10**9, 0, "", name)
    return (int(match.group(1)), int(match.group(2)), match.group(3), name)


def detokenize(text: str) -> str:
    """Undoes the corpus tokenisation, line by line."""
    lines = []
    for line in text.splitlines():
        for pattern, replacement in _FIXES:
            line = pattern.sub(replacement, line)
        lines.append(line.strip())
    return "\n".join(lines)


def _split_head(text: str) -> tuple[str | None, str | None, str]:
    """ECB+ documents often start with a URL line and a headline: split them off."""
    lines = text.splitlines()
    url = None
    if lines and _URL_LINE.match(lines[0]):
        url = re.sub(r"\s+", "", lines[0])
        lines = lines[1:]
    title = None
    if (
        lines
        and len(lines[0].split()) <= 20
        and not lines[0].rstrip().endswith(".")
        and parse_dateline(lines[0]) is None
    ):
        title = lines[0].strip()
        lines = lines[1:]
    return url, title, "\n".join(lines)


def convert(
    docs: Iterable[dict[str, Any]], shuffle_seed: int | None = None
) -> Iterator[dict[str, Any]]:
    """ECB+ records → labelled-stream records (all ``role: stream``), in stream order."""
    records = sorted(docs, key=_natural)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(records)
    for position, doc in enumerate(records):
        url, title, body = _split_head(detokenize(str(doc["text"])))
        if not body.strip():  # a headline-only document: the headline is its text
            body, title = title or "", None
        record: dict[str, Any] = {
            "id": str(doc["doc"]).removesuffix(".xml"),
            "text": body,
            "published": (STREAM_START + position * STREAM_STEP).isoformat().replace("+00:00", "Z"),
            "story": str(doc["story"]),
            "thread": f"topic-{doc['topic']}",
            "role": "stream",
        }
        if title:
            record["title"] = title
        if url:
            record["url"] = url
        yield record


def read_docs(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def with_exemplars(records: list[dict[str, Any]], per_topic: int) -> list[dict[str, Any]]:
    """Marks the first ``per_topic`` articles (by id) of each topic's first story as exemplars.

    Exemplars define a watched thread per topic and are not scored: the stream
    then holds the rest of that story and the topic's other event, and both
    should raise an alert on the topic's thread.
    """
    if per_topic <= 0:
        return records
    first_story: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for record in records:
        story = record["story"]
        thread = record["thread"]
        first_story[thread] = min(first_story.get(thread, story), story)
        members.setdefault(story, []).append(record["id"])
    chosen = {
        article_id
        for story in first_story.values()
        for article_id in sorted(members[story])[:per_topic]
    }
    out = []
    for record in records:
        if record["id"] in chosen:
            record = {**record, "role": "exemplar"}
            record.pop("story", None)
        out.append(record)
    return out
