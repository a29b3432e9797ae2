"""Reading and validating the YAML in ``config/`` into typed settings.

Validation happens once, at start-up, so a typo fails the run before any work
is done, with a message naming the file and the key. Unknown keys are errors:
a misspelt threshold silently left at its default is worse than a refusal.
"""

import dataclasses
import re
import types
import typing
from pathlib import PurePosixPath
from typing import Any

import yaml
from apache_beam.io.filesystems import FileSystems

from transforms.core.errors import ConfigError
from transforms.core.settings import (
    ClusteringSettings,
    EmbeddingSettings,
    ExtractionSettings,
    SettingError,
    Settings,
    ThreadSpec,
)

_THREAD_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def read_text(path: str) -> str:
    """Reads a small text file from any Beam filesystem (local, ``gs://``…)."""
    try:
        with FileSystems.open(path) as handle:
            raw: bytes = handle.read()
    except Exception as exc:
        raise ConfigError(path, f"cannot be read: {exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8: {exc}") from None


def _load_yaml(path: str) -> dict[str, Any]:
    text = read_text(path)
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, f"invalid YAML{where}: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(path, f"must be a mapping at the top level, not {type(loaded).__name__}")
    return loaded


def _coerce(value: Any, hint: Any, path: str, key: str) -> Any:
    """Checks one scalar against its declared type (ints are accepted for floats)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        hint = options[0]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be true or false, not {value!r}", key=key)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"must be a number, not {value!r}", key=key)
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"must be an integer, not {value!r}", key=key)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, not {value!r}", key=key)
        return value
    raise ConfigError(path, f"unsupported setting type {hint}", key=key)


def _build(cls: type, data: Any, path: str, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, "must be a mapping", key=prefix)
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            raise ConfigError(path, f"unknown key (known: {', '.join(sorted(fields))})", key=full)
        values[key] = _coerce(value, hints[key], path, full)
    try:
        return cls(**values)
    except SettingError as exc:  # one setting out of range: name its full key
        key = f"{prefix}.{exc.name}" if prefix else exc.name
        raise ConfigError(path, exc.message, key=key) from None
    except ValueError as exc:  # a rule over several settings: name the section
        raise ConfigError(path, str(exc), key=prefix or None) from None


def load_settings(path: str | None) -> Settings:
    """``settings.yaml``: sections ``clustering``, ``extraction``, ``embedding``."""
    if path is None:
        return Settings()
    data = _load_yaml(path)
    sections = {
        "clustering": ClusteringSettings,
        "extraction": ExtractionSettings,
        "embedding": EmbeddingSettings,
    }
    for key in data:
        if key not in sections and key != "version":
            raise ConfigError(path, f"unknown section (known: {', '.join(sections)})", key=key)
    _check_version(data, path)
    return Settings(
        **{name: _build(cls, data.get(name), path, name) for name, cls in sections.items()}
    )


def _check_version(data: dict[str, Any], path: str) -> None:
    if data.get("version", 1) != 1:
        raise ConfigError(
            path, f"unsupported version {data.get('version')!r} (expected 1)", key="version"
        )


def _string(value: Any, path: str, key: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "must be a non-empty string", key=key)
    return value.strip()


def _resolve(base: str, relative: str) -> str:
    if "://" in relative or relative.startswith("/"):
        return relative
    parent = base.rsplit("/", 1)[0] if "/" in base else "."
    return str(PurePosixPath(parent) / relative) if "://" not in parent else f"{parent}/{relative}"


def load_threads(path: str) -> list[ThreadSpec]:
    """``threads.yaml``: the watchlist. Exemplar paths are relative to the file."""
    data = _load_yaml(path)
    for key in data:
        if key not in ("version", "threads"):
            raise ConfigError(path, "unknown key (known: threads, version)", key=key)
    _check_version(data, path)
    entries = data.get("threads")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ConfigError(path, "must be a list of threads", key="threads")
    allowed = {"id", "title", "description", "required_terms", "exemplars", "threshold"}
    specs: list[ThreadSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"threads[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, "must be a mapping", key=where)
        for key in entry:
            if key not in allowed:
                raise ConfigError(
                    path, f"unknown key (known: {', '.join(sorted(allowed))})", key=f"{where}.{key}"
                )
        thread_id = _string(entry.get("id"), path, f"{where}.id")
        if not _THREAD_ID.match(thread_id):
            raise ConfigError(
                path, "must be lowercase letters, digits, '.', '_' or '-'", key=f"{where}.id"
            )
        if thread_id in seen:
            raise ConfigError(path, f"duplicate thread id {thread_id!r}", key=f"{where}.id")
        seen.add(thread_id)
        required = entry.get("required_terms") or []
        if not isinstance(required, list) or not all(
            isinstance(group, list)
            and group
            and all(isinstance(t, str) and t.strip() for t in group)
            for group in required
        ):
            raise ConfigError(
                path, "must be a list of non-empty lists of terms", key=f"{where}.required_terms"
            )
        exemplars = entry.get("exemplars") or []
        if not isinstance(exemplars, list) or not all(isinstance(e, str) for e in exemplars):
            raise ConfigError(path, "must be a list of file paths", key=f"{where}.exemplars")
        threshold = entry.get("threshold")
        if threshold is not None:
            threshold = _coerce(threshold, float, path, f"{where}.threshold")
            if not -1 <= threshold <= 1:
                raise ConfigError(
                    path, f"must be between -1 and 1 (got {threshold})", key=f"{where}.threshold"
                )
        specs.append(
            ThreadSpec(
                id=thread_id,
                title=_string(entry.get("title"), path, f"{where}.title"),
                description=_string(entry.get("description"), path, f"{where}.description"),
                required_terms=tuple(tuple(t.strip() for t in g) for g in required),
                exemplars=tuple(_resolve(path, e) for e in exemplars),
                threshold=threshold,
            )
        )
    return specs
