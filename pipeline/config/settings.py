"""Reading and validating the YAML in ``config/`` into typed settings.

Validation happens once, at start-up, so a typo fails the run before any work
is done, with a message naming the file and the key. Unknown keys are errors:
a misspelt threshold silently left at its default is worse than a refusal.
The files' models are here; ``validation`` reads them and words the errors.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StrictFloat, model_validator

from pipeline.config.validation import (
    Fields,
    FileModel,
    Listed,
    RelativePath,
    Text,
    VersionedFile,
    between,
    load_yaml,
    validate,
)
from transforms.core.settings import (
    ClusteringSettings,
    EmbeddingSettings,
    ExtractionSettings,
    SettingError,
    Settings,
    ThreadSpec,
)


class SettingsFile(VersionedFile):
    """``settings.yaml``: each section a settings dataclass, which checks its ranges."""

    clustering: Annotated[ClusteringSettings, Fields()] = ClusteringSettings()
    extraction: Annotated[ExtractionSettings, Fields()] = ExtractionSettings()
    embedding: Annotated[EmbeddingSettings, Fields()] = EmbeddingSettings()


def load_settings(path: str | None) -> Settings:
    """``settings.yaml``: sections ``clustering``, ``extraction``, ``embedding``."""
    if path is None:
        return Settings()
    read = validate(SettingsFile, load_yaml(path), path)
    return Settings(read.clustering, read.extraction, read.embedding)


_THREAD_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def _thread_id(value: str) -> str:
    if not _THREAD_ID.match(value):
        raise ValueError("must be lowercase letters, digits, '.', '_' or '-'")
    return value


class ThreadEntry(FileModel):
    """One thread of ``threads.yaml``: field for field a ``ThreadSpec`` (a test checks).

    A new optional field goes into both, with the same name and default; here
    with the type it must have in the file (``Text``, ``Listed[Text]``, or
    ``Listed[RelativePath]`` for files next to ``threads.yaml``).
    """

    id: Annotated[Text, AfterValidator(_thread_id)] = Field(
        description="lowercase letters, digits, '.', '_' or '-'"
    )
    title: Text = Field(description="a non-empty string, shown in alerts")
    description: Text = Field(description="a non-empty string: what the thread is about")
    required_terms: Listed[Annotated[tuple[Text, ...], Field(min_length=1)]] = ()
    exemplars: Listed[RelativePath] = ()
    threshold: Annotated[StrictFloat, between(-1, 1)] | None = None
    not_about: Listed[Text] = ()
    negative_exemplars: Listed[RelativePath] = ()


class ThreadsFile(VersionedFile):
    """``threads.yaml``: the watchlist."""

    threads: Listed[ThreadEntry] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> "ThreadsFile":
        seen: set[str] = set()
        for index, thread in enumerate(self.threads):
            if thread.id in seen:
                raise SettingError(f"threads[{index}].id", f"duplicate thread id {thread.id!r}")
            seen.add(thread.id)
        return self


def load_threads(path: str) -> list[ThreadSpec]:
    """``threads.yaml``: the watchlist. Exemplar paths are relative to the file."""
    watchlist = validate(ThreadsFile, load_yaml(path), path)
    return [ThreadSpec(**dict(thread)) for thread in watchlist.threads]
