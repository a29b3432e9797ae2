"""What happened in a period, per thread: the data of ``threadwatch digest`` (pure).

Reads the same records as the report (``load.load_output``, aggregated by
``model.build_model``) and keeps what a reader of an email wants: the stories
opened in the period, thread by thread (watched threads first, emergent ones
apart), each with its alerts; and the biggest stories of the period by the
number of their articles published in it.

The period is ``(start, end]`` in event time (the articles' publication
times). Its end is ``--until``, else ``--now``, else the latest event in the
outputs, never the wall clock: the same outputs give the same digest.
"""

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pipeline.report.load import RunOutput
from pipeline.report.model import build_model

#: Stories listed under "Biggest stories".
BIGGEST = 5
_DURATION = re.compile(r"(\d+)\s*(m|min|h|d|w)", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class PeriodError(ValueError):
    """A ``--since``/``--until``/``--now`` value that is neither a duration nor a time."""


def parse_time(text: str, flag: str) -> dt.datetime:
    """An ISO 8601 date or time; without a zone, UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            f"{flag} {text!r}: not a time (expected ISO 8601, e.g. 2024-10-10T09:00:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_duration(text: str) -> dt.timedelta | None:
    """``24h``, ``7d``, ``90m``, ``2w``, ``1d12h``; None if ``text`` is not a duration."""
    compact = text.strip()
    if not compact or _DURATION.sub("", compact).strip():
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(compact))
    return dt.timedelta(seconds=seconds)


@dataclasses.dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, when: object) -> bool:
        return isinstance(when, dt.datetime) and self.start < when <= self.end


def resolve_period(
    since: str, until: str | None, now: str | None, latest: dt.datetime | None
) -> Period:
    """``since`` is a duration back from the end, or a time; the end as the module says."""
    if until is not None:
        end = _time_or_back(until, "--until", _reference(now, latest))
    else:
        end = _reference(now, latest)
    back = parse_duration(since)
    if back is not None:
        if back <= dt.timedelta(0):
            raise PeriodError(f"--since {since!r}: the duration must be positive")
        start = end - back
    else:
        start = parse_time(since, "--since")
    if start >= end:
        raise PeriodError(f"--since {since!r}: the period must start before it ends ({_iso(end)})")
    return Period(start, end)


def _reference(now: str | None, latest: dt.datetime | None) -> dt.datetime:
    if now is not None:
        return parse_time(now, "--now")
    # No event at all: an empty digest, ending at the epoch rather than the wall clock.
    return latest or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _time_or_back(text: str, flag: str, reference: dt.datetime) -> dt.datetime:
    back = parse_duration(text)
    return reference - back if back is not None else parse_time(text, flag)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: Any) -> dt.datetime | None:
    if not text:
        return None
    try:
        return parse_time(str(text), "time")
    except PeriodError:
        return None


def latest_event_time(output: RunOutput) -> dt.datetime | None:
    """The latest publication or alert time in the outputs (not a story's closing time)."""
    times = [a["article"].get("published") for a in output.assignments]
    times += [d["article"].get("published") for d in output.duplicates]
    times += [a.get("event_time") for a in output.alerts]
    found = [t for t in (_when(x) for x in times) if t is not None]
    return max(found, default=None)


@dataclasses.dataclass(frozen=True)
class DigestAlert:
    alert_id: str
    time: str
    score: float | None
    matched_by: str
    title: str
    url: str
    source: str
    nearest_story: str | None


@dataclasses.dataclass(frozen=True)
class DigestStory:
    id: str
    title: str
    opened: str
    size: int
    #: Articles of the story published in the period.
    in_period: int
    sources: tuple[str, ...]
    url: str
    thread_title: str
    alerts: tuple[DigestAlert, ...]


@dataclasses.dataclass(frozen=True)
class DigestThread:
    id: str
    title: str
    kind: str
    #: An emergent thread whose first story is in the period.
    new: bool
    stories: tuple[DigestStory, ...]

    @property
    def alerts(self) -> int:
        return sum(len(s.alerts) for s in self.stories)


@dataclasses.dataclass(frozen=True)
class Digest:
    period: Period
    folder: str
    watched: tuple[DigestThread, ...]
    emergent: tuple[DigestThread, ...]
    biggest: tuple[DigestStory, ...]
    #: Watched threads with no new story in the period.
    quiet: tuple[str, ...]
    articles: int

    @property
    def new_stories(self) -> int:
        return sum(len(t.stories) for t in (*self.watched, *self.emergent))

    @property
    def alerts(self) -> int:
        return sum(t.alerts for t in (*self.watched, *self.emergent))

    @property
    def empty(self) -> bool:
        return self.new_stories == 0 and self.articles == 0


def build_digest(
    output: RunOutput, period: Period, thread_titles: Mapping[str, str] | None = None
) -> Digest:
    model = build_model(output, thread_titles)
    alerts = model["alerts"]
    threads = {t["id"]: t for t in model["threads"]}
    first_story = {str(r["thread_id"]): str(r.get("first_story_id")) for r in output.threads}

    def story(raw: dict[str, Any]) -> DigestStory:
        rows = raw["articles"]  # id, title, url, source, published
        in_period = sum(1 for row in rows if _when(row[4]) in period)
        web = [row[2] for row in rows if str(row[2]).startswith(("http://", "https://"))]
        thread = threads.get(raw["thread"] or "", {})
        return DigestStory(
            id=raw["id"],
            title=raw["title"] or raw["id"],
            opened=raw["opened"],
            size=raw["size"],
            in_period=in_period,
            sources=tuple(name for name, _ in raw["sources"] if name),
            url=web[0] if web else (rows[0][2] if rows else ""),
            thread_title=str(thread.get("title") or raw["thread"] or ""),
            alerts=tuple(
                _alert(alerts[i]) for i in raw["alerts"] if _when(alerts[i]["time"]) in period
            ),
        )

    stories = [story(s) for s in model["stories"]]
    new = {
        s.id
        for s, raw in zip(stories, model["stories"], strict=True)
        if _when(raw["opened"]) in period
    }
    watched: list[DigestThread] = []
    emergent: list[DigestThread] = []
    quiet: list[str] = []
    for thread in model["threads"]:
        members = tuple(stories[i] for i in thread["stories"] if stories[i].id in new)
        if thread["kind"] == "watched" and not members:
            quiet.append(thread["title"])
            continue
        if not members:
            continue
        first = first_story.get(thread["id"])
        entry = DigestThread(
            id=thread["id"],
            title=thread["title"],
            kind=thread["kind"],
            new=thread["kind"] == "emergent" and first in new,
            stories=tuple(sorted(members, key=lambda s: (s.opened, s.id))),
        )
        (watched if thread["kind"] == "watched" else emergent).append(entry)
    biggest = sorted(
        (s for s in stories if s.in_period), key=lambda s: (-s.in_period, -s.size, s.opened, s.id)
    )[:BIGGEST]
    return Digest(
        period=period,
        folder=str(output.folder),
        watched=tuple(watched),
        emergent=tuple(emergent),
        biggest=tuple(biggest),
        quiet=tuple(sorted(quiet)),
        articles=sum(s.in_period for s in stories),
    )


def _alert(alert: Mapping[str, Any]) -> DigestAlert:
    _, title, url, source, _published = alert["article"]
    nearest = alert.get("nearest_story") or {}
    return DigestAlert(
        alert_id=str(alert["id"]),
        time=str(alert["time"]),
        score=alert.get("score"),
        matched_by=str(alert.get("matched_by") or ""),
        title=str(title),
        url=str(url),
        source=str(source),
        nearest_story=str(nearest.get("title")) if nearest.get("title") else None,
    )
