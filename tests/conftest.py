"""Shared fixtures: a guard against real network access, an isolated user environment, the sim.

The network guard is installed in `pytest_configure`, before collection and before any fixture of any
scope: socket connects and DNS lookups (getaddrinfo, gethostbyname, gethostbyname_ex) to anything but
loopback are refused and recorded. A test fails when it, its fixtures, or a broader fixture set up or
torn down before it reached the network; what happens after the last test fails the session fixture's
teardown. Only tests marked `live` may reach the network. Proxy variables are cleared for the session
(kept only when CLIFFHANGER_LIVE=1) and NO_PROXY set to loopback, so that neither this process nor a
subprocess sends a request meant for the sim through a proxy; keys and base URLs of the machine are
cleared too, for fixtures of every scope.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Fixtures of their own modules: a private PostgreSQL (postgres_url), a `cliffhanger serve` on it (server).
pytest_plugins = ["pg_kit", "serve_kit"]

# Shared helpers (tests/season_kit.py) import as plain modules; tests/ is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
PROXY_VARS = tuple(v for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "WS_PROXY", "WSS_PROXY")
                   for v in (name, name.lower()))
NO_PROXY = "127.0.0.1,localhost,::1"


class _Guard:
    """Session-wide state of the network guard."""

    violations: list[str] = []
    allow = False  # True while a test marked `live` runs


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return True  # AF_UNIX paths and the like
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower().rstrip(".") in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _blocked(what: str, target: object) -> bool:
    """Records a violation and returns True when `target` is not loopback and no live test runs."""
    if _Guard.allow or _is_loopback(target):
        return False
    _Guard.violations.append(f"{what} {target!r}")
    return True


_real = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
         "getaddrinfo": socket.getaddrinfo, "gethostbyname": socket.gethostbyname,
         "gethostbyname_ex": socket.gethostbyname_ex}


def _guarded_connect(self: socket.socket, address: object) -> object:
    if isinstance(address, tuple) and _blocked("connect to", address[0]):
        raise ConnectionRefusedError(f"test guard: network access to {address!r} is blocked (mark the test live)")
    return _real["connect"](self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if isinstance(address, tuple) and _blocked("connect_ex to", address[0]):
        raise ConnectionRefusedError(f"test guard: network access to {address!r} is blocked (mark the test live)")
    return _real["connect_ex"](self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and _blocked("DNS lookup of", host):
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: DNS lookup of {host!r} is blocked")
    return _real["getaddrinfo"](host, *args, **kwargs)


def _guarded_gethostbyname(host: str) -> str:
    if _blocked("DNS lookup of", host):
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: DNS lookup of {host!r} is blocked")
    return _real["gethostbyname"](host)


def _guarded_gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
    if _blocked("DNS lookup of", host):
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: DNS lookup of {host!r} is blocked")
    return _real["gethostbyname_ex"](host)


_UNDO = pytest.StashKey[pytest.MonkeyPatch]()


def pytest_configure(config: pytest.Config) -> None:
    """Before collection and every fixture: the guard, no proxies, no keys or base URLs of this machine."""
    mp = pytest.MonkeyPatch()
    config.stash[_UNDO] = mp
    mp.setattr(socket.socket, "connect", _guarded_connect)
    mp.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    mp.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    mp.setattr(socket, "gethostbyname", _guarded_gethostbyname)
    mp.setattr(socket, "gethostbyname_ex", _guarded_gethostbyname_ex)
    live = os.environ.get("CLIFFHANGER_LIVE") == "1"
    kept = ""
    if live:  # live tests may need the machine's proxy to reach a provider; loopback still bypasses it
        kept = ",".join(filter(None, (os.environ.get("NO_PROXY"), os.environ.get("no_proxy"))))
    else:
        for var in PROXY_VARS:
            mp.delenv(var, raising=False)
    mp.setenv("NO_PROXY", ",".join(filter(None, (NO_PROXY, kept))))
    mp.setenv("no_proxy", ",".join(filter(None, (NO_PROXY, kept))))
    _clear_user_settings(mp)


def pytest_unconfigure(config: pytest.Config) -> None:
    mp = config.stash.get(_UNDO, None)
    if mp is not None:
        mp.undo()


def _clear_user_settings(mp: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("CLIFFHANGER_", "OPENAI_")) and key != "CLIFFHANGER_LIVE":
            mp.delenv(key)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLIFFHANGER_LIVE") == "1":
        return
    skip = pytest.mark.skip(reason="reaches a real provider: set CLIFFHANGER_LIVE=1 to run")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


def _take_violations() -> list[str]:
    found = list(_Guard.violations)
    _Guard.violations.clear()
    return found


@pytest.fixture(scope="session", autouse=True)
def network_guard_session() -> Iterator[None]:
    """Fails the session when something reached the network after the last test's own check (a module or
    session fixture's teardown). The guard itself is installed in pytest_configure."""
    yield
    found = _take_violations()
    if found:
        pytest.fail(f"a fixture reached the network after the last test: {found}")


@pytest.fixture(autouse=True)
def network_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test that reaches a non-loopback host, even when the client swallows the error; and any test
    whose broader fixtures (module, class, session) reached it while being set up for it."""
    earlier = _take_violations()
    if earlier:
        pytest.fail(f"a fixture set up (or torn down) before this test reached the network: {earlier}")
    live = "live" in request.keywords
    _Guard.allow = live
    try:
        yield
    finally:
        _Guard.allow = False
    found = _take_violations()
    if found:
        pytest.fail(f"test reached the network: {found}")


@pytest.fixture(scope="session", autouse=True)
def session_env(shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fixtures broader than a test run with their own config and state dirs (isolated_env is per test)."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as mp:
        _clear_user_settings(mp)
        mp.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
        mp.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
        mp.setenv("XDG_CACHE_HOME", str(shared_cache))
        yield


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session, so the bundled GGUF is assembled once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_cache: Path) -> None:
    """No user config, keys or base URLs leak in from the machine running the tests (nor from an earlier test)."""
    _clear_user_settings(monkeypatch)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))


@pytest.fixture
def sim_url() -> Iterator[str]:
    """A fault-free simulator on a free loopback port."""
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.runner import run_in_thread

    with run_in_thread(SimConfig(faults=FaultPlan())) as url:
        yield url


@pytest.fixture
def make_sim():
    """Start simulators with given options; all stop at teardown."""
    import contextlib

    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan, parse_faults, parse_quirks
    from cliffhanger.agents.sim.runner import run_in_thread

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


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    """Canon seeded from the Chinese sample bible: (ledger, bible, the sample episode script)."""
    from cliffhanger.agents.roles.continuity import seed_canon
    from cliffhanger.agents.season.artifacts import Bible, EpisodeScript
    from cliffhanger.memory.ledger import Ledger

    ledger = Ledger(tmp_path / "canon.sqlite")
    bible = Bible.model_validate(load_sample("zh_bible"))
    seed_canon(ledger, bible)
    yield ledger, bible, EpisodeScript.model_validate(load_sample("zh_script"))
    ledger.close()
