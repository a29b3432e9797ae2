"""The feed list: ``config/feeds.yaml`` or an OPML file, validated at start-up.

YAML gives the HTTP limits (``http``), defaults for every feed
(``defaults``) and the feeds with per-feed overrides; OPML (what feed readers
export) gives the feeds, with the defaults. Errors name the file and the entry
(``config/feeds.yaml: feeds[2].url: …``, ``subs.opml: body/outline[3]/outline[0]: …``).
"""

import dataclasses
import re
import xml.etree.ElementTree as ET
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictStr,
    model_validator,
)

from pipeline.config.validation import (
    Fields,
    FileModel,
    Listed,
    Section,
    VersionedFile,
    load_yaml,
    read_text,
    validate,
)
from transforms.core.errors import ConfigError
from transforms.core.settings import SettingError
from transforms.sources.feed_types import FeedList, FeedSpec
from transforms.sources.fetch_types import FetchPolicy
from transforms.text.urls import canonical_url


def load_feeds(path: str, allow_private_hosts: bool = False) -> FeedList:
    """Reads a feed list (``.opml``/``.xml`` as OPML, anything else as YAML)."""
    if path.lower().endswith((".opml", ".xml")):
        feeds = _load_opml(path)
        policy = FetchPolicy()
    else:
        read = validate(FeedsFile, load_yaml(path), path)
        defaults = read.defaults.model_dump(exclude_unset=True)
        feeds = [(f"feeds[{i}]", entry.spec(defaults)) for i, entry in enumerate(read.feeds)]
        policy = read.http
    if not feeds:
        raise ConfigError(path, "lists no feeds")
    seen: dict[str, str] = {}
    for where, spec in feeds:
        key = canonical_url(spec.url)
        if key in seen:
            raise ConfigError(path, f"the same feed as {seen[key]} ({spec.url})", key=where)
        seen[key] = where
    policy = dataclasses.replace(policy, allow_private_hosts=allow_private_hosts)
    return FeedList(tuple(spec for _, spec in feeds), policy, path)


def _url(value: str) -> str:
    url = value.strip()
    if not url:
        raise ValueError("must be the feed's http(s) URL")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL with a host, not {url!r}")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    return url


def _name(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


#: A name: white space around it goes, and an empty one is no name.
_Name = Annotated[StrictStr | None, AfterValidator(_name)]


class FeedDefaults(FileModel):
    """``defaults``: what every feed has unless it says otherwise (see ``FeedSpec``)."""

    poll_seconds: Annotated[StrictFloat, Field(ge=1)] = FeedSpec.poll_seconds
    fetch_articles: StrictBool = FeedSpec.fetch_articles
    language: _Name = FeedSpec.language


class FeedEntry(FeedDefaults):
    """One feed: its URL alone, or a mapping; a key set to null keeps the default."""

    url: Annotated[StrictStr, AfterValidator(_url)] = Field(description="the feed's http(s) URL")
    name: _Name = FeedSpec.name

    @model_validator(mode="before")
    @classmethod
    def _url_or_mapping(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"url": data}
        if not isinstance(data, dict):
            raise ValueError("must be a URL or a mapping with 'url'")
        return {key: value for key, value in data.items() if value is not None}

    def spec(self, defaults: dict[str, Any]) -> FeedSpec:
        return FeedSpec(**{**defaults, **self.model_dump(exclude_unset=True)})


def _no_private_hosts(value: Any) -> Any:
    if isinstance(value, dict) and "allow_private_hosts" in value:
        raise SettingError(
            "allow_private_hosts",
            "not allowed in the file: pass --allow_private_hosts on the command line, "
            "explicitly, for the run that needs it",
        )
    return value


class FeedsFile(VersionedFile):
    """``feeds.yaml``: HTTP limits (a ``FetchPolicy``), defaults, and the feeds."""

    http: Annotated[
        FetchPolicy, Fields(exclude=("allow_private_hosts",)), BeforeValidator(_no_private_hosts)
    ] = FetchPolicy()
    defaults: Annotated[FeedDefaults, Section] = FeedDefaults()
    feeds: Listed[FeedEntry] = ()


_DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _load_opml(path: str) -> list[tuple[str, FeedSpec]]:
    text = read_text(path)
    if _DOCTYPE.search(text):
        raise ConfigError(path, "DOCTYPE/ENTITY declarations are not accepted in OPML")
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))
    except ET.ParseError as exc:
        raise ConfigError(path, f"invalid OPML (XML): {exc}") from None
    if root.tag.lower() != "opml":
        raise ConfigError(path, f"not OPML: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise ConfigError(path, "OPML without a <body>")
    feeds: list[tuple[str, FeedSpec]] = []

    def walk(element: ET.Element, where: str) -> None:
        outlines = [child for child in element if child.tag == "outline"]
        for index, outline in enumerate(outlines):
            here = f"{where}/outline[{index}]"
            url = outline.get("xmlUrl")
            if url is not None:
                name = outline.get("title") or outline.get("text")
                entry = {"url": url, "name": name, "language": outline.get("language")}
                feeds.append((here, validate(FeedEntry, entry, path, here).spec({})))
            walk(outline, here)  # folders of feeds nest outlines

    walk(body, "body")
    return feeds
