"""Shared fixtures: a guard against real network access, an isolated user environment, the sim."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Shared helpers (tests/season_kit.py) import as plain modules; tests/ is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_violations: list[str] = []


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return True  # AF_UNIX paths and the like
    name = host.decode() if isinstance(host, bytes) else host
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> object:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        _violations.append(f"connect to {address!r}")
        raise ConnectionRefusedError(f"test guard: network access to {address!r} is blocked (mark the test live)")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        _violations.append(f"connect_ex to {address!r}")
        raise ConnectionRefusedError(f"test guard: network access to {address!r} is blocked (mark the test live)")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and not _is_loopback(host):
        _violations.append(f"DNS lookup of {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: DNS lookup of {host!r} is blocked")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLIFFHANGER_LIVE") == "1":
        return
    skip = pytest.mark.skip(reason="reaches a real provider: set CLIFFHANGER_LIVE=1 to run")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def network_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that reaches a non-loopback host, even when the client swallows the error."""
    if "live" in request.keywords:
        yield
        return
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    _violations.clear()
    yield
    if _violations:
        found = list(_violations)
        _violations.clear()
        pytest.fail(f"test reached the network: {found}")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session, so the bundled GGUF is assembled once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_cache: Path) -> None:
    """No user config, keys or base URLs leak in from the machine running the tests."""
    for key in list(os.environ):
        if key.startswith(("CLIFFHANGER_", "OPENAI_")) and key != "CLIFFHANGER_LIVE":
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))


@pytest.fixture
def sim_url() -> Iterator[str]:
    """A fault-free simulator on a free loopback port."""
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.server import SimConfig, run_in_thread

    with run_in_thread(SimConfig(faults=FaultPlan())) as url:
        yield url


@pytest.fixture
def make_sim():
    """Start simulators with given options; all stop at teardown."""
    import contextlib

    from cliffhanger.agents.sim.faults import FaultPlan, parse_faults, parse_quirks
    from cliffhanger.agents.sim.server import SimConfig, run_in_thread

    stack = contextlib.ExitStack()

    def start(faults: str = "", quirks: str = "", **kwargs: object) -> str:
        config = SimConfig(faults=parse_faults(faults) if faults else FaultPlan(),
                           quirks=parse_quirks(quirks) if quirks else frozenset(), **kwargs)
        return stack.enter_context(run_in_thread(config))

    with stack:
        yield start


DATA = Path(__file__).resolve().parent / "data"


def load_sample(name: str) -> dict:
    """A realistic example artifact from tests/data/<name>.json (zh_bible, zh_script, en_bible, ...)."""
    import json

    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def sample():
    return load_sample
