"""A pool of per-role model clients, and the servers some providers need started.

Providers `local` and `sim` without a base URL are started here (one server each, shared by all
roles) and stopped when the pool closes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from cliffhanger.agents.llm.call_limits import CallLimiter
from cliffhanger.agents.llm.client import CallPolicy, EndpointConfig, ModelClient
from cliffhanger.agents.llm.local import ANNOUNCEMENT, LocalServer
from cliffhanger.agents.llm.model_discovery import resolve_models
from cliffhanger.agents.llm.profiles import Price
from cliffhanger.agents.llm.usage import UsageLog


class ModelPool:
    """Opens the endpoints for a set of roles; use as a context manager."""

    def __init__(
        self,
        endpoints: Mapping[str, EndpointConfig],
        *,
        usage: UsageLog | None = None,
        policy: CallPolicy | None = None,
        prices: dict[str, Price] | None = None,
        cache_dir: Path | None = None,
        announce: Callable[[str], None] | None = None,
        sim_seed: int = 0,
    ) -> None:
        self._configured = dict(endpoints)
        self.endpoints: dict[str, EndpointConfig] = {}
        self.usage = usage or UsageLog()
        self.policy = policy or CallPolicy()
        self.prices = prices
        self.cache_dir = cache_dir or _default_cache_dir()
        self.announce = announce or (lambda _msg: None)
        self.sim_seed = sim_seed
        self._stack = contextlib.ExitStack()
        self._clients: dict[str, ModelClient] = {}
        self.limiter = CallLimiter()

    def __enter__(self) -> ModelPool:
        started: dict[str, str] = {}
        try:
            for role, ep in self._configured.items():
                if not ep.base_url and ep.provider in ("local", "sim"):
                    if ep.provider not in started:
                        started[ep.provider] = self._start(ep.provider)
                    ep = dataclasses.replace(ep, base_url=started[ep.provider])
                self.endpoints[role] = ep
            self.endpoints = resolve_models(self.endpoints, self.announce)  # model "" -> the server's only one
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self, provider: str) -> str:
        if provider == "local":
            self.announce(ANNOUNCEMENT)
            server = LocalServer(self.cache_dir)
            self._stack.callback(server.stop)
            return server.start()
        from cliffhanger.agents.sim.config import SimConfig
        from cliffhanger.agents.sim.faults import FaultPlan
        from cliffhanger.agents.sim.runner import run_in_thread

        return self._stack.enter_context(run_in_thread(SimConfig(seed=self.sim_seed, faults=FaultPlan())))

    def client(self, role: str) -> ModelClient:
        if role not in self._clients:
            client = ModelClient(role, self.endpoints[role], self.usage, self.policy, self.prices)
            client.limiter = self.limiter  # one limiter: a one-slot server gets one call at a time from all roles
            self._clients[role] = client
        return self._clients[role]

    def close(self) -> None:
        self._stack.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cliffhanger"))
