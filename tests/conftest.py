"""Shared fixtures: the real packaged model (loaded once), paths, a network guard."""

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pubsub_emulator import emulator
from tests.support import REPO, CachedModelHandler


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
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


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


@pytest.fixture
def seeds_dir() -> Path:
    return REPO / "seeds"


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
