"""The definition hold: articles wait for missing thread documents, for a bounded time."""

import logging

import pytest

from transforms.clustering.hold import DefinitionHold


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_articles_wait_while_a_document_is_missing_and_go_on_once_all_came() -> None:
    clock = Clock()
    hold = DefinitionHold({"thread:t:description", "thread:t:not_about:1"}, 60.0, clock)
    assert hold.waits({"thread:t:description"})
    clock.now += 30
    assert hold.waits(set())
    assert not hold.waits({"thread:t:description", "thread:t:not_about:1", "other"})


def test_a_document_that_never_comes_holds_them_no_longer_than_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    hold = DefinitionHold({"thread:t:description"}, 60.0, clock)
    assert hold.waits(set())
    clock.now += 59.9
    assert hold.waits(set())
    clock.now += 0.2
    with caplog.at_level(logging.WARNING):
        assert not hold.waits(set())
    assert "thread:t:description" in caplog.text and "never came" in caplog.text
