"""Alerts to an HTTP webhook: one POST per alert, retried, guarded, never dropped.

No Beam here: ``WebhookSender`` is a plain object (the DoFn in
``transforms.sinks.deliver`` calls it), tested against a real local server.

- **Body.** ``json``: the alert itself (``config/alert.schema.json``);
  ``slack``: ``{"text": …}`` for a Slack (or Mattermost, Rocket.Chat…)
  incoming webhook, with the thread, the story's headline and its link
  (``config/webhook_slack.schema.json``). Bytes are the same on every run.
- **Idempotency.** Every attempt carries ``Idempotency-Key: <alert_id>``;
  ``alert_id`` is the same on every run and after a restart, so a receiver
  that de-duplicates on it sees each alert once however often it is sent.
- **Retries.** A 5xx or 429 answer, a timeout or a broken connection is
  retried with exponential backoff; a 429's or 503's ``Retry-After`` is
  honoured (capped). A 3xx (redirects are not followed: a POST must not be
  replayed elsewhere) or another 4xx is final at once.
- **The feeds' SSRF guard.** Before every attempt the URL goes through
  ``check_fetchable``: http(s), public addresses only unless
  ``allow_private_hosts``; the connection goes only to the addresses that
  check approved (``PinnedSession``: no second lookup, no DNS rebinding),
  within a deadline no byte rate outlives. A refused URL sends nothing.
- **Never dropped.** ``deliver`` always returns a ``Delivery``: delivered,
  or failed with a reason code (``http_500``, ``timeout``, ``unsafe_url``…),
  which the caller writes to a dead-letter output with the alert.

The webhook URL is shown redacted (scheme, host and port) in every record:
its path is often the secret (Slack's ``/services/T…/B…/…``).
"""

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from transforms.sources.http_fetch import retry_after_seconds
from transforms.sources.pinned_http import PinnedSession
from transforms.text.urls import UnsafeURLError, check_fetchable

WebhookFormat = Literal["json", "slack"]
FORMATS: tuple[WebhookFormat, ...] = ("json", "slack")
USER_AGENT = "threadwatch/0.1 (news event detection; alert webhook)"
SCHEMA_VERSION = 1
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class WebhookPolicy:
    """Where and how alerts are POSTed (``--alert_webhook*`` flags)."""

    url: str
    format: WebhookFormat = "json"
    connect_timeout_seconds: float = 5.0
    #: Longest wait for the answer to one attempt (also the attempt's deadline).
    timeout_seconds: float = 10.0
    #: Retries after a 5xx/429 answer, a timeout or a connection failure.
    retries: int = 4
    #: First backoff; doubled at each retry.
    backoff_seconds: float = 1.0
    #: Cap on a ``Retry-After`` wait.
    max_retry_after_seconds: float = 60.0
    #: Let the webhook be a loopback or private address (never link-local or metadata).
    allow_private_hosts: bool = False
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL with a host (got {redact(self.url)!r})")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {self.format!r})")
        if self.connect_timeout_seconds <= 0 or self.timeout_seconds <= 0:
            raise ValueError("timeouts must be positive")
        if not 0 <= self.retries <= 20:
            raise ValueError(f"retries must be between 0 and 20 (got {self.retries})")
        if self.backoff_seconds < 0 or self.max_retry_after_seconds < 0:
            raise ValueError("backoff_seconds and max_retry_after_seconds must not be negative")

    @property
    def target(self) -> str:
        return redact(self.url)


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What became of one alert: delivered, or failed with a reason (a dead letter)."""

    alert_id: str
    delivered: bool
    #: ``delivered``, or why not: ``http_NNN``, ``timeout``, ``connection_failed``,
    #: ``unsafe_url``, ``unresolvable``.
    reason: str
    detail: str
    #: The last HTTP status received (None: none was).
    status: int | None
    attempts: int
    target: str
    alert: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A line of ``webhook_deliveries.jsonl``: the outcome, without the alert."""
        return {
            "schema_version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "outcome": "delivered" if self.delivered else "dead_lettered",
            "reason": self.reason,
            "status": self.status,
            "attempts": self.attempts,
            "target": self.target,
            "event_time": self.alert.get("event_time", ""),
        }

    def dead_letter(self) -> "FailedDelivery":
        return FailedDelivery(self)


@dataclasses.dataclass(frozen=True)
class FailedDelivery:
    """A line of ``webhook_dead_letters.jsonl``: a dead letter, plus the alert to resend."""

    delivery: Delivery

    def to_json(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "schema_version": SCHEMA_VERSION,
            "item": d.alert_id,
            "uri": d.target,
            "stage": "webhook",
            "reason": d.reason,
            "detail": d.detail,
            "status": d.status,
            "attempts": d.attempts,
            "alert": dict(d.alert),
            "event_time": d.alert.get("event_time", ""),
        }


def redact(url: str) -> str:
    """``scheme://host[:port]/…``: no credentials, path or query (they may be the secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    host = f"[{host}]" if ":" in host else host
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{host}{port}{rest}"


def _slack_escape(text: str) -> str:
    """Slack's three control characters in message text (its "Formatting text" guide)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alert: Mapping[str, Any]) -> str:
    """One message: thread, headline (linked when the article has a web link), source, score."""
    thread = alert.get("thread", {})
    article = alert.get("article", {})
    title = _slack_escape(str(article.get("title") or article.get("id") or "(untitled)"))
    url = str(article.get("url") or "")
    headline = title
    if url.startswith(("http://", "https://")) and not any(c in url for c in "<>| "):
        headline = f"<{url}|{title}>"
    published = str(article.get("published") or alert.get("event_time") or "")
    facts = [str(article.get("source") or ""), published.replace("T", " ").replace("Z", " UTC")]
    facts.append(f"score {float(alert.get('score', 0.0)):.2f} by {alert.get('matched_by', '?')}")
    lines = [
        f"New story on *{_slack_escape(str(thread.get('title') or thread.get('id') or '?'))}*",
        headline,
        _slack_escape(" · ".join(f for f in facts if f.strip())),
    ]
    if url and headline == title:
        lines.append(_slack_escape(url))
    lines.append(f"alert {alert.get('alert_id', '?')} · story {alert.get('story', {}).get('id')}")
    return "\n".join(lines)


def webhook_body(alert: Mapping[str, Any], fmt: WebhookFormat) -> bytes:
    data: Mapping[str, Any] = alert if fmt == "json" else {"text": slack_text(alert)}
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")


class WebhookSender:
    """POSTs alerts to one webhook, one at a time; ``deliver`` never raises for an alert.

    ``resolve`` (which addresses a name has), ``clock`` and ``sleep`` are
    injectable for tests; ``resolve``'s answer is where the connection goes.
    """

    def __init__(
        self,
        policy: WebhookPolicy,
        resolve: Callable[[str, int], Iterable[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._clock = clock
        self._sleep = sleep
        self._pinned = PinnedSession()
        self._session = self._pinned.session
        # No proxy or .netrc credentials from the environment (as for feeds).
        self._session.trust_env = False

    def close(self) -> None:
        self._pinned.close()

    def __enter__(self) -> "WebhookSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def deliver(self, alert: Mapping[str, Any]) -> Delivery:
        alert_id = str(alert.get("alert_id") or "")
        if not alert_id:
            return self._outcome(alert, False, "no_alert_id", "the alert has no alert_id", None, 0)
        policy = self.policy
        try:
            request = self._session.prepare_request(
                requests.Request(
                    "POST",
                    policy.url,
                    data=webhook_body(alert, policy.format),
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Idempotency-Key": alert_id,
                        "User-Agent": policy.user_agent,
                    },
                )
            )
        except (requests.exceptions.RequestException, ValueError) as exc:
            return self._outcome(alert, False, "unsafe_url", f"invalid URL: {exc}", None, 0)
        attempt = 0
        while True:
            attempt += 1
            status, reason, detail, wait = self._attempt(request)
            if reason == "delivered":
                return self._outcome(alert, True, reason, detail, status, attempt)
            if wait is None or attempt > policy.retries:
                if wait is not None:
                    detail = f"{detail} (after {attempt} attempts)"
                return self._outcome(alert, False, reason, detail, status, attempt)
            self._sleep(max(policy.backoff_seconds * 2 ** (attempt - 1), wait))

    def _attempt(
        self, request: requests.PreparedRequest
    ) -> tuple[int | None, str, str, float | None]:
        """(status, reason, detail, wait before a retry; None: final)."""
        policy = self.policy
        try:
            target = (
                check_fetchable(policy.url, policy.allow_private_hosts)
                if self._resolve is None
                else check_fetchable(policy.url, policy.allow_private_hosts, self._resolve)
            )
        except UnsafeURLError as exc:
            return None, exc.reason, str(exc), None
        deadline = policy.connect_timeout_seconds + policy.timeout_seconds
        with self._pinned.scope(deadline) as scope:
            scope.pin(target)
            try:
                response = self._session.send(
                    request,
                    stream=True,
                    allow_redirects=False,
                    timeout=(policy.connect_timeout_seconds, policy.timeout_seconds),
                )
            except UnsafeURLError as exc:  # the pinned connection refused an unchecked address
                return None, exc.reason, str(exc), None
            except requests.exceptions.Timeout as exc:
                return None, "timeout", _short(exc), 0.0
            except requests.exceptions.RequestException as exc:
                if scope.expired:
                    return None, "timeout", f"no answer within {deadline}s", 0.0
                return None, "connection_failed", _short(exc), 0.0
            try:
                status = response.status_code
                if 200 <= status < 300:
                    return status, "delivered", f"HTTP {status}", None
                if status in _RETRIED_STATUSES:
                    wait = retry_after_seconds(
                        response.headers.get("retry-after"), policy.max_retry_after_seconds
                    )
                    return status, f"http_{status}", f"HTTP {status} from {policy.target}", wait
                why = " (redirects are not followed)" if 300 <= status < 400 else ""
                return status, f"http_{status}", f"HTTP {status} from {policy.target}{why}", None
            finally:
                response.close()

    def _outcome(
        self,
        alert: Mapping[str, Any],
        delivered: bool,
        reason: str,
        detail: str,
        status: int | None,
        attempts: int,
    ) -> Delivery:
        return Delivery(
            alert_id=str(alert.get("alert_id") or ""),
            delivered=delivered,
            reason=reason,
            detail=self._scrub(detail),
            status=status,
            attempts=attempts,
            target=self.policy.target,
            alert=alert,
        )

    def _scrub(self, text: str) -> str:
        """The detail without the URL's secret parts (requests' messages name the path)."""
        parts = urlsplit(self.policy.url)
        text = text.replace(self.policy.url, self.policy.target)
        secret = parts.path + (f"?{parts.query}" if parts.query else "")
        if secret not in ("", "/"):
            text = text.replace(secret, "/…")
        if parts.password:
            text = text.replace(parts.password, "…")
        return text


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "…"
