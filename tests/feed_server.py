"""A real HTTP server on 127.0.0.1 for feed and webhook tests, started and stopped by each.

Routes map a path to a sequence of replies (the last one repeats) or to a
function of the request; prefixes serve folders. Each reply can be slow to
start, drip its head or body a byte at a time, end its body by closing the
connection, lie about its length or its charset, or stream without end: the
faults a feed source meets on the web. Every connection and every request
(any method) is recorded, so a security test can check that nothing arrived.
"""

import contextlib
import dataclasses
import datetime as dt
import gzip
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    #: The body of a POST (in ``FeedServer.posted``), read by its Content-Length.
    body: bytes = b""


@dataclasses.dataclass(frozen=True)
class Reply:
    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Seconds before the status line.
    delay: float = 0.0
    #: Seconds between pieces of the body, of ``drip_bytes`` each.
    drip: float = 0.0
    drip_bytes: int = 1024
    #: Seconds between the bytes of the status line and headers.
    drip_head: float = 0.0
    #: No Content-Length: the body ends when the server closes the connection.
    close_delimited: bool = False
    #: Send the body this many times, chunked, without a Content-Length.
    repeat: int = 1


Route = Callable[[Request], Reply]


class FeedServer:
    """``host`` is 127.0.0.1, or ``::1`` for an IPv6 server; ``tls`` makes it HTTPS."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Request] = []
        #: POST requests with their bodies, in arrival order.
        self.posted: list[Request] = []
        #: TCP connections accepted, whether or not a request followed.
        self.connections = 0
        #: The TLS server names (SNI) clients asked for.
        self.server_names: list[str | None] = []
        self._routes: dict[str, Route] = {}
        self._prefixes: dict[str, Callable[[str, Request], Reply]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each reply waits ~40 ms for a delayed ACK

            def handle(self) -> None:
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # hung up
                    super().handle()

            def setup(self) -> None:
                with server._lock:
                    server.connections += 1
                super().setup()

            def parse_request(self) -> bool:
                parsed = super().parse_request()
                headers = {k.lower(): v for k, v in self.headers.items()} if parsed else {}
                self.request_seen = Request(str(self.command or ""), self.path, headers)
                with server._lock:
                    server.requests.append(self.request_seen)
                return parsed

            def do_GET(self) -> None:
                reply = server._reply(self.request_seen)
                with contextlib.suppress(OSError):  # the client hung up: it may
                    self._send(reply)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                seen = dataclasses.replace(self.request_seen, body=self.rfile.read(length))
                with server._lock:
                    server.posted.append(seen)
                reply = server._reply(seen)
                with contextlib.suppress(OSError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                chunked = reply.repeat > 1
                extra = {}
                if chunked:
                    extra["Transfer-Encoding"] = "chunked"
                elif reply.close_delimited:
                    extra["Connection"] = "close"
                    self.close_connection = True
                elif "content-length" not in headers:
                    extra["Content-Length"] = str(len(reply.body))
                if reply.drip_head:
                    self._drip_head(reply, {**extra, **reply.headers})
                else:
                    self.send_response(reply.status)
                    for name, value in {**extra, **reply.headers}.items():
                        self.send_header(name, value)
                    self.end_headers()
                if chunked:
                    for _ in range(reply.repeat):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(reply.body), reply.body))
                    self.wfile.write(b"0\r\n\r\n")
                elif reply.drip:
                    for start in range(0, len(reply.body), reply.drip_bytes):
                        self.wfile.write(reply.body[start : start + reply.drip_bytes])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                else:
                    self.wfile.write(reply.body)

            def _drip_head(self, reply: Reply, headers: Mapping[str, str]) -> None:
                lines = [f"HTTP/1.1 {reply.status} {self.responses[reply.status][0]}"]
                lines += [f"{name}: {value}" for name, value in headers.items()]
                for byte in ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"):
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.drip_head)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self._host = host
        self._scheme = "http" if tls is None else "https"
        self._server = Server((host, 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:

            def record(sock: Any, name: str | None, context: Any) -> None:
                self.server_names.append(name)

            tls.sni_callback = record
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{self._scheme}://{host}:{self.port}{path}"

    def received_nothing(self) -> bool:
        """No connection was accepted, so no request of any kind arrived."""
        with self._lock:
            return self.connections == 0 and not self.requests

    def route(self, path: str, *replies: Reply) -> None:
        """Answers ``path`` with the replies in turn; the last one repeats."""
        pending = list(replies)

        def answer(_: Request) -> Reply:
            return pending.pop(0) if len(pending) > 1 else pending[0]

        self._routes[path] = answer

    def handle(self, path: str, route: Route) -> None:
        self._routes[path] = route

    def serve_folder(self, prefix: str, folder: Path) -> None:
        """``prefix + relative path`` → the file, with its ``Header:`` lines as headers."""

        def answer(rest: str, _: Request) -> Reply:
            path = (folder / rest).resolve()
            if folder.resolve() not in path.parents or not path.is_file():
                return Reply(b"not found", 404)
            return corpus_reply(path)

        self._prefixes[prefix] = answer

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def _reply(self, request: Request) -> Reply:
        path = request.path.split("?", 1)[0]
        if path in self._routes:
            return self._routes[path](request)
        for prefix, answer in self._prefixes.items():
            if path.startswith(prefix):
                return answer(path[len(prefix) :], request)
        return Reply(b"not found", 404)

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


_HEADER_LINE = re.compile(rb"^\s*Header:\s*([^:\r\n]+):[ \t]*(.*?)\s*$", re.MULTILINE)


def corpus_reply(path: Path) -> Reply:
    """A file of feedparser's test corpus, with the HTTP headers its comments declare.

    feedparser's own test server does the same: a ``Header: Name: value`` line
    in a fixture's comment becomes a response header (content types, charsets,
    ETags). Without one, the content type follows the extension.
    """
    body = path.read_bytes()
    headers: dict[str, str] = {}
    for name, value in _HEADER_LINE.findall(body[:4096]):
        headers[name.decode("latin-1").strip()] = value.decode("latin-1")
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = (
            "application/feed+json" if path.suffix == ".json" else "application/xml"
        )
    return Reply(body, 200, headers)


def gzip_reply(body: bytes, content_type: str = "text/html; charset=utf-8") -> Reply:
    """The body sent gzip-compressed, as most news sites send pages."""
    return Reply(
        gzip.compress(body), 200, {"Content-Type": content_type, "Content-Encoding": "gzip"}
    )


def tls_for(name: str, folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for ``name``, and the CA file that signed it.

    Made with ``cryptography`` (a dependency of Beam's GCP extra) for each test
    run: no key is kept in the repository.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name | None,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(issuer or subject_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("threadwatch test CA", ca_key, None, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate(name, key, ca_cert.subject, ca_key, ca=False)
    ca_file, chain = folder / "ca.pem", folder / "server.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return context, ca_file
