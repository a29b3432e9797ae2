"""The webhook sender against a real server on 127.0.0.1: retries, idempotency, dead letters."""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.feed_server import FeedServer, Reply
from transforms.sinks.webhook import (
    Delivery,
    WebhookPolicy,
    WebhookSender,
    redact,
    slack_text,
    webhook_body,
)

ALERT: dict[str, Any] = {
    "alert_id": "e33db249f1fefa4885f5",
    "type": "new_story_on_thread",
    "thread": {"id": "russia-iran", "title": "Russia–Iran strategic treaty", "kind": "watched"},
    "story": {"id": "s-5a491e80e6fa", "opened_at": "2024-10-10T19:36:00Z"},
    "article": {
        "id": "000.txt",
        "url": "https://www.semafor.com/article/10/10/2024/putin-iran",
        "title": "Putin to meet Iran’s president",
        "source": "Semafor",
        "published": "2024-10-10T19:36:00Z",
    },
    "score": 0.8304,
    "matched_by": "story",
    "evidence": {},
    "event_time": "2024-10-10T19:36:00Z",
    "schema_version": 1,
}
#: The secret part of a Slack-style webhook URL: it must never be written anywhere.
SECRET = "/services/T000/B000/s3cr3tT0ken"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


class Sleeps(list[float]):
    """Records the backoff waits instead of sleeping them (the timeouts stay real)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sender(server: FeedServer, sleeps: Sleeps, **changes: Any) -> WebhookSender:
    policy = WebhookPolicy(
        url=server.url(SECRET),
        timeout_seconds=0.5,
        connect_timeout_seconds=2,
        retries=3,
        backoff_seconds=0.25,
        allow_private_hosts=True,
    )
    return WebhookSender(dataclasses.replace(policy, **changes), sleep=sleeps)


def assert_no_secret(delivery: Delivery) -> None:
    written = json.dumps([delivery.to_json(), delivery.dead_letter().to_json()])
    assert "s3cr3t" not in written and "T000" not in written


def test_a_delivery_posts_the_alert_json_with_its_idempotency_key(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"ok", 200))
    with sender(server, Sleeps()) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.delivered, delivery.reason, delivery.status, delivery.attempts) == (
        True,
        "delivered",
        200,
        1,
    )
    [post] = server.posted
    assert post.method == "POST" and post.path == SECRET
    assert post.headers["idempotency-key"] == "e33db249f1fefa4885f5"
    assert post.headers["content-type"] == "application/json; charset=utf-8"
    assert post.headers["user-agent"].startswith("threadwatch/")
    assert json.loads(post.body) == ALERT
    assert post.body == webhook_body(ALERT, "json")


def test_a_500_is_retried_with_the_same_key_then_delivered(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"boom", 500), Reply(b"ok", 200))
    sleeps = Sleeps()
    with sender(server, sleeps) as s:
        delivery = s.deliver(ALERT)
    assert delivery.delivered and delivery.attempts == 2
    assert [p.headers["idempotency-key"] for p in server.posted] == [ALERT["alert_id"]] * 2
    assert server.posted[0].body == server.posted[1].body
    assert sleeps == [0.25]


def test_backoff_doubles_and_the_last_failure_is_a_dead_letter(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"unavailable", 503))
    sleeps = Sleeps()
    with sender(server, sleeps) as s:
        delivery = s.deliver(ALERT)
    assert not delivery.delivered
    assert (delivery.reason, delivery.status, delivery.attempts) == ("http_503", 503, 4)
    assert len(server.posted) == 4
    assert sleeps == [0.25, 0.5, 1.0]
    letter = delivery.dead_letter().to_json()
    assert letter["stage"] == "webhook" and letter["reason"] == "http_503"
    assert letter["item"] == ALERT["alert_id"] and letter["alert"] == ALERT
    assert "after 4 attempts" in letter["detail"]
    assert letter["uri"] == f"http://127.0.0.1:{server.port}/…"
    assert_no_secret(delivery)


def test_a_429_retry_after_is_honoured(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"slow down", 429, {"Retry-After": "7"}), Reply(b"", 204))
    sleeps = Sleeps()
    with sender(server, sleeps) as s:
        delivery = s.deliver(ALERT)
    assert delivery.delivered and delivery.status == 204 and delivery.attempts == 2
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_cap_waits_the_cap(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"", 429, {"Retry-After": "86400"}), Reply(b"", 200))
    sleeps = Sleeps()
    with sender(server, sleeps, max_retry_after_seconds=30) as s:
        assert s.deliver(ALERT).delivered
    assert sleeps == [30.0]


def test_a_timeout_is_retried_then_delivered(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"late", 200, delay=1.5), Reply(b"ok", 200))
    with sender(server, Sleeps()) as s:
        delivery = s.deliver(ALERT)
    assert delivery.delivered and delivery.attempts == 2
    # The receiver got both: only the Idempotency-Key lets it keep one.
    assert [p.headers["idempotency-key"] for p in server.posted] == [ALERT["alert_id"]] * 2


def test_timeouts_to_the_end_are_a_dead_letter(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"late", 200, delay=1.5))
    with sender(server, Sleeps(), retries=1) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.delivered, delivery.reason, delivery.status, delivery.attempts) == (
        False,
        "timeout",
        None,
        2,
    )
    assert_no_secret(delivery)


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_a_4xx_is_final_at_once(server: FeedServer, status: int) -> None:
    server.route(SECRET, Reply(b"no", status))
    sleeps = Sleeps()
    with sender(server, sleeps) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.delivered, delivery.reason, delivery.attempts) == (False, f"http_{status}", 1)
    assert len(server.posted) == 1 and sleeps == []


def test_a_redirect_is_not_followed(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"", 307, {"Location": "/elsewhere"}))
    server.route("/elsewhere", Reply(b"ok", 200))
    with sender(server, Sleeps()) as s:
        delivery = s.deliver(ALERT)
    assert delivery.reason == "http_307" and "not followed" in delivery.detail
    assert server.hits("/elsewhere") == 0


def test_a_refused_connection_is_retried_then_a_dead_letter() -> None:
    with FeedServer() as gone:
        url = gone.url(SECRET)
    policy = WebhookPolicy(url=url, retries=2, backoff_seconds=0.01, allow_private_hosts=True)
    sleeps = Sleeps()
    with WebhookSender(policy, sleep=sleeps) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.reason, delivery.attempts, len(sleeps)) == ("connection_failed", 3, 2)
    assert_no_secret(delivery)


def test_loopback_is_refused_by_default_and_nothing_is_sent(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"ok", 200))
    sleeps = Sleeps()
    with sender(server, sleeps, allow_private_hosts=False) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.delivered, delivery.reason, delivery.attempts) == (False, "unsafe_url", 1)
    assert "not a public address" in delivery.detail
    assert server.received_nothing() and sleeps == []
    assert_no_secret(delivery)


def test_a_name_that_resolves_to_loopback_is_refused(server: FeedServer) -> None:
    """The check is on the resolved address: a public-looking name gets nothing out."""
    policy = WebhookPolicy(url=f"http://hooks.example.com:{server.port}{SECRET}")
    with WebhookSender(policy, resolve=lambda host, port: ["127.0.0.1"]) as s:
        delivery = s.deliver(ALERT)
    assert delivery.reason == "unsafe_url" and server.received_nothing()


def test_the_connection_goes_to_the_checked_address(server: FeedServer) -> None:
    """Pinned: the name is never looked up again, so the request reaches the checked address."""
    server.route(SECRET, Reply(b"ok", 200))
    policy = WebhookPolicy(
        url=f"http://hooks.example.com:{server.port}{SECRET}", allow_private_hosts=True
    )
    with WebhookSender(policy, resolve=lambda host, port: ["127.0.0.1"]) as s:
        assert s.deliver(ALERT).delivered
    assert server.posted[0].headers["host"] == f"hooks.example.com:{server.port}"


def test_metadata_addresses_stay_refused_even_when_private_is_allowed() -> None:
    policy = WebhookPolicy(url="http://169.254.169.254/latest", allow_private_hosts=True)
    with WebhookSender(policy) as s:
        assert s.deliver(ALERT).reason == "unsafe_url"


def test_slack_body_has_thread_headline_and_link(server: FeedServer) -> None:
    server.route(SECRET, Reply(b"ok", 200))
    with sender(server, Sleeps(), format="slack") as s:
        assert s.deliver(ALERT).delivered
    body = json.loads(server.posted[0].body)
    assert list(body) == ["text"]
    text = body["text"]
    assert "*Russia–Iran strategic treaty*" in text
    assert f"<{ALERT['article']['url']}|Putin to meet Iran’s president>" in text
    assert "Semafor" in text and "score 0.83" in text and ALERT["alert_id"] in text
    assert server.posted[0].headers["idempotency-key"] == ALERT["alert_id"]


def test_slack_text_escapes_its_control_characters_and_links_only_the_web() -> None:
    alert = json.loads(json.dumps(ALERT))
    alert["article"].update(title="<script>alert(1)</script> & co", url="file:///seeds/000.txt")
    text = slack_text(alert)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "<script>" not in text and "<file:" not in text
    assert "file:///seeds/000.txt" in text


@pytest.mark.parametrize(
    "title",
    [
        "Putin trifft Irans Präsidenten in Aşgabat",
        "Путин встретится с президентом Ирана",
        "بوتين يلتقي الرئيس الإيراني",
        "普京将会见伊朗总统",
        "ปูตินพบประธานาธิบดีอิหร่าน",
    ],
)
def test_titles_in_every_script_arrive_intact(server: FeedServer, title: str) -> None:
    server.route(SECRET, Reply(b"ok", 200))
    alert = json.loads(json.dumps(ALERT))
    alert["article"]["title"] = alert["thread"]["title"] = title
    with sender(server, Sleeps()) as s:
        assert s.deliver(alert).delivered
    with sender(server, Sleeps(), format="slack") as s:
        assert s.deliver(alert).delivered
    as_json, as_slack = (json.loads(p.body.decode("utf-8")) for p in server.posted)
    assert as_json["article"]["title"] == title
    assert f"*{title}*" in as_slack["text"] and f"|{title}>" in as_slack["text"]
    assert title.encode("utf-8") in server.posted[0].body  # UTF-8, not \\u escapes


def test_an_alert_without_an_id_is_a_dead_letter_not_a_post(server: FeedServer) -> None:
    with sender(server, Sleeps()) as s:
        delivery = s.deliver({**ALERT, "alert_id": ""})
    assert delivery.reason == "no_alert_id" and server.received_nothing()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://example.com/hook"}, "http(s) URL"),
        ({"url": "https:///nohost"}, "http(s) URL"),
        ({"format": "xml"}, "format must be one of json, slack"),
        ({"retries": 21}, "retries must be between 0 and 20"),
        ({"timeout_seconds": 0}, "timeouts must be positive"),
    ],
)
def test_a_bad_policy_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WebhookPolicy(**{"url": "https://hooks.example.com/x", **changes})


def test_redact_keeps_only_scheme_host_and_port() -> None:
    assert (
        redact("https://user:pw@hooks.slack.com/services/T/B/x?y=1") == "https://hooks.slack.com/…"
    )
    assert redact("http://[::1]:8080/") == "http://[::1]:8080/"


def test_an_unusable_url_is_a_dead_letter_not_a_crash() -> None:
    policy = WebhookPolicy(url="http://exa mple.com/hook", allow_private_hosts=True)
    with WebhookSender(policy) as s:
        delivery = s.deliver(ALERT)
    assert (delivery.delivered, delivery.reason, delivery.attempts) == (False, "unsafe_url", 0)
    assert "invalid URL" in delivery.detail
