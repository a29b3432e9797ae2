"""``threadwatch poll-feeds``: feeds polled at the edge, new entries published as article messages.

Why at the edge: Beam's ``PeriodicImpulse`` is a splittable DoFn that the
local streaming runner (``BundleBasedDirectRunner``) cannot run, just as
``MatchContinuously`` cannot (see ``pipeline/edge/watch.py``). So, as for a watched
folder, a small loop polls each feed on its interval and publishes each new
entry's article (the fetched page, or the entry's own text) to the topic a
streaming job reads (``--input_subscription``). The same loop runs beside a
Dataflow job (a VM or a Cloud Run job).

It uses the same pure code as ``ReadFeeds`` (fetching, parsing, the page or
entry fallback) and adds what polling needs: conditional GET (ETag /
Last-Modified, a 304 costs nothing), each feed on its own ``poll_seconds``,
and a bounded memory of the entries already published (``memory`` keys,
oldest forgotten first), kept in a state file written atomically
(``transforms/core/atomic.py``) after every pass and every published entry, so a
restarted poller neither re-publishes old entries nor misses new ones.

Nothing lost: a failed publish is retried with backoff
(``pipeline/edge/publish_retry.py``). An entry is remembered only once its message
is published, so a restart (even after SIGKILL) skips exactly what was
published. A feed's validators
and next poll time advance only when every new entry of its poll is
published: a publish that fails past its retries ends the pass (the feeds
not reached stay due), is reported (``PollReport.publish_failures``), and
leaves the feed's old validators, so its next poll fetches the feed again and
publishes the entries still missing. The process keeps running.

Nothing twice, except one window: a kill after Pub/Sub accepted a message
and before the state write that follows it republishes that one entry on
restart (so does a publish that timed out on our side yet reached Pub/Sub).
The job's ``--state`` absorbs it: same article id, recorded as ``same_id``.
"""

import collections
import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.edge.publish_retry import Backoff, PublishFailed, publish_with_retry
from pipeline.edge.watch import message_for
from transforms.core.atomic import replace_text
from transforms.core.clock import utcnow
from transforms.core.errors import ItemError
from transforms.core.records import DeadLetter, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.sources.feed_entries import entry_document, feed_dead_letter, read_feed
from transforms.sources.feed_types import FeedEntry, FeedList, FeedSpec
from transforms.sources.http_fetch import HttpFetcher


@dataclasses.dataclass
class PollReport:
    """What one pass did.

    ``entries == published + already_seen + dead_lettered + not_published``:
    ``not_published`` counts the new entries of a feed whose publishing
    failed, left for its next poll.
    """

    feeds_polled: int = 0
    #: Due, but not polled: publishing had failed earlier in the pass.
    feeds_deferred: int = 0
    not_modified: int = 0
    feeds_failed: int = 0
    entries: int = 0
    published: int = 0
    already_seen: int = 0
    dead_lettered: int = 0
    not_published: int = 0
    fallbacks: int = 0
    dead_letters: list[DeadLetter] = dataclasses.field(default_factory=list)
    #: One line per publish that failed past its retries (feed, entry, error).
    publish_failures: list[str] = dataclasses.field(default_factory=list)


def article_message(doc: RawDocument) -> dict[str, Any]:
    """An article message for ``--input_subscription``, with the feed's flags kept."""
    message = message_for(doc)
    message["published_source"] = doc.meta.origin
    if doc.meta.text_from:
        message["text_from"] = doc.meta.text_from
    return message


class FeedPoller:
    """Polls the feeds that are due and publishes their new entries' articles."""

    def __init__(
        self,
        feeds: FeedList,
        settings: ExtractionSettings,
        publish: Callable[[bytes], None],
        state_path: Path | None = None,
        memory: int = 50_000,
        fetcher: HttpFetcher | None = None,
        log: Callable[[str], None] = print,
        now: Callable[[], dt.datetime] = utcnow,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if memory < 1:
            raise ValueError("memory must be at least 1")
        self.feeds = feeds
        self._settings = settings
        self._publish = publish
        self._state_path = state_path
        self._memory = memory
        self._fetcher = fetcher or HttpFetcher(feeds.http)
        self._log = log
        self._now = now
        self._backoff = backoff
        self._sleep = sleep
        self._validators: dict[str, tuple[str | None, str | None]] = {}
        self._next_poll: dict[str, dt.datetime] = {}
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        if state_path is not None and state_path.exists():
            self._load(json.loads(state_path.read_text()))

    @property
    def seen(self) -> list[str]:
        return list(self._seen)

    def _load(self, state: dict[str, Any]) -> None:
        for url, feed in state.get("feeds", {}).items():
            self._validators[url] = (feed.get("etag"), feed.get("last_modified"))
            if feed.get("next_poll"):
                self._next_poll[url] = dt.datetime.fromisoformat(feed["next_poll"])
        for key in state.get("seen", [])[-self._memory :]:
            self._seen[key] = None

    def _save(self) -> None:
        if self._state_path is None:
            return
        state = {
            "feeds": {
                spec.url: {
                    "etag": self._validators.get(spec.url, (None, None))[0],
                    "last_modified": self._validators.get(spec.url, (None, None))[1],
                    "next_poll": (
                        self._next_poll[spec.url].isoformat()
                        if spec.url in self._next_poll
                        else None
                    ),
                }
                for spec in self.feeds.feeds
            },
            "seen": list(self._seen),
        }
        replace_text(self._state_path, json.dumps(state, ensure_ascii=False))

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self._memory:
            self._seen.popitem(last=False)

    def due(self, now: dt.datetime) -> list[tuple[int, FeedSpec]]:
        return [
            (position, spec)
            for position, spec in enumerate(self.feeds.feeds)
            if self._next_poll.get(spec.url, now) <= now
        ]

    def poll(self, every_feed: bool = False) -> PollReport:
        """One pass over the feeds that are due (``every_feed``: over all of them)."""
        report = PollReport()
        now = self._now()
        feeds = list(enumerate(self.feeds.feeds)) if every_feed else self.due(now)
        for position, spec in feeds:
            if report.publish_failures:  # Pub/Sub is failing: the rest stay due
                report.feeds_deferred += 1
                continue
            self._poll_feed(position, spec, report)
            # Only now: a poll cut short by a kill is due again at restart.
            self._next_poll[spec.url] = now + dt.timedelta(seconds=spec.poll_seconds)
        if report.feeds_polled:
            self._save()
        return report

    def _poll_feed(self, position: int, spec: FeedSpec, report: PollReport) -> None:
        report.feeds_polled += 1
        etag, modified = self._validators.get(spec.url, (None, None))
        try:
            read = read_feed(self._fetcher, spec, position, etag, modified)
        except ItemError as exc:
            report.feeds_failed += 1
            self._dead(report, feed_dead_letter(spec, exc))  # the feed, not an entry
            return
        if read.not_modified:
            report.not_modified += 1
            self._validators[spec.url] = (read.etag, read.last_modified)
            return
        assert read.feed is not None
        report.entries += len(read.feed.entries) + len(read.feed.rejected)
        for letter in read.feed.rejected:
            if letter.item not in self._seen:
                report.dead_lettered += 1
                self._dead(report, letter)
                self._remember(letter.item)
            else:
                report.already_seen += 1
        entries = read.feed.entries
        for index, entry in enumerate(entries):
            if entry.key in self._seen:
                report.already_seen += 1
                continue
            outcome = entry_document(entry, self._fetcher, self._settings)
            if isinstance(outcome.item, DeadLetter):
                report.dead_lettered += 1
                self._dead(report, outcome.item)
            else:
                data = json.dumps(article_message(outcome.item), ensure_ascii=False).encode()
                try:
                    publish_with_retry(self._publish, data, self._backoff, self._sleep, self._log)
                except PublishFailed as failure:
                    self._publish_failed(spec, entries[index:], failure, report)
                    return  # the old validators stay: the next poll fetches these again
                report.published += 1
                report.fallbacks += outcome.fallback is not None
            self._remember(entry.key)
            self._save()  # after each entry: a kill republishes at most the one in flight
        self._validators[spec.url] = (read.etag, read.last_modified)

    def _publish_failed(
        self, spec: FeedSpec, left: Sequence[FeedEntry], failure: PublishFailed, report: PollReport
    ) -> None:
        for entry in left:
            if entry.key in self._seen:
                report.already_seen += 1
            else:
                report.not_published += 1
        line = f"{spec.url}: {left[0].key}: {failure}"
        report.publish_failures.append(line)
        self._log(f"publish failed, {spec.url} is polled again at its next poll: {line}")

    def _dead(self, report: PollReport, letter: DeadLetter) -> None:
        report.dead_letters.append(letter)
        self._log(f"dead letter: {letter.stage}.{letter.reason}: {letter.uri}: {letter.detail}")

    def run(self, stop: threading.Event, tick_seconds: float = 1.0) -> None:
        """Polls until ``stop`` is set, waking every ``tick_seconds`` to see what is due."""
        while not stop.is_set():
            report = self.poll()
            if report.feeds_polled:
                self._log(
                    f"polled {report.feeds_polled} feed(s): {report.not_modified} not modified, "
                    f"{report.feeds_failed} failed; {report.published} published, "
                    f"{report.already_seen} already seen, {report.dead_lettered} dead-lettered, "
                    f"{report.not_published} not published ({len(report.publish_failures)} "
                    f"publish failure(s), {report.feeds_deferred} feed(s) deferred)"
                )
            stop.wait(tick_seconds)

    def close(self) -> None:
        self._fetcher.close()
