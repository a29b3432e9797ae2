"""Canonical URLs and the refusal of unsafe fetch targets (no network: resolution is injected)."""

import pytest

from transforms.urls import UnsafeURLError, canonical_url, check_fetchable


def test_tracking_parameters_fragments_and_default_ports_go() -> None:
    a = canonical_url("HTTPS://News.Example.com:443/world/putin-iran?utm_source=rss&id=7#top")
    b = canonical_url("https://news.example.com/world/putin-iran?id=7&fbclid=abc")
    assert a == b == "https://news.example.com/world/putin-iran?id=7"
    assert canonical_url("http://example.com:8080") == "http://example.com:8080/"


def test_article_identifying_parameters_stay_in_order() -> None:
    assert canonical_url("https://example.com/?p=2&lang=en") == "https://example.com/?p=2&lang=en"


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "::1", "fd00::1"]
)
def test_private_and_loopback_addresses_are_refused_by_default(address: str) -> None:
    with pytest.raises(UnsafeURLError, match="not a public address"):
        check_fetchable("http://feeds.example.com/rss", resolve=resolver(address))
    check_fetchable("http://feeds.example.com/rss", allow_private=True, resolve=resolver(address))


def test_metadata_service_is_refused_even_when_private_hosts_are_allowed() -> None:
    with pytest.raises(UnsafeURLError, match="link-local"):
        check_fetchable(
            "http://169.254.169.254/latest/meta-data/",
            allow_private=True,
            resolve=resolver("169.254.169.254"),
        )


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(UnsafeURLError):
        check_fetchable("https://mixed.example.com/", resolve=resolver("93.184.216.34", "10.0.0.1"))
    check_fetchable("https://public.example.com/", resolve=resolver("93.184.216.34"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="only http"):
        check_fetchable(url, allow_private=True, resolve=resolver("93.184.216.34"))


def test_unresolvable_hosts_are_a_clear_error() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeURLError) as info:
        check_fetchable("https://nowhere.example.com/", resolve=fail)
    assert info.value.reason == "unresolvable"
