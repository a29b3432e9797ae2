"""URLs from untrusted feeds: one canonical form, and which ones may be fetched.

Feeds are written by strangers. The same article reaches us from two feeds
with different tracking parameters, and a feed entry may point at
``http://169.254.169.254/`` (a cloud metadata service) or at a private
address inside the network the job runs in. ``canonical_url`` makes one
article one URL; ``check_fetchable`` refuses, by default, every address that is
not public and every scheme that is not http(s).
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from transforms.errors import ItemError

#: Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_hsenc", "_hsmi", "mkt_tok", "cmpid", "ocid", "ref_src", "smid", "sr_share",
})  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "ga_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURLError(ItemError):
    """A URL that must not be fetched (scheme, or an address that is not public)."""


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, no default port, no fragment, no tracking parameters.

    Remaining query parameters keep their order: some sites put the article id
    there (``?p=123``), and reordering could merge two different pages.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
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
    return {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}


def check_fetchable(
    url: str,
    allow_private: bool = False,
    resolve: Callable[[str, int], Iterable[str]] = _addresses,
) -> None:
    """Raises ``UnsafeURLError`` unless the URL is http(s) to public addresses only.

    Every address the host resolves to is checked (a name may resolve to a
    public and a private address). ``allow_private`` lets loopback and private
    networks through — for tests and for trusted in-house feeds — but never
    link-local addresses such as the cloud metadata service.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURLError("unsafe_url", f"refusing scheme {parts.scheme!r}: only http(s)")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("unsafe_url", f"no host in URL {url!r}")
    port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    try:
        addresses = list(resolve(host, port))
    except OSError as exc:
        raise UnsafeURLError("unresolvable", f"cannot resolve {host!r}: {exc}") from None
    if not addresses:
        raise UnsafeURLError("unresolvable", f"{host!r} resolves to no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise UnsafeURLError(
                "unsafe_url",
                f"{host} resolves to {address}, a link-local/multicast address: never fetched",
            )
        if not address.is_global and not allow_private:
            raise UnsafeURLError(
                "unsafe_url",
                f"{host} resolves to {address}, not a public "
                "address (allow private hosts explicitly)",
            )
