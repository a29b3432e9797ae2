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

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from transforms.core.clock import utcnow
from transforms.sources.fetch_types import (
    PAGE_ACCEPT,
    BadResponse,
    ConnectionFailed,
    FetchError,
    FetchPolicy,
    FetchResult,
    FetchTimeout,
    HTTPStatusError,
    RedirectLoop,
    ResponseTooLarge,
    TooManyRedirects,
    Validators,
)
from transforms.sources.pinned_http import FetchScope, PinnedSession
from transforms.text.urls import CheckedTarget, UnsafeURLError, check_fetchable

#: Only its ``Retry-After`` parser is used (see ``retry_after_seconds``).
_RETRY = urllib3.util.Retry()
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 16 * 1024  # a deflate chunk inflates at most ~1000x: 16 MB before the cap bites


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
        now: Callable[[], dt.datetime] = utcnow,
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
                delay = max(delay, retry_after_seconds(response.headers.get("retry-after")))
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


def retry_after_seconds(value: str | None, cap: float = 60.0) -> float:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), capped.

    urllib3's parser reads both forms. The retry loop itself stays here rather
    than in a ``urllib3.Retry`` mounted under requests: retries inside the
    adapter would be invisible to the fetch deadline (which shuts the sockets
    down), to the re-check of every address and to ``FetchResult.attempts``.
    """
    if not value or not value.strip():
        return 0.0
    try:
        seconds = _RETRY.parse_retry_after(value.strip())
    except urllib3.exceptions.InvalidHeader:
        return 0.0
    return float(min(max(seconds, 0.0), cap))


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "…"
