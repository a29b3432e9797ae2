"""Aggregates a run's records into what the report page shows, as plain JSON data.

The page renders threads and stories, not raw records: articles are nested in
their story (as compact arrays, so a 100,000-article run stays a few MB), and
duplicates are folded into the story of the article they copy. The counts are
recomputed from the files themselves rather than taken from the run's
counters, so that they add up by construction: every item read is in exactly
one of assignments, duplicates and dead letters, and ``read`` is their sum.
Items found in more than one of them (or twice in one) are counted and shown
as a warning instead of being hidden.

Watched threads are not written to ``threads.jsonl`` (it records the threads
the tracker created); their titles come from the alerts, or from
``thread_titles`` (the watchlist) when the caller has it, else the thread id.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.report.load import Record, RunOutput

#: Dead letters listed per (stage, reason); the count is always the full one.
DEAD_LETTERS_LISTED = 200
UNTHREADED = ""
SCHEMA = 1

#: Column order of an article and of a duplicate in the page's data.
ARTICLE_FIELDS = ("id", "title", "url", "source", "published")
DUPLICATE_FIELDS = (*ARTICLE_FIELDS, "kind", "duplicate_of", "similarity")


def _article_row(article: Mapping[str, Any]) -> list[Any]:
    return [str(article.get(field) or "") for field in ARTICLE_FIELDS]


def _story_threads(output: RunOutput) -> dict[str, str | None]:
    """Story id → thread id: the story record's, else its alert's, else its articles'."""
    thread_of: dict[str, str | None] = {}
    for assignment in output.assignments:
        if assignment.get("thread_id"):
            thread_of[assignment["story_id"]] = assignment["thread_id"]
    for alert in output.alerts:
        thread_of[alert["story"]["id"]] = alert["thread"]["id"]
    for story in output.stories:
        if story.get("thread_id"):
            thread_of[story["story_id"]] = story["thread_id"]
    return thread_of


def _latest_story_records(stories: Iterable[Record]) -> dict[str, Record]:
    """A story written more than once (streaming panes) is reported as its latest state."""
    latest: dict[str, Record] = {}
    for record in stories:
        key = (str(record.get("event_time", "")), int(record.get("size", 0)))
        held = latest.get(record["story_id"])
        if held is None or key >= (str(held.get("event_time", "")), int(held.get("size", 0))):
            latest[record["story_id"]] = record
    return latest


def _story_of_duplicates(
    output: RunOutput, story_of_article: Mapping[str, str]
) -> dict[int, str | None]:
    """Index in ``output.duplicates`` → the story of the article it copies (chains followed)."""
    copy_of = {d["article"]["id"]: d["duplicate_of"] for d in output.duplicates}
    placed: dict[int, str | None] = {}
    for index, duplicate in enumerate(output.duplicates):
        target, seen = duplicate["duplicate_of"], set()
        while target not in story_of_article and target in copy_of and target not in seen:
            seen.add(target)
            target = copy_of[target]
        placed[index] = story_of_article.get(target)
    return placed


def _counts(output: RunOutput) -> dict[str, int]:
    ids = Counter(
        [a["article"]["id"] for a in output.assignments]
        + [d["article"]["id"] for d in output.duplicates]
        + [d["item"] for d in output.dead_letters]
    )
    clustered, duplicates = len(output.assignments), len(output.duplicates)
    dead = len(output.dead_letters)
    return {
        "read": clustered + duplicates + dead,
        "clustered": clustered,
        "duplicates": duplicates,
        "dead_letters": dead,
        "alerts": len(output.alerts),
        # Records beyond the first for one item id: should be 0.
        "repeated": sum(n - 1 for n in ids.values() if n > 1),
    }


def _dead_letter_groups(dead_letters: Iterable[Record]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in dead_letters:
        groups[(str(record.get("stage", "")), str(record.get("reason", "")))].append(record)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        {
            "stage": stage,
            "reason": reason,
            "count": len(records),
            "items": [
                [str(r.get("item", "")), str(r.get("uri", "")), str(r.get("detail", ""))]
                for r in sorted(records, key=lambda r: str(r.get("item", "")))[:DEAD_LETTERS_LISTED]
            ],
        }
        for (stage, reason), records in ordered
    ]


def _thread_meta(output: RunOutput, thread_titles: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Thread id → (title, kind) from every place a thread is named."""
    meta: dict[str, tuple[str, str]] = {
        tid: (title, "watched") for tid, title in thread_titles.items()
    }
    for alert in output.alerts:
        thread = alert["thread"]
        meta[thread["id"]] = (str(thread.get("title") or thread["id"]), str(thread["kind"]))
    for record in output.threads:
        meta[record["thread_id"]] = (
            str(record.get("title") or record["thread_id"]),
            str(record.get("kind", "emergent")),
        )
    return meta


def build_model(
    output: RunOutput, thread_titles: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The page's data: counts, threads (watched first), stories, alerts, dead letters."""
    records = _latest_story_records(output.stories)
    thread_of = _story_threads(output)
    articles: dict[str, list[Record]] = defaultdict(list)
    for assignment in output.assignments:
        articles[assignment["story_id"]].append(assignment["article"])
    story_ids = sorted(
        set(articles) | set(records),
        key=lambda sid: (
            str(records.get(sid, {}).get("opened_at") or _first_published(articles[sid])),
            sid,
        ),
    )
    story_index = {sid: i for i, sid in enumerate(story_ids)}
    story_of_article = {a["article"]["id"]: a["story_id"] for a in output.assignments}
    dups: dict[str | None, list[list[Any]]] = defaultdict(list)
    for index, story_id in _story_of_duplicates(output, story_of_article).items():
        duplicate = output.duplicates[index]
        dups[story_id].append(
            [
                *_article_row(duplicate["article"]),
                str(duplicate.get("kind", "")),
                str(duplicate.get("duplicate_of", "")),
                duplicate.get("similarity"),
            ]
        )
    alerts = sorted(output.alerts, key=lambda a: (str(a.get("event_time", "")), a["alert_id"]))
    alerts_of: dict[str, list[int]] = defaultdict(list)
    for i, alert in enumerate(alerts):
        alerts_of[alert["story"]["id"]].append(i)

    stories = [
        _story(sid, records.get(sid), articles[sid], thread_of.get(sid), dups[sid], alerts_of[sid])
        for sid in story_ids
    ]
    meta = _thread_meta(output, thread_titles or {})
    members: dict[str, list[int]] = defaultdict(list)
    for i, story in enumerate(stories):
        members[story["thread"] or UNTHREADED].append(i)
    threads = [_thread(tid, meta, members[tid], stories) for tid in set(members) | set(meta)]
    kind_order = {"watched": 0, "emergent": 1, "unthreaded": 2}
    threads.sort(key=lambda t: (kind_order.get(t["kind"], 1), -t["articles"], t["title"], t["id"]))
    counts = _counts(output)
    counts["stories"] = len(stories)
    counts["threads"] = sum(1 for t in threads if t["kind"] != "unthreaded")
    dates = [d for s in stories for d in (s["opened"], s["last"]) if d]
    return {
        "schema": SCHEMA,
        "folder": str(output.folder),
        "layout": output.layout,
        "counts": counts,
        "extent": [min(dates), max(dates)] if dates else None,
        "threads": threads,
        "stories": stories,
        "alerts": [_alert(a, story_index) for a in alerts],
        "dead_letters": _dead_letter_groups(output.dead_letters),
        # Duplicates of articles that are not in this run's assignments.
        "unplaced_duplicates": dups[None],
    }


def _first_published(articles: Iterable[Mapping[str, Any]]) -> str:
    return min((str(a.get("published", "")) for a in articles), default="")


def _story(
    story_id: str,
    record: Record | None,
    articles: list[Record],
    thread_id: str | None,
    dups: list[list[Any]],
    alerts: list[int],
) -> dict[str, Any]:
    ordered = sorted(articles, key=lambda a: (str(a.get("published", "")), str(a["id"])))
    published = [str(a.get("published", "")) for a in ordered if a.get("published")]
    sources = Counter(str(a.get("source") or "") for a in ordered)
    record = record or {}
    return {
        "id": story_id,
        "title": str(record.get("title") or (ordered[0].get("title") if ordered else "") or ""),
        "thread": thread_id,
        "opened": str(record.get("opened_at") or (published[0] if published else "")),
        "last": str(record.get("last_seen") or (published[-1] if published else "")),
        "status": str(record.get("status") or "open"),
        "size": len(ordered),
        "terms": [str(t) for t in record.get("top_terms", [])],
        "sources": sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])),
        "articles": [_article_row(a) for a in ordered],
        "dups": dups,
        "alerts": alerts,
    }


def _thread(
    thread_id: str,
    meta: Mapping[str, tuple[str, str]],
    members: list[int],
    stories: list[dict[str, Any]],
) -> dict[str, Any]:
    if thread_id == UNTHREADED:
        title, kind = "Stories on no thread", "unthreaded"
    else:
        # A thread no alert or threads.jsonl names: the tracker records every
        # thread it creates, so an unnamed one comes from the watchlist.
        title, kind = meta.get(thread_id, (thread_id, "watched"))
    return {
        "id": thread_id,
        "title": title,
        "kind": kind,
        "stories": members,
        "articles": sum(stories[i]["size"] for i in members),
        "alerts": sum(len(stories[i]["alerts"]) for i in members),
    }


def _alert(alert: Record, story_index: Mapping[str, int]) -> dict[str, Any]:
    evidence = alert.get("evidence", {})
    return {
        "id": alert["alert_id"],
        "thread": alert["thread"]["id"],
        "thread_title": str(alert["thread"].get("title") or alert["thread"]["id"]),
        "story": alert["story"]["id"],
        "story_index": story_index.get(alert["story"]["id"]),
        "score": alert.get("score"),
        "matched_by": alert.get("matched_by"),
        "time": str(alert.get("event_time", "")),
        "article": _article_row(alert.get("article", {})),
        "shared_terms": list(evidence.get("shared_terms", [])),
        "required_terms_found": list(evidence.get("required_terms_found", [])),
        "nearest_story": evidence.get("nearest_story"),
    }
