"""Publishing with retries: the waits between attempts, and the failure that outlasts them."""

import pytest

from pipeline.edge.publish_retry import Backoff, PublishFailed, publish_with_retry


class Flaky:
    """Fails the first ``failures`` calls, then records what it is given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.sent: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"unavailable (call {self.calls})")
        self.sent.append(data)


def test_waits_double_up_to_the_cap() -> None:
    assert Backoff(attempts=6, first_seconds=1, multiplier=2, max_seconds=5).waits() == [
        1,
        2,
        4,
        5,
        5,
    ]
    assert Backoff(attempts=1).waits() == []


def test_a_publish_that_recovers_is_sent_once_after_the_waits() -> None:
    publish, slept, logged = Flaky(failures=2), list[float](), list[str]()
    backoff = Backoff(attempts=4, first_seconds=0.5, multiplier=3, max_seconds=1)
    attempts = publish_with_retry(publish, b"m", backoff, slept.append, logged.append)
    assert (attempts, publish.sent, slept) == (3, [b"m"], [0.5, 1])
    assert "attempt 1 of 4" in logged[0] and "retrying in 0.5 s" in logged[0]


def test_a_publish_failing_past_its_attempts_raises_with_the_last_error() -> None:
    publish, slept = Flaky(failures=3), list[float]()
    with pytest.raises(PublishFailed, match="after 3 attempt") as caught:
        publish_with_retry(publish, b"m", Backoff(attempts=3), slept.append, lambda _: None)
    assert publish.calls == 3 and publish.sent == [] and slept == [1, 2]
    assert str(caught.value.error) == "unavailable (call 3)"


def test_bad_backoff_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Backoff(attempts=0)
    with pytest.raises(ValueError, match="multiplier"):
        Backoff(multiplier=0.5)
