"""What a client sends to start or resume a season on the server: a small JSON object, LangGraph's run
`context` (never `configurable`: the server refuses both at once).

The season folder is given as an absolute path: the server resolves nothing against its own folder. Every
other field is a `RunSettings` field the command line also has; the server fills in the rest itself (the
models from its own settings, the embedding).

An eval drafts configs that name their own models: `models` then carries each room role's endpoint without
its key (provider, base URL, model, sampling) and `prices` the config's price overrides. The server holds
the keys: it sends a role's calls with its own key only to the provider and base URL its own settings name
for that key, never to a URL a client chose (`with_server_keys`)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.profiles import PROFILES, Price
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.state import RunSettings

# What of an endpoint travels to the server: never its key.
ENDPOINT_FIELDS = ("provider", "base_url", "model", "temperature", "timeout_s", "max_tokens", "structured_method",
                   "seed", "slots")

GRAPH_ID = "season"  # the graph's name in langgraph.json
# Thread ids must be UUIDs: a season's thread is uuid5 of its id in this namespace, so every client (and the
# command line's own Postgres checkpoints) finds the same thread for the same season.
THREAD_NAMESPACE = uuid.UUID("3b1d7c1e-5a0e-4f2b-9a57-6b0c1f1e2d3a")


def thread_id(season_id: str) -> str:
    return str(uuid.uuid5(THREAD_NAMESPACE, f"cliffhanger-season:{season_id}"))


@dataclass(frozen=True)
class SeasonRequest:
    season: str = ""               # absolute path of the season folder, as the server sees it
    until: int | None = None
    concurrency: int = 4
    max_revisions: int = 2
    review: str | None = None      # "arc": pause after the arc for a person's review
    target: str = "generic"
    budget_usd: float | None = None
    move_checkpoints: bool = False  # the season's checkpoints may move to the server's
    critic: bool = True
    canon_memory: bool = True
    models: dict[str, dict[str, Any]] | None = None  # role -> endpoint without its key; None: the server's own
    prices: dict[str, list[float | None]] | None = None  # model -> [input, output, cached input] per million

    @classmethod
    def of(cls, folder: Path, settings: RunSettings, endpoints: dict[str, EndpointConfig] | None = None,
           prices: dict[str, Price] | None = None) -> SeasonRequest:
        models = None if endpoints is None else {
            role: {f: getattr(ep, f) for f in ENDPOINT_FIELDS} for role, ep in endpoints.items()}
        return cls(season=str(folder.resolve()), until=settings.until, concurrency=settings.concurrency,
                   max_revisions=settings.max_revisions, review="arc" if settings.review_arc else None,
                   target=settings.target, budget_usd=settings.budget_usd,
                   move_checkpoints=settings.move_checkpoints, critic=settings.critic,
                   canon_memory=settings.canon_memory, models=models,
                   prices=None if prices is None else {m: [p.input_per_m, p.output_per_m, p.cached_input_per_m]
                                                       for m, p in prices.items()})

    def wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: Any) -> SeasonRequest:
        """The request a run was started with; UserError (one line) for one no season can run with."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise UserError("the run's context must be a JSON object with the season folder: use `cliffhanger submit`")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown field(s) in the run's context: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        request = cls(**data)
        if not request.season or not Path(request.season).is_absolute():
            raise UserError(f"the run's context names no season folder by absolute path ({request.season!r}): "
                            "use `cliffhanger submit DIR`")
        if request.review not in (None, "arc"):
            raise UserError(f"review {request.review!r} is not supported: use review 'arc' or none")
        request.endpoints()  # models and prices are checked before anything opens
        request.price_overrides()
        return request

    def endpoints(self) -> dict[str, EndpointConfig] | None:
        """The room's endpoints the request names (keys not filled in), or None for the server's own models."""
        if self.models is None:
            return None
        if not isinstance(self.models, dict) or set(self.models) != set(ROOM_ROLES):
            raise UserError(f"the run's models must name every room role ({', '.join(ROOM_ROLES)}) and no other")
        out = {}
        for role, fields in self.models.items():
            if not isinstance(fields, dict) or not set(fields) <= set(ENDPOINT_FIELDS):
                extra = sorted(set(fields) - set(ENDPOINT_FIELDS)) if isinstance(fields, dict) else fields
                raise UserError(f"the run's model for {role} has unknown fields {extra} "
                                f"(known: {', '.join(ENDPOINT_FIELDS)}; keys are the server's, never sent)")
            if fields.get("provider") not in PROFILES:
                raise UserError(f"the run's model for {role}: provider {fields.get('provider')!r} is not one of "
                                f"{', '.join(PROFILES)}")
            try:
                out[role] = EndpointConfig(**{"base_url": "", "model": "", **fields})
            except TypeError as exc:
                raise UserError(f"the run's model for {role}: {exc}") from None
        return out

    def price_overrides(self) -> dict[str, Price]:
        try:
            return {m: Price(float(p[0]), float(p[1]), None if p[2] is None else float(p[2]))
                    for m, p in (self.prices or {}).items()}
        except (TypeError, ValueError, IndexError):
            raise UserError("the run's prices must map a model to [input, output, cached input] per million "
                            "tokens") from None

    def settings(self, **more: Any) -> RunSettings:
        return RunSettings(until=self.until, concurrency=self.concurrency, max_revisions=self.max_revisions,
                           review_arc=self.review == "arc", target=self.target, budget_usd=self.budget_usd,
                           critic=self.critic, canon_memory=self.canon_memory, **more)


def with_server_keys(wanted: dict[str, EndpointConfig], own: dict[str, EndpointConfig]) -> dict[str, EndpointConfig]:
    """The requested endpoints with the server's keys filled in: a role gets the key of the server's own
    endpoint on the same provider and base URL, and no key otherwise (a keyless local server or sim). A role on
    a provider that needs a key the server does not hold for that URL: UserError naming it."""
    import dataclasses

    def same(a: EndpointConfig, b: EndpointConfig) -> bool:
        return a.provider == b.provider and a.base_url.rstrip("/") == b.base_url.rstrip("/")

    out = {}
    for role, ep in wanted.items():
        key = next((o.api_key for o in own.values() if same(o, ep) and o.api_key is not None), None)
        if key is None and ep.profile.needs_key:
            raise UserError(f"the {role} model is on {ep.provider} at {ep.base_url or 'its default URL'}, for which "
                            "this server holds no key: configure that provider and URL in the server's settings")
        out[role] = dataclasses.replace(ep, api_key=key)
    return out
