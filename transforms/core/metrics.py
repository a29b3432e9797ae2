"""Beam metrics under one namespace, with the names the run summary reads."""

from apache_beam.metrics.metric import Metrics
from apache_beam.metrics.metricbase import Counter

from transforms.core.records import DeadLetter

NAMESPACE = "threadwatch"


def counter(name: str) -> Counter:
    return Metrics.counter(NAMESPACE, name)


def count_dead_letter(letter: DeadLetter) -> None:
    """Counts a dead letter in total, by stage and by stage and reason."""
    counter("dead_letters").inc()
    counter(f"dead_letters.{letter.stage}").inc()
    counter(f"dead_letters.{letter.stage}.{letter.reason}").inc()
