"""The shipped watchlist on the Russia–Iran watchlist streams, through the real pipeline.

The streams (``tests/fixtures/watchlist/README.md``) hold the treaty's
milestones among near-miss stories with the same two countries. The
watchlist and ``contrast_margin`` were chosen on the development stream;
the check stream was looked at once (``docs/quality.md``, "The shipped
watchlist on the watchlist streams"). Both are self-written, so these
floors guard against regressions; they are not the real-news bar.
"""

import json
from pathlib import Path

import pytest

from pipeline.evaluation.eval_job import EvalRun, run_eval
from tests.support import FIXTURES, SETTINGS, THREADS, CachedModelHandler

WATCHED = "russia-iran-strategic-treaty"

#: Stream, then the fewest of its treaty stories that must alert. Measured:
#: 5 of 7 (dev) and 4 of 6 (check), both missing only stories the story stage
#: merged into a neighbour. One story of slack each, so that a numerics change
#: in the model does not fail the test, while losing two does.
STREAMS = {"russia_iran_dev.jsonl": 4, "russia_iran_check.jsonl": 3}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_the_shipped_watchlist_alerts_on_treaty_stories_and_on_no_near_miss(
    name: str, tmp_path: Path, model_handler: CachedModelHandler
) -> None:
    stream = FIXTURES / "watchlist" / name
    gold = {}
    for line in stream.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        gold[record["id"]] = (record["thread"], record["story"])
    run = EvalRun(str(stream), THREADS, SETTINGS, str(tmp_path))
    report = run_eval(run, ["--runner=FnApiRunner"], handler=model_handler)

    alerts = [
        json.loads(line)
        for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    alerted = [gold[a["article"]["id"]] for a in alerts]
    # The bar: no near-miss alert, and no story alerted twice.
    near_misses = [story for thread, story in alerted if thread != WATCHED]
    assert near_misses == []
    assert len({story for _, story in alerted}) == len(alerted)
    treaty_stories = {story for thread, story in gold.values() if thread == WATCHED}
    assert len(alerted) >= STREAMS[name], f"{len(alerted)} of {len(treaty_stories)} alerted"
    treaty = report["alerts"]["per_thread"][WATCHED]
    assert treaty["precision"] == 1.0
    assert treaty["recall"] == pytest.approx(len(alerted) / len(treaty_stories), abs=1e-3)
    counts = report["counts"]
    assert counts["read"] == len(gold) == counts["clustered"]
