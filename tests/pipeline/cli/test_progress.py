"""Progress lines: redrawn on a terminal, heartbeats in logs, rate-limited, fake clock."""

import io

import pytest

from pipeline.cli.progress import Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self._terminal = terminal

    def isatty(self) -> bool:
        return self._terminal


def test_terminal_redraws_one_line_every_two_seconds_with_rate_share_and_eta() -> None:
    clock, out = Clock(), Stream(terminal=True)
    progress = Progress(out, clock, total=1000)
    assert progress.update(read=10)  # the first line at once
    clock.now += 1.0
    assert not progress.update(read=50, embedded=20, clustered=10)  # under 2 s: nothing
    clock.now += 9.0
    assert progress.update(read=200, embedded=120, clustered=95, dropped=5)
    lines = out.getvalue().split("\r")[1:]
    assert len(lines) == 2 and "\n" not in out.getvalue()
    # 100 finished in 10 s: 10/s; 900 left: 90 s.
    assert lines[1] == (
        "threadwatch: read 200 · embedded 120 · clustered 95 · dropped 5 · 10.0/s · "
        "10% of 1,000 · ETA 1m30s · 10s elapsed"
    )


def test_a_shorter_line_blanks_what_is_left_of_the_longer_one() -> None:
    clock, out = Clock(), Stream(terminal=True)
    progress = Progress(out, clock)
    progress.update(read=123_456_789)
    clock.now += 2
    progress.update(read=1)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first) and second.rstrip() != second


def test_without_a_total_there_is_a_rate_but_no_eta() -> None:
    clock, out = Clock(), Stream(terminal=True)
    progress = Progress(out, clock)
    clock.now += 4
    progress.update(read=40, embedded=40, clustered=40)
    line = out.getvalue()
    assert "10.0/s" in line and "ETA" not in line and "%" not in line


def test_not_a_terminal_gets_a_heartbeat_line_every_thirty_seconds() -> None:
    clock, out = Clock(), Stream(terminal=False)
    progress = Progress(out, clock, total=600)
    for second in range(1, 91):
        clock.now += 1
        progress.update(read=second * 5, embedded=second * 4, clustered=second * 4)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines == [
        "threadwatch: progress read=150 embedded=120 clustered=120 dropped=0 rate=4.0/s "
        "total=600 eta=120s elapsed=30s",
        "threadwatch: progress read=300 embedded=240 clustered=240 dropped=0 rate=4.0/s "
        "total=600 eta=90s elapsed=60s",
        "threadwatch: progress read=450 embedded=360 clustered=360 dropped=0 rate=4.0/s "
        "total=600 eta=60s elapsed=90s",
    ]


def test_the_rate_follows_the_last_half_minute_not_the_whole_run() -> None:
    clock, out = Clock(), Stream(terminal=False)
    progress = Progress(out, clock, total=10_000)
    clock.now += 120  # two minutes loading the model: nothing done
    progress.update(clustered=0)
    for _ in range(2):
        clock.now += 30
        progress.update(clustered=progress.counts.clustered + 300)  # then 10 a second
    assert progress.rate(clock.now) == pytest.approx(10.0)
    assert progress.eta(clock.now) == pytest.approx((10_000 - 600) / 10)


def test_finish_completes_the_terminal_line_and_logs_done() -> None:
    clock, tty, log = Clock(), Stream(terminal=True), Stream(terminal=False)
    for stream in (tty, log):
        progress = Progress(stream, clock, total=5)
        progress.update(read=5, embedded=5, clustered=5)
        progress.finish()
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1
    assert log.getvalue().splitlines() == [
        "threadwatch: done read=5 embedded=5 clustered=5 dropped=0 rate=- total=5 eta=- elapsed=0s"
    ]


def test_after_a_failure_there_is_no_done_line() -> None:
    """A refused start or a failed run: the error, not "done", is the last word."""
    clock = Clock()
    untouched = Stream(terminal=False)
    Progress(untouched, clock).finish(failed=True)
    assert untouched.getvalue() == ""
    log = Stream(terminal=False)
    progress = Progress(log, clock, every=1)
    clock.now += 2
    progress.update(read=3)  # a heartbeat was written
    progress.finish(failed=True)
    assert "done" not in log.getvalue() and log.getvalue().count("\n") == 1
    tty = Stream(terminal=True)
    progress = Progress(tty, clock)
    progress.update(read=3)  # the line is drawn at once, with no newline
    progress.finish(failed=True)
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="total"):
        Progress(Stream(False), Clock(), total=-1)
    with pytest.raises(ValueError, match="every"):
        Progress(Stream(False), Clock(), every=0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.4, "59s"), (61, "1m01s"), (3725, "1h02m")]
)
def test_durations_are_short(seconds: float, text: str) -> None:
    assert duration(seconds) == text
