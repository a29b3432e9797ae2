"""The run summary printed at the end of ``threadwatch run``."""

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter

from transforms.core.metrics import NAMESPACE


def counters_from_result(result: Any) -> dict[str, int]:
    """Sums each threadwatch counter over the steps that incremented it."""
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    totals: dict[str, int] = {}
    for metric in query["counters"]:
        value = metric.committed if metric.committed is not None else metric.attempted
        totals[metric.key.metric.name] = totals.get(metric.key.metric.name, 0) + int(value or 0)
    return totals


@dataclasses.dataclass(frozen=True)
class Summary:
    counters: Mapping[str, int]
    alerts: tuple[Mapping[str, Any], ...]
    #: Threads of the watchlist; None: not known here (the line names emergent ones only).
    watched: int | None = None

    def get(self, name: str) -> int:
        return int(self.counters.get(name, 0))

    @property
    def accounted(self) -> bool:
        """Every item read ends in exactly one place."""
        return self.get("items_read") == (
            self.get("articles_clustered") + self.get("duplicates") + self.get("dead_letters")
        )

    def lines(self) -> list[str]:
        get = self.get
        out = [
            f"articles read:     {get('items_read')}",
            f"  cleaned:         {get('articles_cleaned')}",
            f"  clustered:       {get('articles_clustered')}",
            f"  duplicates:      {get('duplicates')}",
            f"  dead-lettered:   {get('dead_letters')}"
            + _breakdown(self.counters, "dead_letters."),
            f"stories opened:    {get('stories_opened')}",
            f"threads:           {get('threads_emergent')} emergent" + self._watched_part(),
            f"alerts:            {get('alerts')}",
        ]
        out.extend(self.feed_lines())
        out.extend(self.webhook_lines())
        if not self.accounted:
            out.append("WARNING: read != clustered + duplicates + dead-lettered")
        for alert in self.alerts:
            out.append(format_alert(alert))
        return out

    def _watched_part(self) -> str:
        if self.watched is None:
            return ""
        if not self.watched:
            return ", 0 watched (the watchlist is empty)"
        return f", {self.watched} watched"

    @property
    def feeds_accounted(self) -> bool:
        """Every feed entry is an article, a duplicate or a dead letter."""
        return self.get("feed_entries") == (
            self.get("feed_entries_articles")
            + self.get("feed_entries_duplicates")
            + self.get("feed_entries_dead_lettered")
        )

    def feed_lines(self) -> list[str]:
        """Only when feeds were read (``--feeds``)."""
        get = self.get
        failed = get("feeds_dead_lettered")
        if not get("feeds_read") and not failed:
            return []
        fallbacks = {
            name.removeprefix("feed_entries_fallback."): value
            for name, value in self.counters.items()
            if name.startswith("feed_entries_fallback.") and value
        }
        why = ", ".join(f"{k}: {v}" for k, v in sorted(fallbacks.items()))
        out = [
            f"feeds:             {get('feeds_read') + failed}  ({get('feeds_read')} read, "
            f"{failed} dead-lettered)",
            f"  entries:         {get('feed_entries')}",
            f"  to extraction:   {get('feed_entries_articles')}"
            + (
                f"  ({get('feed_entries_fallback')} from the entry's own text: {why})"
                if why
                else ""
            ),
            f"  duplicates:      {get('feed_entries_duplicates')}",
            f"  dead-lettered:   {get('feed_entries_dead_lettered')}",
        ]
        if not self.feeds_accounted:
            out.append("WARNING: feed entries != to extraction + duplicates + dead-lettered")
        return out

    def webhook_lines(self) -> list[str]:
        """Only when alerts were sent to a webhook (``--alert_webhook``)."""
        delivered, failed = self.get("webhook_delivered"), self.get("webhook_dead_lettered")
        if not delivered and not failed:
            return []
        return [
            f"webhook:           {delivered} delivered, {failed} dead-lettered"
            + _breakdown(self.counters, "webhook_dead_lettered.", dots=1)
            + f"  ({self.get('webhook_attempts')} attempts)"
        ]


def _breakdown(counters: Mapping[str, int], prefix: str, dots: int = 2) -> str:
    parts = [
        f"{name.removeprefix(prefix)}: {value}"
        for name, value in sorted(counters.items())
        if name.startswith(prefix) and name.count(".") == dots and value
    ]
    return f"  ({', '.join(parts)})" if parts else ""


def format_alert(alert: Mapping[str, Any]) -> str:
    article = alert["article"]
    return (
        f"ALERT {article['published'][:16]}  [{alert['thread']['title']}]  "
        f"{article['title'][:80]}  (story {alert['story']['id']}, score {alert['score']:.2f}, "
        f"by {alert['matched_by']})"
    )


def read_jsonl(path: str) -> list[dict[str, Any]]:
    if not FileSystems.exists(path):
        return []
    with FileSystems.open(path) as handle:
        return [json.loads(line) for line in handle.read().decode().splitlines() if line.strip()]


def summarise(
    counters: Mapping[str, int],
    alerts: Iterable[Mapping[str, Any]],
    watched: int | None = None,
) -> Summary:
    return Summary(dict(counters), tuple(alerts), watched)
