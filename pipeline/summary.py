"""The run summary printed at the end of ``threadwatch run``."""

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter

from transforms.metrics import NAMESPACE


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
            f"threads:           {get('threads_emergent')} emergent"
            f" (+ the watched threads of the watchlist)",
            f"alerts:            {get('alerts')}",
        ]
        if not self.accounted:
            out.append("WARNING: read != clustered + duplicates + dead-lettered")
        for alert in self.alerts:
            out.append(format_alert(alert))
        return out


def _breakdown(counters: Mapping[str, int], prefix: str) -> str:
    parts = [
        f"{name.removeprefix(prefix)}: {value}"
        for name, value in sorted(counters.items())
        if name.startswith(prefix) and name.count(".") == 2 and value
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


def summarise(counters: Mapping[str, int], alerts: Iterable[Mapping[str, Any]]) -> Summary:
    return Summary(dict(counters), tuple(alerts))
