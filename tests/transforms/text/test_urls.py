"""Canonical URLs and the refusal of unsafe fetch targets (no network: resolution is injected)."""

import pytest

from transforms.text.urls import CheckedTarget, UnsafeURLError, canonical_url, check_fetchable


def test_tracking_parameters_fragments_and_default_ports_go() -> None:
    a = canonical_url("HTTPS://News.Example.com:443/world/putin-iran?utm_source=rss&id=7#top")
    b = canonical_url("https://news.example.com/world/putin-iran?id=7&fbclid=abc")
    assert a == b == "https://news.example.com/world/putin-iran?id=7"
    assert canonical_url("http://example.com:8080") == "http://example.com:8080/"


def test_article_identifying_parameters_stay_in_order() -> None:
    assert canonical_url("https://example.com/?p=2&lang=en") == "https://example.com/?p=2&lang=en"


@pytest.mark.parametrize(
    "parameter", ["_hsenc", "_hsmi", "cmpid", "ocid", "smid", "sr_share", "mc_eid", "utm_campaign"]
)
def test_campaign_parameters_of_mail_and_social_tools_go(parameter: str) -> None:
    url = f"https://example.com/a?id=7&{parameter}=x"
    assert canonical_url(url) == "https://example.com/a?id=7"


@pytest.mark.parametrize("parameter", ["cid", "uid", "source", "refresh", "reference"])
def test_parameters_that_may_pick_the_page_stay(parameter: str) -> None:
    url = f"https://example.com/a?{parameter}=12345"
    assert canonical_url(url) == url


def test_ipv6_hosts_keep_their_brackets() -> None:
    assert canonical_url("http://[::1]:18765/") == "http://[::1]:18765/"
    assert canonical_url("HTTPS://[2001:DB8::1]:443/a?utm_medium=x#f") == "https://[2001:db8::1]/a"


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "::1", "fd00::1"]
)
def test_private_and_loopback_addresses_are_refused_by_default(address: str) -> None:
    with pytest.raises(UnsafeURLError, match="not a public address"):
        check_fetchable("http://feeds.example.com/rss", resolve=resolver(address))
    check_fetchable("http://feeds.example.com/rss", allow_private=True, resolve=resolver(address))


def not_resolved(host: str, port: int) -> list[str]:
    raise AssertionError(f"an address literal was resolved: {host}")


#: The metadata service and other never-fetched addresses, as a resolver may
#: answer them (IPv4-mapped answers come back from getaddrinfo with AI_V4MAPPED).
NEVER = [
    "169.254.169.254",
    "169.254.170.2",  # ECS task metadata
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:169.254.169.254",  # IPv4-translated
    "::169.254.169.254",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64, whatever its prefix length
    "2002:a9fe:a9fe::",  # 6to4
    "2001:0:a9fe:a9fe::1",  # Teredo, the metadata service as its server
    "fd00:ec2::254",  # AWS metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud metadata
    "fe80::1",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "::ffff:0.0.0.0",
    "224.0.0.1",
    "ff02::1",
    "255.255.255.255",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", NEVER)
def test_metadata_and_unspecified_addresses_are_refused_even_with_private_hosts_allowed(
    address: str,
) -> None:
    for allow_private in (False, True):
        with pytest.raises(UnsafeURLError, match="never fetched") as info:
            check_fetchable("http://feeds.example.com/", allow_private, resolver(address))
        assert info.value.reason == "unsafe_url"
        host = f"[{address}]" if ":" in address else address
        with pytest.raises(UnsafeURLError, match="never fetched"):
            check_fetchable(f"http://{host}/latest/meta-data/", allow_private, not_resolved)


@pytest.mark.parametrize(
    "host",
    [
        "2852039166",  # 169.254.169.254 as one integer
        "0xa9fea9fe",
        "0251.0376.0251.0376",  # octal
        "0xa9.0xfe.0xa9.0xfe",
        "169.254.43518",  # a 16-bit last part
        "169.16689662",
        "2130706433",  # 127.0.0.1
        "127.1",
        "127.000.000.001",
        "0x7f.1",
        "1.2.3.4.5",
        "example.123",
        "example.0x1",
    ],
)
def test_numeric_hosts_other_than_dotted_decimal_are_refused(host: str) -> None:
    with pytest.raises(UnsafeURLError, match="numeric host") as info:
        check_fetchable(f"http://{host}/", allow_private=True, resolve=not_resolved)
    assert info.value.reason == "unsafe_url"


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2002:c0a8:1::",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    ],
)
def test_private_ipv4_behind_ipv6_forms_is_private(address: str) -> None:
    with pytest.raises(UnsafeURLError, match="not a public address"):
        check_fetchable("http://feeds.example.com/", resolve=resolver(address))
    check_fetchable("http://feeds.example.com/", allow_private=True, resolve=resolver(address))


@pytest.mark.parametrize(
    "address", ["::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::"]
)
def test_public_ipv4_behind_ipv6_forms_is_public(address: str) -> None:
    check_fetchable("http://feeds.example.com/", resolve=resolver(address))


def test_the_checked_addresses_are_returned_for_the_connection() -> None:
    target = check_fetchable(
        "https://News.Example.com.:8443/x",
        resolve=resolver("2606:2800:220:1::1", "93.184.216.34", "93.184.216.34"),
    )
    assert target == CheckedTarget(
        "news.example.com", 8443, ("2606:2800:220:1::1", "93.184.216.34")
    )
    assert check_fetchable("http://93.184.216.34/", resolve=not_resolved).addresses == (
        "93.184.216.34",
    )


def test_international_names_are_checked_as_sent() -> None:
    seen: list[str] = []

    def record(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["93.184.216.34"]

    assert check_fetchable("http://Bücher.example/", resolve=record).host == "xn--bcher-kva.example"
    assert seen == ["xn--bcher-kva.example"]


@pytest.mark.parametrize(
    "url",
    ["http://exa%6dple.com/", "http://a b.example/", "http://[::1/", "http://x.example:99999/"],
)
def test_malformed_hosts_and_ports_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        check_fetchable(url, allow_private=True, resolve=resolver("93.184.216.34"))
    assert info.value.reason == "unsafe_url"


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
