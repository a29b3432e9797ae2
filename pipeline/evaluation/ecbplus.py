"""Converting the ECB+ corpus into threadwatch's labelled-stream format.

ECB+ (Cybulska & Vossen, LREC 2014) holds 982 news articles in 43 topics; each
topic has two different real events of the same kind (two earthquakes, two
celebrities entering rehab), which makes it a hard test of keeping similar
events apart. The corpus text was rebuilt from tokens ("Reid , her rep told
People .", quotes as `` and ''): ``detokenize`` restores normal spacing so the
model sees text like a news page's. ECB+ has no publication dates, so the
converter gives the stream its own clock: one article a minute, in a
deterministic order (by document name) or a seeded shuffle; or, with
``timeline``, the event time news would have (see ``timeline``).
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
#: Timeline mode: topics start within this many days of STREAM_START ...
TIMELINE_TOPIC_SPREAD_DAYS = 365.0
#: ... and a topic's second event starts this many days after its first.
TIMELINE_EVENT_GAP_DAYS = (60.0, 240.0)
#: Gaps between an event's articles: log-normal, median 3 hours, so most
#: events run over a day or two and a few over a week (hours to days).
TIMELINE_GAP_MEDIAN_HOURS = 3.0
TIMELINE_GAP_SIGMA = 1.3

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


def timeline(docs: Iterable[dict[str, Any]], seed: int) -> dict[str, dt.datetime]:
    """Realistic event times for ECB+ documents, by document name: seeded, documented.

    ECB+ pairs two real events of one kind per topic (two earthquakes) but
    gives no dates. News has a shape the one-article-a-minute clock lacks:
    an event's articles arrive over hours to days, a topic's two events are
    months apart, and topics interleave. Here each topic starts at a seeded
    day within ``TIMELINE_TOPIC_SPREAD_DAYS``; its first event (the ``ecb``
    story) starts then, its second ``TIMELINE_EVENT_GAP_DAYS`` later; an
    event's articles (in document-name order) follow one another after
    log-normal gaps (median ``TIMELINE_GAP_MEDIAN_HOURS``). Each topic draws
    from its own generator seeded by (seed, topic), so keeping a subset of
    topics leaves their times unchanged.
    """
    by_topic: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for doc in sorted(docs, key=_natural):
        by_topic.setdefault(int(doc["topic"]), {}).setdefault(str(doc["story"]), []).append(doc)
    times: dict[str, dt.datetime] = {}
    for topic, stories in sorted(by_topic.items()):
        rng = random.Random(f"ecbplus-timeline:{seed}:{topic}")
        start = rng.uniform(0.0, TIMELINE_TOPIC_SPREAD_DAYS) * 86400.0
        # ``ecb`` before ``ecbplus``: the corpus's older event comes first.
        for n, story in enumerate(sorted(stories, key=lambda s: (s.endswith("plus"), s))):
            if n:
                start += rng.uniform(*TIMELINE_EVENT_GAP_DAYS) * 86400.0
            at = start + rng.uniform(0.0, 6 * 3600.0)
            for doc in stories[story]:
                times[str(doc["doc"])] = STREAM_START + dt.timedelta(seconds=round(at))
                gap = rng.lognormvariate(0.0, TIMELINE_GAP_SIGMA) * TIMELINE_GAP_MEDIAN_HOURS
                at += gap * 3600.0
    return times


def convert(
    docs: Iterable[dict[str, Any]],
    shuffle_seed: int | None = None,
    timeline_seed: int | None = None,
) -> Iterator[dict[str, Any]]:
    """ECB+ records → labelled-stream records (all ``role: stream``), in stream order.

    Event times: one a minute in document-name order (or a seeded shuffle of
    it), or with ``timeline_seed`` the realistic times of ``timeline``.
    """
    records = sorted(docs, key=_natural)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(records)
    times = timeline(records, timeline_seed) if timeline_seed is not None else None
    if times is not None:
        records.sort(key=lambda d: (times[str(d["doc"])], _natural(d)))
    for position, doc in enumerate(records):
        url, title, body = _split_head(detokenize(str(doc["text"])))
        if not body.strip():  # a headline-only document: the headline is its text
            body, title = title or "", None
        record: dict[str, Any] = {
            "id": str(doc["doc"]).removesuffix(".xml"),
            "text": body,
            "published": _iso(
                times[str(doc["doc"])] if times else STREAM_START + position * STREAM_STEP
            ),
            "story": str(doc["story"]),
            "thread": f"topic-{doc['topic']}",
            "role": "stream",
        }
        if title:
            record["title"] = title
        if url:
            record["url"] = url
        yield record


def _iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


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


def as_storylines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Storyline threads: a watched thread is one event, its topic's other event a near miss.

    ECB+ pairs two look-alike events per topic. Relabelled here, the gold
    thread of an article is its event (story), and the exemplars (chosen by
    ``with_exemplars`` from each topic's first event) define a watched thread
    named after that event alone; the topic's second event has no watched
    thread, so an alert for it is exactly the near-miss alert an analyst
    does not want.
    """
    first_story: dict[str, str] = {}
    for record in records:
        if record.get("story"):
            topic, story = record["thread"], record["story"]
            first_story[topic] = min(first_story.get(topic, story), story)
    out = []
    for record in records:
        if record.get("role") == "exemplar":
            out.append({**record, "thread": first_story[record["thread"]]})
        else:
            out.append({**record, "thread": record["story"]})
    return out
