"""The crew: one model per role, the servers some providers need started, and what a run attaches to them.

`open_crew` is the one way the CLI, the room, evals and scripts get model clients. Providers `local` and
`sim` without a base URL are started there (one server each, shared by all roles) and stopped when the
crew closes; an endpoint without a model gets its server's only one. Tests and evals that script their
models wrap them with `Crew.of`. A run attaches its budget, its concurrency cap and its token ticker to
every model of the crew with `Crew.attach`. Several seasons in one process each get a copy of the
crew's clients (`Crew.for_season`: their own usage log and budget) that shares its servers and its
endpoint limiters (`call_limits.EndpointLimits`, the process's by default).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from cliffhanger.agents.errors import ConfigError
from cliffhanger.agents.llm.call_limits import Budget, CallLimiter, EndpointLimits, TokenTick, process_limits
from cliffhanger.agents.llm.client import ModelClient, StructuredModel
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.local import ANNOUNCEMENT, LocalServer
from cliffhanger.agents.llm.model_discovery import resolve_models
from cliffhanger.agents.llm.profiles import Price
from cliffhanger.agents.llm.usage import UsageLog


class RoleModel(StructuredModel, Protocol):
    """What a run needs of one role's model: `ModelClient`, or `ScriptedClient` in tests and demos.

    `budget`, `limiter` and `on_tokens` are set by `Crew.attach`; `price` None means calls of this
    model have an unknown cost, so no budget can be kept.
    """

    role: str
    budget: Budget | None
    limiter: CallLimiter
    on_tokens: TokenTick | None

    @property
    def price(self) -> Price | None: ...

    @property
    def model_name(self) -> str: ...

    def typical_call_cost(self, prompt_tokens: int = 3000) -> float: ...

    async def text(self, messages: Any, *, episode: int | None = None, prompt: str | None = None) -> str: ...

    def stream(self, messages: Any, *, episode: int | None = None,
               prompt: str | None = None) -> AsyncIterator[str]: ...


M = TypeVar("M", bound=RoleModel, covariant=True)  # a Crew[ModelClient] is a Mapping[str, RoleModel]


class Crew(Mapping[str, M], Generic[M]):
    """The models of a run by role (a read-only mapping); as a context manager, stops what it started."""

    def __init__(self, models: Mapping[str, M], *, endpoints: Mapping[str, EndpointConfig] | None = None,
                 usage: UsageLog | None = None, limiter: CallLimiter | None = None,
                 closing: contextlib.ExitStack | None = None,
                 make: Callable[[str, UsageLog], M] | None = None) -> None:
        self._models = dict(models)
        self._make = make  # a new client for a role logging elsewhere: what for_season copies with
        self.endpoints: dict[str, EndpointConfig] = dict(endpoints or {})  # as resolved: servers started, models asked
        self.usage = usage
        # What was attached last (open_crew attaches one limiter to all its clients); a run without a
        # budget of its own keeps the crew's (an eval's, shared by its seasons and its judge).
        self.limiter = limiter or CallLimiter()
        self.budget: Budget | None = None
        self._closing = closing or contextlib.ExitStack()

    @classmethod
    def of(cls, models: Mapping[str, M]) -> Crew[M]:
        """`models` as a crew: a crew as it is; a mapping of models made elsewhere (scripted ones, clients a
        test built) wrapped in a new crew that starts and stops nothing."""
        return models if isinstance(models, Crew) else cls(models)

    def for_season(self, usage: UsageLog) -> Crew[M]:
        """This crew's models again, logging to `usage` (a season's usage.jsonl), for a season drafted beside
        others in the process: same endpoints and servers (closing the copy stops nothing), same endpoint
        limiters (calls in flight, rates, Retry-After pauses); its own budget and cap once a run attaches
        them. Only a crew from `open_crew` can be copied (ConfigError otherwise)."""
        if self._make is None:
            raise ConfigError("only a crew opened with open_crew makes per-season copies of its models")
        make = self._make
        models = {role: make(role, usage) for role in self._models}
        for model in models.values():
            model.limiter = self.limiter
        return Crew(models, endpoints=self.endpoints, usage=usage, limiter=self.limiter, make=make)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self._models)

    def __getitem__(self, role: str) -> M:
        return self._models[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def attach(self, *, budget: Budget | None, limiter: CallLimiter, on_tokens: TokenTick | None,
               typical_prompt_tokens: int | None = None) -> None:
        """Give every model the run's budget, concurrency cap and token ticker.

        ConfigError when a budget is set and a model has no price (its spend could not be counted);
        BudgetExhausted when not even one typical call of the dearest role fits the budget (a prompt of
        `typical_prompt_tokens`, or the models' default). Nothing is attached when either is raised.
        """
        if budget is not None:
            for model in self._models.values():
                if model.price is None:
                    name = model.model_name
                    raise ConfigError(f"--budget-usd needs prices: model {name} has none; add "
                                      f'[prices."{name}"] to cliffhanger.toml or the --config file')
            sizes = {} if typical_prompt_tokens is None else {"prompt_tokens": typical_prompt_tokens}
            budget.check(max((m.typical_call_cost(**sizes) for m in self._models.values()), default=0.0))
        for model in self._models.values():
            model.budget = budget
            model.limiter = limiter
            model.on_tokens = on_tokens
        self.budget, self.limiter = budget, limiter

    def flush_usage(self) -> None:
        """Wait until every usage line of the crew's models is in its file (lines are written beside the loop)."""
        logs = {id(log): log for log in [self.usage, *(getattr(m, "usage", None) for m in self._models.values())]
                if isinstance(log, UsageLog)}
        for log in logs.values():
            log.flush()

    def close(self) -> None:
        try:
            self.flush_usage()
        finally:
            self._closing.close()

    def __enter__(self) -> Crew[M]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_crew(
    endpoints: Mapping[str, EndpointConfig],
    *,
    usage: UsageLog | None = None,
    policy: CallPolicy | None = None,
    prices: Mapping[str, Price] | None = None,
    cache_dir: Path | None = None,
    announce: Callable[[str], None] | None = None,
    sim_seed: int = 0,
    limits: EndpointLimits | None = None,
) -> Crew[ModelClient]:
    """A `ModelClient` per role of `endpoints`, logging to `usage` (in memory when None), with one limiter
    over `limits` (the endpoint limiters every crew of the process shares when None).

    Starts the servers that `local` and `sim` endpoints without a base URL need and asks servers for
    their model where none is set (ConfigError when that cannot be done; whatever was started is then
    stopped). Use the crew as a context manager: closing it stops the servers.
    """
    say = announce or (lambda _msg: None)
    with contextlib.ExitStack() as stack:
        started: dict[str, str] = {}
        resolved: dict[str, EndpointConfig] = {}
        for role, ep in endpoints.items():
            if not ep.base_url and ep.provider in ("local", "sim"):
                if ep.provider not in started:
                    started[ep.provider] = _start(ep.provider, stack, cache_dir, say, sim_seed)
                ep = dataclasses.replace(ep, base_url=started[ep.provider])
            resolved[role] = ep
        resolved = resolve_models(resolved, say)  # model "" -> the server's only one
        closing = stack.pop_all()  # from here the crew stops the servers
    log = usage or UsageLog()
    # One limiter: a one-slot server gets one call at a time from all roles, and from every crew of the process.
    limiter = CallLimiter(shared=limits if limits is not None else process_limits())
    price_table = dict(prices) if prices is not None else None

    def make(role: str, usage_log: UsageLog) -> ModelClient:
        return ModelClient(role, resolved[role], usage_log, policy, price_table)

    clients = {role: make(role, log) for role in resolved}
    for client in clients.values():
        client.limiter = limiter
    return Crew(clients, endpoints=resolved, usage=log, limiter=limiter, closing=closing, make=make)


def _start(provider: str, stack: contextlib.ExitStack, cache_dir: Path | None, announce: Callable[[str], None],
           sim_seed: int) -> str:
    """Start the server `provider` needs on a free loopback port; its base URL."""
    if provider == "local":
        announce(ANNOUNCEMENT)
        server = LocalServer(cache_dir or default_cache_dir())
        stack.callback(server.stop)
        return server.start()
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.runner import run_in_thread

    return stack.enter_context(run_in_thread(SimConfig(seed=sim_seed, faults=FaultPlan())))


def default_cache_dir() -> Path:
    """Where the bundled model is assembled when settings name no cache folder."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cliffhanger"))
