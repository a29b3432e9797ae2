"""The feed list: ``config/feeds.yaml`` or an OPML file, validated at start-up.

YAML gives the HTTP limits (``http``), defaults for every feed
(``defaults``) and the feeds with per-feed overrides; OPML (what feed readers
export) gives the feeds, with the defaults. Errors name the file and the entry
(``config/feeds.yaml: feeds[2].url: …``, ``subs.opml: body/outline[3]/outline[0]: …``).
"""

import dataclasses
import re
import typing
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from pipeline.config.settings import _build, _check_version, _coerce, _load_yaml, read_text
from transforms.core.errors import ConfigError
from transforms.sources.feed_types import FeedList, FeedSpec
from transforms.sources.fetch_types import FetchPolicy
from transforms.text.urls import canonical_url

_FEED_KEYS = ("url", "name", "poll_seconds", "fetch_articles", "language")
_DEFAULT_KEYS = ("poll_seconds", "fetch_articles", "language")
_MIN_POLL_SECONDS = 1.0


def load_feeds(path: str, allow_private_hosts: bool = False) -> FeedList:
    """Reads a feed list (``.opml``/``.xml`` as OPML, anything else as YAML)."""
    if path.lower().endswith((".opml", ".xml")):
        feeds = _load_opml(path)
        policy = FetchPolicy()
    else:
        feeds, policy = _load_yaml_feeds(path)
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


def _url(value: Any, path: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "must be the feed's http(s) URL", key=key)
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, f"must be an http(s) URL with a host, not {url!r}", key=key)
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(path, f"invalid URL {url!r}: {exc}", key=key) from None
    return url


def _spec(entry: dict[str, Any], defaults: dict[str, Any], path: str, where: str) -> FeedSpec:
    hints = typing.get_type_hints(FeedSpec)
    values: dict[str, Any] = dict(defaults)
    for key, value in entry.items():
        if key not in _FEED_KEYS:
            known = ", ".join(_FEED_KEYS)
            raise ConfigError(path, f"unknown key (known: {known})", key=f"{where}.{key}")
        if key == "url":
            values[key] = _url(value, path, f"{where}.url")
        elif value is not None:
            values[key] = _coerce(value, hints[key], path, f"{where}.{key}")
    if "url" not in values:
        raise ConfigError(path, "missing (the feed's http(s) URL)", key=f"{where}.url")
    if values.get("poll_seconds", _MIN_POLL_SECONDS) < _MIN_POLL_SECONDS:
        raise ConfigError(
            path, f"must be at least {_MIN_POLL_SECONDS:g}", key=f"{where}.poll_seconds"
        )
    for key in ("name", "language"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip() or None
    return FeedSpec(**values)


def _load_yaml_feeds(path: str) -> tuple[list[tuple[str, FeedSpec]], FetchPolicy]:
    data = _load_yaml(path)
    for key in data:
        if key not in ("version", "http", "defaults", "feeds"):
            raise ConfigError(path, "unknown key (known: defaults, feeds, http, version)", key=key)
    _check_version(data, path)
    http = dict(data.get("http") or {})
    if "allow_private_hosts" in http:
        raise ConfigError(
            path,
            "not allowed in the file: pass --allow_private_hosts on the command line, "
            "explicitly, for the run that needs it",
            key="http.allow_private_hosts",
        )
    policy: FetchPolicy = _build(FetchPolicy, http, path, "http")
    defaults_raw = data.get("defaults") or {}
    if not isinstance(defaults_raw, dict):
        raise ConfigError(path, "must be a mapping", key="defaults")
    hints = typing.get_type_hints(FeedSpec)
    defaults: dict[str, Any] = {}
    for key, value in defaults_raw.items():
        if key not in _DEFAULT_KEYS:
            known = ", ".join(_DEFAULT_KEYS)
            raise ConfigError(path, f"unknown key (known: {known})", key=f"defaults.{key}")
        defaults[key] = _coerce(value, hints[key], path, f"defaults.{key}")
    entries = data.get("feeds") or []
    if not isinstance(entries, list):
        raise ConfigError(path, "must be a list of feeds", key="feeds")
    feeds: list[tuple[str, FeedSpec]] = []
    for index, entry in enumerate(entries):
        where = f"feeds[{index}]"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise ConfigError(path, "must be a URL or a mapping with 'url'", key=where)
        feeds.append((where, _spec(entry, defaults, path, where)))
    return feeds, policy


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
                feeds.append((here, _spec(entry, {}, path, here)))
            walk(outline, here)  # folders of feeds nest outlines

    walk(body, "body")
    return feeds
