"""End to end on the seed articles, with the real packaged model."""

import dataclasses
import json
import random
import shutil
from pathlib import Path

import jsonschema
import pytest

from pipeline.config.settings import load_settings
from tests import golden
from tests.support import (
    FIXTURES,
    REPO,
    SETTINGS,
    CachedModelHandler,
    folder_documents,
    make_job,
    run_job,
    story_sets,
)
from transforms.core.records import RawDocument
from transforms.sources.folder import split_file

TREATY = "russia-iran-strategic-treaty"
SEED_DESCRIPTION = (
    "The five seed articles through the shipped config (config/threads.yaml, "
    "config/settings.yaml) on the DirectRunner (FnApiRunner)."
)
SEED_EXPECT = (
    "Two stories: {002, 004} (Putin's July 2022 Tehran visit) and {000, 001, 003} (the "
    "October 2024 Ashgabat meeting), both on the watched Russia–Iran strategic treaty thread; "
    "exactly two alerts, at 002 and at 000; 001 and 003 join as follow-ups."
)
TEHRAN_2022 = {"002_dc85ee8fd00bc9d9.txt", "004_bed5f04292cb6d2e.txt"}
ASHGABAT_2024 = {"000_46b6a571614f8e47.txt", "001_69c47836355e4913.txt", "003_a65937787e1f3de3.txt"}


def test_seeds_give_two_stories_two_alerts(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler, update_golden: bool
) -> None:
    result = run_job(make_job(tmp_path, seeds_dir), model_handler)

    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022]
    assert all(s["thread_id"] == TREATY for s in result.outputs["stories"])
    alerts = result.outputs["alerts"]
    assert [a["article"]["id"] for a in alerts] == [
        "002_dc85ee8fd00bc9d9.txt",
        "000_46b6a571614f8e47.txt",
    ]
    assert {a["thread"]["id"] for a in alerts} == {TREATY}
    assert len({a["alert_id"] for a in alerts}) == 2
    assert alerts[0]["article"]["url"] == (seeds_dir / "002_dc85ee8fd00bc9d9.txt").as_uri()
    assert alerts[1]["evidence"]["nearest_story"]["id"] == alerts[0]["story"]["id"]
    followers = {a["article"]["id"]: a for a in result.outputs["assignments"]}
    assert followers["001_69c47836355e4913.txt"]["action"] == "joined"
    assert followers["003_a65937787e1f3de3.txt"]["action"] == "joined"
    assert result.counters["items_read"] == 5 == result.counters["articles_clustered"]
    golden.check("seeds", SEED_DESCRIPTION, SEED_EXPECT, result, update_golden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_same_result(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler, seed: int
) -> None:
    documents = folder_documents(seeds_dir)
    random.Random(seed).shuffle(documents)
    # Create(reshuffle=True) also varies bundles; the source folder is not read.
    result = run_job(make_job(tmp_path), model_handler, documents=documents)
    expected = json.loads((golden.GOLDEN / "seeds.json").read_text())
    actual = golden.normalise(result)
    for name in ("alerts", "stories", "assignments", "duplicates"):
        assert golden.same(actual[name], expected[name]), name


def test_unrelated_article_opens_its_own_story_and_no_alert(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    path = FIXTURES / "ecbplus" / "unrelated_1_11ecb.json"
    unrelated = [
        i
        for i in split_file(path.name, path.as_uri(), path.read_bytes(), None, None)
        if isinstance(i, RawDocument)
    ]
    result = run_job(
        make_job(tmp_path), model_handler, documents=folder_documents(seeds_dir) + unrelated
    )

    assert story_sets(result) == [ASHGABAT_2024, TEHRAN_2022, {"ecbplus-1_11ecb"}]
    (own,) = [s for s in result.outputs["stories"] if s["article_ids"] == ["ecbplus-1_11ecb"]]
    assert own["thread_id"] != TREATY
    assert [a["article"]["id"] for a in result.outputs["alerts"]] == [
        "002_dc85ee8fd00bc9d9.txt",
        "000_46b6a571614f8e47.txt",
    ]
    assert [t["first_story_id"] for t in result.outputs["threads"]] == [own["story_id"]]


def test_bad_input_is_dead_lettered_and_every_item_is_accounted_for(
    tmp_path: Path, seeds_dir: Path, model_handler: CachedModelHandler
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(seeds_dir, folder)
    original = (seeds_dir / "004_bed5f04292cb6d2e.txt").read_text()
    (folder / "900_exact_copy.txt").write_text(original.upper())
    paragraphs = original.split("\n")
    near = "\n".join(paragraphs[:-3]).replace("Tuesday", "Tue") + "\nSyndicated by a wire."
    (folder / "901_syndicated.txt").write_text(near)
    with (folder / "manifest.yaml").open("a") as manifest:  # copies published a day later
        manifest.write(
            "  900_exact_copy.txt: {published: 2022-07-20}\n"
            "  901_syndicated.txt: {published: 2022-07-20}\n"
        )
    (folder / "910_empty.txt").write_bytes(b"")
    (folder / "911_binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "912_undecodable.txt").write_bytes(bytes(range(128, 256)) * 20)
    (folder / "913_huge.txt").write_text("word " * 400_000)
    (folder / "914_no_text.html").write_text("<html><body><nav>Home | News</nav></body></html>")
    (folder / "915_slides.pdf").write_bytes(b"%PDF-1.4 ...")
    (folder / "916_batch.jsonl").write_text('{"text": "too short"}\n{broken\n')
    (folder / ".hidden").write_text("not an item")

    settings = load_settings(SETTINGS)
    capped = dataclasses.replace(
        settings, extraction=dataclasses.replace(settings.extraction, max_bytes=1_000_000)
    )  # the cap is configurable: 913_huge.txt (2 MB) is over it
    result = run_job(make_job(tmp_path / "out", folder, settings=capped), model_handler)

    reasons = sorted((d["item"], d["stage"], d["reason"]) for d in result.outputs["dead_letters"])
    assert reasons == [
        ("910_empty.txt", "extract", "empty"),
        ("911_binary.txt", "extract", "binary"),
        ("912_undecodable.txt", "extract", "undecodable"),
        ("913_huge.txt", "read", "too_large"),
        ("914_no_text.html", "extract", "no_text"),
        ("915_slides.pdf", "read", "unsupported_type"),
        ("916_batch.jsonl#1", "extract", "no_text"),
        ("916_batch.jsonl#2", "read", "invalid_json"),
    ]
    assert all(d["detail"] for d in result.outputs["dead_letters"])
    duplicates = {d["article"]["id"]: d for d in result.outputs["duplicates"]}
    assert duplicates["900_exact_copy.txt"]["kind"] == "exact"
    assert duplicates["901_syndicated.txt"]["kind"] == "near"
    assert {d["duplicate_of"] for d in duplicates.values()} == {"004_bed5f04292cb6d2e.txt"}
    assert len(result.outputs["alerts"]) == 2

    c = result.counters
    assert c["items_read"] == 15
    assert c["items_read"] == c["articles_clustered"] + c["duplicates"] + c["dead_letters"]
    assert (c["articles_clustered"], c["duplicates"], c["dead_letters"]) == (
        len(result.outputs["assignments"]),
        len(result.outputs["duplicates"]),
        len(result.outputs["dead_letters"]),
    )


def test_alerts_follow_the_documented_schema() -> None:
    schema = json.loads((REPO / "config" / "alert.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    expected = json.loads((golden.GOLDEN / "seeds.json").read_text())
    for alert in expected["alerts"]:
        jsonschema.validate(alert, schema, format_checker=jsonschema.FormatChecker())
    broken = {**expected["alerts"][0], "alert_id": "not-a-hash"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
