"""Reading configuration files and validating them with pydantic models.

Every file and record format of ``config/`` (and the labelled streams) is a
``FileModel``: unknown keys are refused, nothing changes after reading. A
``ValidationError`` becomes one ``ConfigError`` naming the file, the key as the
user wrote it (``threads[2].required_terms[0]``) and what is wrong, in the
words the rest of threadwatch uses (``must be a number, not 'high'``).

A check that needs code raises ``SettingError(name, message)`` (a
``ValueError``): the error names the key ``name`` below the model it was
raised in. The settings dataclasses raise it from ``__post_init__``, so their
range checks apply alike to files and to objects made in code.
"""

import dataclasses
import json
import typing
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Annotated, Any, TypeVar

import yaml
from apache_beam.io.filesystems import FileSystems
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import CoreSchema, ErrorDetails, core_schema

from transforms.core.errors import ConfigError
from transforms.core.settings import SettingError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


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


def json_lines(text: str, path: str) -> Iterator[tuple[str, Any]]:
    """(``line N``, its JSON value) for each non-blank line of a JSON Lines file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(path, f"invalid JSON: {exc}", key=where) from None


def load_yaml(path: str) -> Any:
    """The file's YAML; an empty file is an empty mapping."""
    try:
        loaded = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, f"invalid YAML{where}: {problem}") from None
    return {} if loaded is None else loaded


class FileModel(BaseModel):
    """A mapping in a file: unknown keys refused, required ones named, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        # Before any value: an unknown key is the likelier mistake (a typo),
        # and it is named with the keys that are known.
        if isinstance(data, dict):
            known = cls.model_fields
            for key in data:
                if key not in known:
                    raise SettingError(str(key), f"unknown key (known: {', '.join(sorted(known))})")
            for name, field in known.items():
                if field.is_required() and name not in data:
                    said = f" ({field.description})" if field.description else ""
                    raise SettingError(name, f"missing{said}")
        return data


def _version(value: Any) -> Any:
    if value != 1:
        raise ValueError(f"unsupported version {value!r} (expected 1)")
    return value


class VersionedFile(FileModel):
    """A whole file: its format's ``version`` (1, the default) and its keys."""

    version: Annotated[Any, AfterValidator(_version)] = 1


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


#: A string with something in it, kept as written.
NonBlank = Annotated[StrictStr, AfterValidator(_non_blank)]
#: A string with something in it, without surrounding white space.
Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value


#: A mapping in the file that may be left empty (``None``): all defaults.
Section = BeforeValidator(_empty_if_none)
#: A list in the file (``None``: empty), a tuple once read.
Listed = Annotated[tuple[T, ...], BeforeValidator(lambda value: () if value is None else value)]


def _relative_to_file(value: str, info: ValidationInfo) -> str:
    """A path relative to the file being read (``validate``'s ``path``), as is when absolute."""
    base = (info.context or {}).get("file", "")
    if not base or "://" in value or value.startswith("/"):
        return value
    parent = base.rsplit("/", 1)[0] if "/" in base else "."
    return str(PurePosixPath(parent) / value) if "://" not in parent else f"{parent}/{value}"


#: A file path written relative to the configuration file.
RelativePath = Annotated[StrictStr, AfterValidator(_relative_to_file)]


def between(low: float, high: float) -> AfterValidator:
    """A number from ``low`` to ``high`` (NaN is not)."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g} (got {value})")
        return value

    return AfterValidator(check)


class _StrictFields(FileModel):
    model_config = ConfigDict(strict=True)


@dataclasses.dataclass(frozen=True)
class Fields:
    """Annotates a frozen dataclass field: read from a mapping of the dataclass's fields.

    The values must have the declared types, with no conversion but an integer
    for a float; a missing key keeps the dataclass's default, and an empty
    section (``None``) keeps them all; then the dataclass's own checks run.
    Keys in ``exclude`` are unknown in the file.
    """

    exclude: tuple[str, ...] = ()

    def __get_pydantic_core_schema__(
        self, source: Callable[..., Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        hints = typing.get_type_hints(source)
        fields: dict[str, Any] = {
            f.name: (hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
            for f in dataclasses.fields(typing.cast(Any, source))
            if f.name not in self.exclude
        }
        model = create_model(
            getattr(source, "__name__", "Fields"), __base__=_StrictFields, **fields
        )
        schema = handler.generate_schema(model)
        return core_schema.no_info_before_validator_function(
            _empty_if_none,
            core_schema.no_info_after_validator_function(lambda read: source(**dict(read)), schema),
        )


def validate(model: type[M], data: Any, path: str, key: str = "") -> M:
    """``data`` (read from ``path``, at ``key`` in it) as a ``model``, or a ``ConfigError``."""
    try:
        return model.model_validate(data, context={"file": path})
    except ValidationError as exc:
        raise config_error(path, exc, key) from None


_MESSAGES = {
    "bool_type": "must be true or false, not {input!r}",
    "float_type": "must be a number, not {input!r}",
    "int_type": "must be an integer, not {input!r}",
    "string_type": "must be a string, not {input!r}",
    "string_too_short": "must be a non-empty string",
    "too_short": "must have at least {min_length} item(s)",
    "greater_than_equal": "must be at least {ge:g}",
    "literal_error": "must be {expected} (got {input!r})",
}
_CONTAINERS = {
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def config_error(path: str, error: ValidationError, key: str = "") -> ConfigError:
    """The first problem ``error`` lists as a ``ConfigError``."""
    first = error.errors()[0]
    where = _key(key, first["loc"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, SettingError):
        return ConfigError(path, cause.message, key=_key(where, (cause.name,)) or None)
    return ConfigError(path, str(cause) if cause else _message(first), key=where or None)


def _message(error: ErrorDetails) -> str:
    kind, given, ctx = error["type"], error["input"], error.get("ctx") or {}
    if kind in _CONTAINERS:
        shown = f"a {type(given).__name__}" if isinstance(given, dict | list) else repr(given)
        return f"must be {_CONTAINERS[kind]}, not {shown}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(input=given, **ctx)
    return error["msg"]


def _key(prefix: str, loc: tuple[int | str, ...]) -> str:
    """``threads`` + ``(2, 'required_terms', 0)`` → ``threads[2].required_terms[0]``."""
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key
