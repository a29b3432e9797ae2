"""What a fetch is asked and what it answers: limits, validators, results, errors.

Shared by the fetcher (``http_fetch``), the feed reader and the feed
configuration (``feeds.yaml``'s ``http`` section is a ``FetchPolicy``).
Failures are ``FetchError`` subclasses (``transforms.core.errors.ItemError``)
whose ``reason`` becomes a dead letter's reason.
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping

from transforms.core.errors import ItemError
from transforms.text.charset import declared_charset

USER_AGENT = "threadwatch/0.1 (news event detection; feed reader)"
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class FetchError(ItemError):
    """A URL could not be fetched; ``reason`` says why (a stable code)."""


class FetchTimeout(FetchError):
    """Connect, read or total deadline hit."""

    def __init__(self, message: str) -> None:
        super().__init__("timeout", message)


class ConnectionFailed(FetchError):
    """No connection, or the connection broke mid-response."""

    def __init__(self, message: str) -> None:
        super().__init__("connection_failed", message)


class HTTPStatusError(FetchError):
    """The server answered with an error status (after retries for 5xx)."""

    def __init__(self, status: int, url: str) -> None:
        self.status = status
        super().__init__(f"http_{status}", f"HTTP {status} from {url}")


class ResponseTooLarge(FetchError):
    """The (decoded) body is over the size cap; it was not read further."""

    def __init__(self, message: str) -> None:
        super().__init__("too_large", message)


class TooManyRedirects(FetchError):
    def __init__(self, message: str) -> None:
        super().__init__("too_many_redirects", message)


class RedirectLoop(FetchError):
    def __init__(self, message: str) -> None:
        super().__init__("redirect_loop", message)


class BadResponse(FetchError):
    """The response cannot be used: broken content encoding, redirect with no target…"""

    def __init__(self, message: str) -> None:
        super().__init__("bad_response", message)


@dataclasses.dataclass(frozen=True)
class FetchPolicy:
    """Limits of every fetch; ``feeds.yaml``'s ``http`` section (see the README)."""

    connect_timeout_seconds: float = 5.0
    #: Longest wait for the next bytes of a response.
    read_timeout_seconds: float = 15.0
    #: Deadline of a whole fetch: redirects, retries, backoff, headers and body,
    #: whatever the rate the bytes arrive at.
    total_timeout_seconds: float = 60.0
    #: Retries after a 5xx/429 answer, a timeout or a connection failure.
    retries: int = 2
    #: First backoff; doubled at each retry (a Retry-After header is honoured, capped).
    backoff_seconds: float = 1.0
    #: Cap on a response body after gzip/deflate decoding.
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    #: Minimum time between two requests to the same host.
    host_delay_seconds: float = 1.0
    user_agent: str = USER_AGENT
    #: Allow loopback and private networks (never link-local, metadata or
    #: unspecified addresses, in any spelling). Off by default: feeds are
    #: untrusted input.
    allow_private_hosts: bool = False

    def __post_init__(self) -> None:
        for name in ("connect_timeout_seconds", "read_timeout_seconds", "total_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("retries", "max_redirects"):
            if not 0 <= getattr(self, name) <= 20:
                raise ValueError(f"{name} must be between 0 and 20")
        if self.backoff_seconds < 0 or self.host_delay_seconds < 0:
            raise ValueError("backoff_seconds and host_delay_seconds must not be negative")
        if self.max_bytes < 1024:
            raise ValueError("max_bytes must be at least 1024")
        if not self.user_agent.strip():
            raise ValueError("user_agent must not be empty")


@dataclasses.dataclass(frozen=True)
class Validators:
    """What a server said about a version of a resource, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclasses.dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    #: 2xx, or 304 (not modified: ``content`` is empty).
    status: int
    #: The body after content decoding (gzip/deflate).
    content: bytes
    #: Response headers, names lowercase.
    headers: Mapping[str, str]
    fetched_at: dt.datetime
    attempts: int = 1
    redirects: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        return declared_charset(self.headers.get("content-type"))
