"""A thread's negative examples, from threads.yaml to the documents the tracker reads."""

from pathlib import Path

import pytest

from pipeline.config.settings import load_threads
from pipeline.graph import description_documents, exemplar_documents
from transforms.core.errors import ConfigError

WATCHLIST = """\
version: 1
threads:
  - id: ru-ir
    title: Russia–Iran treaty
    description: Russia and Iran sign a strategic partnership treaty.
    exemplars: [treaty.txt]
    not_about:
      - Iranian drones for Russia's war in Ukraine.
      - Iran's nuclear talks.
    negative_exemplars: [drones.txt]
"""


def test_not_about_and_negative_exemplars_become_negative_documents(tmp_path: Path) -> None:
    (tmp_path / "treaty.txt").write_text("Putin and Pezeshkian signed the treaty. " * 5)
    (tmp_path / "drones.txt").write_text("Shahed drones struck Kyiv overnight again. " * 5)
    (tmp_path / "threads.yaml").write_text(WATCHLIST)
    (spec,) = load_threads(str(tmp_path / "threads.yaml"))
    assert spec.not_about == (
        "Iranian drones for Russia's war in Ukraine.",
        "Iran's nuclear talks.",
    )
    assert spec.negative_exemplars == (str(tmp_path / "drones.txt"),)
    described = {d.id: d.role for d in description_documents([spec])}
    assert described == {
        "thread:ru-ir:description": "description",
        "thread:ru-ir:not_about:1": "negative",
        "thread:ru-ir:not_about:2": "negative",
    }
    files = {d.item_id: (d.role, d.thread_id) for d in exemplar_documents([spec])}
    assert files == {
        "thread:ru-ir:exemplar:treaty.txt": ("exemplar", "ru-ir"),
        "thread:ru-ir:negative:drones.txt": ("negative", "ru-ir"),
    }


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("not_about: [3]", "threads[0].not_about[0]"),
        ("not_about: ['']", "threads[0].not_about[0]"),
        ("negative_exemplars: {a: b}", "threads[0].negative_exemplars"),
    ],
)
def test_bad_negative_examples_name_their_key(tmp_path: Path, entry: str, key: str) -> None:
    path = tmp_path / "threads.yaml"
    path.write_text(f"threads:\n  - id: x\n    title: t\n    description: d\n    {entry}\n")
    with pytest.raises(ConfigError) as error:
        load_threads(str(path))
    assert key in str(error.value)
