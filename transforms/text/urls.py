"""URLs from untrusted feeds: one canonical form, and which ones may be fetched.

Feeds are written by strangers. The same article reaches us from two feeds
with different tracking parameters, and a feed entry may point at
``http://169.254.169.254/`` (a cloud metadata service) or at a private
address inside the network the job runs in, spelled in any of the ways a
resolver accepts (``http://2852039166/``, ``http://[::ffff:169.254.169.254]/``,
``http://[64:ff9b::a9fe:a9fe]/``). ``canonical_url`` makes one article one
URL; ``check_fetchable`` refuses, by default, every address that is not
public and every scheme that is not http(s), and returns the addresses it
checked so that the fetcher connects to those and no others (a second
lookup could answer differently: DNS rebinding).
"""

import dataclasses
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import idna

from transforms.core.errors import ItemError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Hand-written, not courlan's ``normalize_url`` (trafilatura's URL library):
# the cases of tests/transforms/text/test_urls.py show it falls short for a
# key that must mean one article. It sorts the query parameters (two pages
# that differ in their order merge), keeps the fragment, leaves a path-less
# URL without "/" and the default port of an IPv6 host in place, and its
# tracker pattern, made for crawling, also drops parameters that may pick the
# page (``cid``, ``uid``, ``source``, any name starting ``ref``) while it keeps
# HubSpot's, Adobe's, Microsoft's and the New York Times' (``_hsenc``,
# ``cmpid``, ``ocid``, ``smid``).

#: Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_hsenc", "_hsmi", "mkt_tok", "cmpid", "ocid", "ref_src", "smid", "sr_share",
})  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "ga_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Cloud platform services a VM reaches without being link-local; refused even
#: when private hosts are allowed. (The IPv4 metadata address 169.254.169.254
#: of AWS, GCP, Azure and others, and ECS's 169.254.170.2, are link-local.)
_PLATFORM_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "fd00:ec2::/32",  # AWS over IPv6: metadata fd00:ec2::254, DNS ::253, time ::123
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure WireServer
        "192.0.0.192/32",  # Oracle Cloud Classic metadata
    )
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # connecting to 0.0.0.0 reaches this host
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

#: A host whose last label is a number is an IPv4 address to a URL parser
#: (WHATWG) and to ``inet_aton``, in decimal, octal or hex, in 1 to 4 parts.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")  # letters, digits, hyphen (underscore: seen in the wild)


class UnsafeURLError(ItemError):
    """A URL that must not be fetched (scheme, or an address that is not public)."""


@dataclasses.dataclass(frozen=True)
class CheckedTarget:
    """Where a checked URL may be fetched from: connect to these addresses only."""

    #: Lowercase ASCII (IDNA), without brackets or a trailing dot.
    host: str
    port: int
    #: Every address the host resolved to, all checked, in resolution order.
    addresses: tuple[str, ...]


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, no default port, no fragment, no tracking parameters.

    Remaining query parameters keep their order: some sites put the article id
    there (``?p=123``), and reordering could merge two different pages. An
    IPv6 host keeps its brackets (``http://[::1]:8080/``).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key.lower() not in TRACKING_PARAMETERS
            and not key.lower().startswith(_TRACKING_PREFIXES)
        ]
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def _addresses(host: str, port: int) -> Iterable[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_fetchable(
    url: str,
    allow_private: bool = False,
    resolve: Callable[[str, int], Iterable[str]] = _addresses,
) -> CheckedTarget:
    """Raises ``UnsafeURLError`` unless the URL is http(s) to public addresses only.

    Every address the host resolves to is checked (a name may resolve to a
    public and a private address), and so is every IPv4 address an IPv6 one
    leads to (IPv4-mapped, -compatible and -translated, NAT64, 6to4, Teredo).
    ``allow_private`` lets loopback and private networks through — for tests
    and for trusted in-house feeds — but never link-local addresses (the cloud
    metadata service), other platform services, unspecified, multicast or
    reserved ones, in any spelling. A numeric host other than a plain dotted
    quad (``2852039166``, ``0x7f.1``, ``0177.0.0.1``) is refused: resolvers
    disagree on what it means. An address literal is not resolved.
    """
    parts = _split(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURLError("unsafe_url", f"refusing scheme {parts.scheme!r}: only http(s)")
    host = _host(parts, url)
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    except ValueError:
        raise UnsafeURLError("unsafe_url", f"invalid port in URL {url!r}") from None
    literal = _ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            texts = list(resolve(host, port))
        except OSError as exc:
            raise UnsafeURLError("unresolvable", f"cannot resolve {host!r}: {exc}") from None
        parsed = [_ip(text) for text in texts]
        if any(address is None for address in parsed):
            raise UnsafeURLError("unresolvable", f"{host!r} resolves to a non-address: {texts}")
        addresses = list(dict.fromkeys(address for address in parsed if address is not None))
    if not addresses:
        raise UnsafeURLError("unresolvable", f"{host!r} resolves to no address")
    for address in addresses:
        refusal = _refusal(address, allow_private)
        if refusal is not None:
            said = host if literal is not None else f"{host} resolves to {address}"
            raise UnsafeURLError("unsafe_url", f"{said}{refusal}")
    return CheckedTarget(host, port, tuple(str(address) for address in addresses))


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # an unbalanced IPv6 bracket, for one
        raise UnsafeURLError("unsafe_url", f"invalid URL {url!r}: {exc}") from None


def _host(parts: SplitResult, url: str) -> str:
    """The host as a resolver will see it: lowercase ASCII, no brackets, no final dot."""
    host = parts.hostname
    if not host:
        raise UnsafeURLError("unsafe_url", f"no host in URL {url!r}")
    if ":" in host:
        if _ip(host) is None:
            raise UnsafeURLError("unsafe_url", f"invalid IPv6 address in URL {url!r}")
        return host
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise UnsafeURLError("unsafe_url", f"invalid host name {host!r}: {exc}") from None
    host = host.lower().removesuffix(".")
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeURLError("unsafe_url", f"invalid host name {host!r} in URL {url!r}")
    if _NUMERIC_LABEL.fullmatch(labels[-1]) and not _DOTTED_QUAD.fullmatch(host):
        raise UnsafeURLError(
            "unsafe_url",
            f"refusing the numeric host {host!r}: only dotted-decimal IPv4 addresses "
            "(an integer, octal or hex spelling means different addresses to different parsers)",
        )
    return host


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why ``address`` must not be connected to (the end of a message), or None."""
    embedded = _embedded_ipv4(address)
    for candidate, via in [(address, ""), *embedded]:
        kind = _never(candidate)
        if kind is not None:
            shown = f" ({via} {candidate})" if via else ""
            return f"{shown}, {kind}: never fetched, even with private hosts allowed"
    if allow_private:
        return None
    # Mapped, compatible and translated forms only carry an IPv4 address: it
    # alone decides. NAT64, 6to4 and Teredo must be public on both sides.
    carried_only = bool(embedded) and embedded[0][1].startswith("IPv4-")
    judged: list[IPAddress] = [candidate for candidate, _ in embedded]
    if not carried_only:
        judged.insert(0, address)
    private = next((candidate for candidate in judged if not candidate.is_global), None)
    if private is None:
        return None
    shown = "" if private == address else f" (IPv4 {private})"
    return f"{shown}, not a public address (allow private hosts explicitly)"


def _never(address: IPAddress) -> str | None:
    """The kind of address that is refused whatever the options, or None."""
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified ('this host') address"
    if address.is_link_local:
        return "a link-local address (such as the cloud metadata service)"
    if any(address in network for network in _PLATFORM_NETWORKS):
        return "a cloud platform (metadata) address"
    if address in _NAT64_LOCAL:  # RFC 8215: where the IPv4 address sits is the network's choice
        return "a local-use NAT64 address (its IPv4 address cannot be known)"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 4 and address.is_reserved:
        return "a reserved address"
    return None


def _embedded_ipv4(address: IPAddress) -> list[tuple[ipaddress.IPv4Address, str]]:
    """The IPv4 addresses an IPv6 address leads to, each with the mechanism's name."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [(address.ipv4_mapped, "IPv4-mapped")]
    if address in _IPV4_TRANSLATED:
        return [(low, "IPv4-translated")]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1
        return [(low, "IPv4-compatible")]
    if address in _NAT64_WELL_KNOWN:
        return [(low, "NAT64")]
    if address.sixtofour is not None:
        return [(address.sixtofour, "6to4")]
    if address.teredo is not None:
        server, client = address.teredo
        return [(server, "Teredo server"), (client, "Teredo client")]
    return []
