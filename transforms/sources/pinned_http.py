"""A requests session that connects only to checked addresses, within a deadline.

Two guards of ``HttpFetcher`` cannot be had from requests' options:

- **Pinning.** requests resolves the host again when it connects, and that
  second answer may differ from the one ``check_fetchable`` approved (DNS
  rebinding: public for the check, 127.0.0.1 for the connection). Here the
  connection classes do not resolve at all: a new connection goes to one of
  the addresses the current fetch's check pinned for that host and port, or
  is refused. The URL, the Host header, TLS SNI and the certificate's
  hostname check stay on the name, because only the socket's target
  changes. (The ``advocate`` library overrides urllib3's ``_new_conn`` in
  the same way; it validates at connection time instead of pinning.)
- **A deadline that no byte rate outlives.** Connect and read timeouts bound
  each wait, not their sum: a server that sends a byte every few seconds
  keeps a read going for hours. A timer shuts the fetch's sockets down when
  its deadline passes, so any blocked read (headers, body, TLS handshake)
  returns at once and the fetch reports the deadline.

A kept-alive connection is reused; it goes to an address that passed the
same check when it was opened, and the deadline of the fetch that reuses it
covers it too. One fetch at a time per session.
"""

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from transforms.text.urls import CheckedTarget, UnsafeURLError


def _key(host: str, port: int) -> tuple[str, int]:
    return host.strip("[]").lower().rstrip("."), port


class FetchScope:
    """One fetch: the addresses its checks pinned, and the deadline of its sockets."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._pins: dict[tuple[str, int], tuple[str, ...]] = {}
        # Duplicates of the connections' sockets: shutting one down breaks the
        # connection, and owning it means its descriptor cannot be reused by
        # another socket while the timer thread holds it.
        self._watched: list[socket.socket] = []
        self._expired = False
        self._over = False
        self._ends = time.monotonic() + seconds
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "FetchScope":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._over = True
            watched, self._watched = self._watched, []
        for sock in watched:
            sock.close()

    @property
    def expired(self) -> bool:
        """The deadline passed and the fetch's connections were shut down."""
        return self._expired

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def pin(self, target: CheckedTarget) -> None:
        """From now on, connections to the target's host and port go to its addresses."""
        self._pins[_key(target.host, target.port)] = target.addresses

    def addresses(self, host: str, port: int) -> tuple[str, ...]:
        pinned = self._pins.get(_key(host, port))
        if not pinned:
            raise UnsafeURLError(
                "unsafe_url", f"refusing to connect to {host}:{port}: no checked address"
            )
        return pinned

    def watch(self, sock: socket.socket) -> None:
        """Puts a connection's socket under the deadline; raises TimeoutError if it passed."""
        with self._lock:
            if not (self._expired or self._over):
                self._watched.append(sock.dup())
                return
        raise TimeoutError("the fetch deadline passed")

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self._expired = True
            for sock in self._watched:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class PinnedSession:
    """``session`` (requests) whose connections go only where ``scope`` pinned them."""

    def __init__(self) -> None:
        self._scope: FetchScope | None = None
        self.session = requests.Session()
        adapter = _PinnedAdapter(self)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def scope(self, seconds: float) -> Iterator[FetchScope]:
        """One fetch with a deadline of ``seconds``; nothing connects outside one."""
        if self._scope is not None:
            raise RuntimeError("one fetch at a time per session")
        with FetchScope(seconds) as scope:
            self._scope = scope
            try:
                yield scope
            finally:
                self._scope = None

    def _current(self, host: str) -> FetchScope:
        if self._scope is None:
            raise UnsafeURLError("unsafe_url", f"refusing to connect to {host} outside a fetch")
        return self._scope

    def connect(self, conn: HTTPConnection) -> socket.socket:
        """A connected socket to one of the addresses pinned for ``conn``'s host and port."""
        scope = self._current(conn.host)
        error: OSError | None = None
        for address in scope.addresses(conn.host, conn.port):
            remaining = scope.remaining()
            if remaining <= 0:
                raise ConnectTimeoutError(conn, f"{conn.host}: fetch deadline passed")
            limit = conn.timeout
            timeout = min(limit, remaining) if isinstance(limit, int | float) else remaining
            try:
                sock = create_connection(
                    (address, conn.port),
                    timeout,
                    source_address=conn.source_address,
                    socket_options=conn.socket_options,
                )
            except OSError as exc:  # TimeoutError included: try the next address
                error = exc
                continue
            try:
                scope.watch(sock)
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(conn, f"{conn.host}: fetch deadline passed") from exc
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from error
        raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error

    def adopt(self, conn: HTTPConnection) -> None:
        """A kept-alive connection taken from a pool comes under this fetch's deadline."""
        if conn.sock is not None:
            try:
                self._current(conn.host).watch(conn.sock)
            except TimeoutError as exc:
                conn.close()
                raise ConnectTimeoutError(conn, f"{conn.host}: fetch deadline passed") from exc


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, pinned_by: PinnedSession, **kwargs: Any) -> None:
        self._pinned_by = pinned_by
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return self._pinned_by.connect(self)


class _PinnedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, pinned_by: PinnedSession, **kwargs: Any) -> None:
        self._pinned_by = pinned_by
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return self._pinned_by.connect(self)


def _adopted(pool: HTTPConnectionPool, conn: Any) -> Any:
    pinned_by: PinnedSession = pool.conn_kw["pinned_by"]
    pinned_by.adopt(conn)
    return conn


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _adopted(self, super()._get_conn(timeout))


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _adopted(self, super()._get_conn(timeout))


class _PinnedPoolManager(urllib3.PoolManager):
    def __init__(self, pinned_by: PinnedSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pinned_by = pinned_by
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["pinned_by"] = self._pinned_by
        return pool


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, pinned_by: PinnedSession) -> None:
        self._pinned_by = pinned_by
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _PinnedPoolManager(
            self._pinned_by, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # A proxy would resolve and connect on its own, past the pins.
        raise UnsafeURLError("unsafe_url", "fetching through a proxy is not supported")
