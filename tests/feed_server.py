"""A real HTTP server on 127.0.0.1 for the feed tests, started and stopped by each test.

Routes map a path to a sequence of replies (the last one repeats) or to a
function of the request; prefixes serve folders. Each reply can be slow to
start, drip its body, lie about its length or its charset, or stream without
end: the faults a feed source meets on the web. Every request is recorded.
"""

import contextlib
import dataclasses
import gzip
import re
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


@dataclasses.dataclass(frozen=True)
class Reply:
    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Seconds before the status line.
    delay: float = 0.0
    #: Seconds between 1 KB pieces of the body.
    drip: float = 0.0
    #: Send the body this many times, chunked, without a Content-Length.
    repeat: int = 1


Route = Callable[[Request], Reply]


class FeedServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: dict[str, Route] = {}
        self._prefixes: dict[str, Callable[[str, Request], Reply]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each reply waits ~40 ms for a delayed ACK

            def do_GET(self) -> None:
                request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                reply = server._reply(request)
                with contextlib.suppress(OSError):  # the client hung up: it may
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                chunked = reply.repeat > 1
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif "content-length" not in headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if chunked:
                    for _ in range(reply.repeat):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(reply.body), reply.body))
                    self.wfile.write(b"0\r\n\r\n")
                elif reply.drip:
                    for start in range(0, len(reply.body), 1024):
                        self.wfile.write(reply.body[start : start + 1024])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                else:
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

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
