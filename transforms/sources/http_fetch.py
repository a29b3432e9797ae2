"""HTTP for untrusted feeds and pages: bounded in time, size, redirects and politeness.

Feeds and the pages they link to are written by strangers, so every fetch is
guarded: the URL (and each redirect hop) must pass ``check_fetchable``, and
the connection goes to an address that check approved, never to a second
lookup's answer (a name may resolve to a public address for the check and a
private one for the connection; ``transforms.sources.pinned_http``); the body is
streamed and cut at ``max_bytes`` after gzip/deflate decoding (a compressed
bomb is refused, not inflated), and the whole fetch has a deadline besides the
connect and read timeouts, enforced by shutting its sockets down (a server
dripping one byte a second never hits a read timeout). 5xx answers and
connection failures are retried with exponential backoff; requests to one
host are spaced by a politeness delay; conditional GET (ETag /
Last-Modified) turns an unchanged feed into a 304.

Failures raise ``FetchError`` subclasses (``transforms.core.errors.ItemError``)
whose ``reason`` becomes a dead letter's reason, or ``UnsafeURLError``. No
Beam here: ``HttpFetcher`` is a plain object used by the Beam DoFns and by the
edge poller alike.
"""

import codecs
import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import requests
import urllib3

from transforms.core.errors import ItemError
from transforms.sources.pinned_http import FetchScope, PinnedSession
from transforms.text.urls import CheckedTarget, UnsafeURLError, check_fetchable

USER_AGENT = "threadwatch/0.1 (news event detection; feed reader)"
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 16 * 1024  # a deflate chunk inflates at most ~1000x: 16 MB before the cap bites


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


_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_LATIN_CODE_PAGES = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "iso8859-1", "iso8859-2", "iso8859-3", "iso8859-4",
    "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16", "mac-roman",
})  # fmt: skip


def declared_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if it names a known codec."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_page(data: bytes, declared: str | None) -> tuple[str, str]:
    """Decodes an HTML page; returns the text and the encoding used.

    Order: a byte-order mark; UTF-8 when the body is valid UTF-8 with non-ASCII
    characters (such text is almost never another encoding, while a server's
    declared charset is often a wrong default); the charset declared in the
    header; the page's own ``<meta charset>``; detection; UTF-8 with
    replacement characters as the last resort.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if _is_utf8_with_non_ascii(data):
        return data.decode("utf-8"), "utf-8"
    meta = _META_CHARSET.search(data[:4096])
    candidates = [declared, _codec(meta.group(1).decode("ascii")) if meta else None, "utf-8"]
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            return data.decode(candidate), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None:
        guess = _codec(best.encoding) or "utf-8"
        if guess in _LATIN_CODE_PAGES:
            # Detection cannot tell Latin code pages apart on a short page;
            # windows-1252 is the web's default among them (WHATWG).
            guess = "cp1252"
        try:
            return data.decode(guess), guess
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", "replace"), "utf-8"


def feed_response_headers(result: FetchResult) -> dict[str, str]:
    """Headers for feedparser: its encoding rules (RFC 3023) plus one correction.

    A charset declared in the header that contradicts a body of valid
    non-ASCII UTF-8 is replaced by UTF-8 (the usual mistake: a server default
    of ISO-8859-1 in front of a UTF-8 feed).
    """
    headers = {
        name: result.headers[name]
        for name in ("content-type", "content-language", "etag", "last-modified")
        if name in result.headers
    }
    headers["content-location"] = result.final_url
    declared = result.charset
    if declared and declared != "utf-8" and _is_utf8_with_non_ascii(result.content):
        headers["content-type"] = f"{result.media_type or 'application/xml'}; charset=utf-8"
    return headers


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class HttpFetcher:
    """One HTTP session with the guards of a ``FetchPolicy``; one fetch at a time.

    ``resolve``, ``clock``, ``sleep`` and ``now`` are injectable (tests; a
    resolver decides what "public" means for a name, and its answer is where
    the connection goes). ``clock`` paces retries and politeness; the fetch
    deadline itself is a real timer of ``total_timeout_seconds``.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        resolve: Callable[[str, int], Iterable[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._last_request: dict[str, float] = {}
        self._pinned = PinnedSession()
        self._session = self._pinned.session
        # No proxies or .netrc credentials from the environment: an untrusted
        # URL must never be sent a user's credentials.
        self._session.trust_env = False
        self._session.headers.update(
            {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"}
        )

    def close(self) -> None:
        self._pinned.close()

    def __enter__(self) -> "HttpFetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, url: str, validators: Validators | None = None, accept: str = PAGE_ACCEPT
    ) -> FetchResult:
        """GETs ``url``; raises ``FetchError`` or ``UnsafeURLError``."""
        policy = self.policy
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        with self._pinned.scope(policy.total_timeout_seconds) as scope:
            try:
                result = self._fetch(url, headers, scope)
            except UnsafeURLError:
                raise
            except Exception:
                if scope.expired:  # what broke was the deadline shutting the sockets
                    raise self._late(url) from None
                raise
            if scope.expired:  # a body that ends with the connection may look complete
                raise self._late(url)
            return result

    def _late(self, url: str) -> FetchTimeout:
        return FetchTimeout(f"{url}: not complete within {self.policy.total_timeout_seconds}s")

    def _fetch(self, url: str, headers: Mapping[str, str], scope: FetchScope) -> FetchResult:
        policy = self.policy
        deadline = self._clock() + policy.total_timeout_seconds
        current, chain, attempts = url, [url], 0
        while True:
            request = self._prepare(current, headers)
            scope.pin(self._check(request.url or current))
            response, tries = self._get_with_retries(current, request, deadline)
            attempts += tries
            if response.status_code not in _REDIRECTS:
                break
            location = response.headers.get("location")
            response.close()
            if not location:
                raise BadResponse(f"HTTP {response.status_code} with no Location from {current}")
            target = urljoin(current, location.strip())
            if target in chain:
                raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
            if len(chain) > policy.max_redirects:
                raise TooManyRedirects(
                    f"more than {policy.max_redirects} redirects from {url} (last: {target})"
                )
            chain.append(target)
            current = target
        try:
            status = response.status_code
            if status == 304:
                return self._result(url, current, response, b"", attempts, chain)
            if status >= 400:
                raise HTTPStatusError(status, current)
            if not 200 <= status < 300:
                raise BadResponse(f"unexpected HTTP {status} from {current}")
            content = self._read_body(response, current, deadline)
            return self._result(url, current, response, content, attempts, chain)
        finally:
            response.close()

    def _prepare(self, url: str, headers: Mapping[str, str]) -> requests.PreparedRequest:
        """The request as it will be sent: its URL (IDNA host and all) is the one checked."""
        try:
            return self._session.prepare_request(
                requests.Request("GET", url, headers=dict(headers))
            )
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise UnsafeURLError("unsafe_url", f"invalid URL {url!r}: {exc}") from None

    def _check(self, url: str) -> CheckedTarget:
        if self._resolve is None:
            return check_fetchable(url, self.policy.allow_private_hosts)
        return check_fetchable(url, self.policy.allow_private_hosts, self._resolve)

    def _result(
        self,
        url: str,
        final: str,
        response: requests.Response,
        content: bytes,
        attempts: int,
        chain: list[str],
    ) -> FetchResult:
        return FetchResult(
            url=url,
            final_url=final,
            status=response.status_code,
            content=content,
            headers={k.lower(): v for k, v in response.headers.items()},
            fetched_at=self._now(),
            attempts=attempts,
            redirects=tuple(chain[1:]),
        )

    def _polite_wait(self, host: str, deadline: float) -> None:
        last = self._last_request.get(host)
        if last is None:
            return
        wait = last + self.policy.host_delay_seconds - self._clock()
        if wait > 0:
            if self._clock() + wait > deadline:
                raise FetchTimeout(f"politeness delay for {host} would pass the fetch deadline")
            self._sleep(wait)

    def _get_with_retries(
        self, url: str, request: requests.PreparedRequest, deadline: float
    ) -> tuple[requests.Response, int]:
        policy = self.policy
        host = (urlsplit(url).hostname or "").lower()
        attempt = 0
        while True:
            attempt += 1
            self._polite_wait(host, deadline)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise FetchTimeout(f"fetch deadline of {policy.total_timeout_seconds}s passed")
            timeout = (
                min(policy.connect_timeout_seconds, remaining),
                min(policy.read_timeout_seconds, remaining),
            )
            error: FetchError | None = None
            response: requests.Response | None = None
            try:
                response = self._session.send(
                    request, stream=True, allow_redirects=False, timeout=timeout
                )
            except requests.exceptions.Timeout as exc:
                error = FetchTimeout(f"{url}: {_short(exc)}")
            except requests.exceptions.InvalidURL as exc:
                raise UnsafeURLError("unsafe_url", f"invalid URL {url!r}: {exc}") from None
            except requests.exceptions.RequestException as exc:
                error = ConnectionFailed(f"{url}: {_short(exc)}")
            finally:
                self._last_request[host] = self._clock()
            if response is not None and response.status_code not in _RETRIED_STATUSES:
                return response, attempt
            if attempt > policy.retries:
                if response is not None:
                    return response, attempt  # the caller turns the status into an error
                assert error is not None
                raise error
            delay = policy.backoff_seconds * 2 ** (attempt - 1)
            if response is not None:
                delay = max(delay, _retry_after(response.headers.get("retry-after")))
                response.close()
            if self._clock() + delay >= deadline:
                if error is not None:
                    raise error
                raise FetchTimeout(f"{url}: retrying would pass the fetch deadline")
            self._sleep(delay)

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        cap = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            raise ResponseTooLarge(f"{url}: Content-Length {int(declared)} is over {cap} bytes")
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise ResponseTooLarge(f"{url}: body over {cap} bytes (after decoding)")
                if self._clock() > deadline:
                    raise FetchTimeout(
                        f"{url}: body not complete within {self.policy.total_timeout_seconds}s"
                    )
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError as exc:
            raise BadResponse(f"{url}: invalid content encoding: {_short(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            if _is_read_timeout(exc):
                raise FetchTimeout(f"{url}: read timed out in the body") from None
            raise ConnectionFailed(f"{url}: connection broke in the body: {_short(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise ConnectionFailed(f"{url}: {_short(exc)}") from None
        return b"".join(chunks)


def _is_read_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            return True
        if seen.args and isinstance(seen.args[0], BaseException) and seen.args[0] is not seen:
            seen = seen.args[0]
        else:
            seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(value: str | None, cap: float = 60.0) -> float:
    if value and value.strip().isdigit():
        return min(float(value.strip()), cap)
    return 0.0


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "…"
