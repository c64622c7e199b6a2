"""What a sim server is told to do: address, seed, latency, faults, quirks, auth, log file.

`parse_faults` and `parse_quirks` turn the `--faults` / `--quirks` flags into values; a bad flag
raises ValueError with one line that says what was wrong and the accepted form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

FAULT_KINDS: tuple[str, ...] = ("429", "500", "timeout", "malformed", "truncate", "think", "hostile", "inject", "huge",
                                 "nested")

QUIRKS: dict[str, str] = {
    "no-json-schema": "400 for response_format json_schema (like DeepSeek)",
    "no-tools": "400 for any request with tools",
    "json-object-only": "400 for json_schema; json_object and forced tools work (like llama-cpp-python)",
    "no-usage": "never report usage",
    "no-stream-usage": "no usage chunk when streaming",
    "think": "every answer's content starts with <think>...</think>",
    "html": "every /v1 request gets a 200 HTML page (captive portal, wrong base URL)",
    "run-on": "structured answers go on with whitespace after the JSON up to max_tokens, finish_reason length "
              "(like llama-cpp-python under a grammar)",
}

_FAULT_FORM = "use KIND:PROBABILITY with KIND one of " + ", ".join(FAULT_KINDS)
_QUIRK_FORM = "use a comma list of " + ", ".join(QUIRKS)


@dataclass(frozen=True)
class FaultPlan:
    """Probability of each fault kind per request; at most one fault hits a request."""

    probabilities: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for kind, p in self.probabilities:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}: {_FAULT_FORM}")
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault {kind} probability {p} is outside [0, 1]")
        if sum(p for _, p in self.probabilities) > 1.0 + 1e-9:
            raise ValueError(self._too_much())

    def _too_much(self) -> str:
        total = sum(p for _, p in self.probabilities)
        return f"fault probabilities add up to {total:g}; at most one fault hits a request, so keep the sum <= 1"

    def draw(self, u: float) -> str | None:
        """The fault for a request, given one uniform draw `u` in [0, 1)."""
        edge = 0.0
        for kind, p in self.probabilities:
            edge += p
            if p > 0 and u < edge:
                return kind
        return None

    def __bool__(self) -> bool:
        return any(p > 0 for _, p in self.probabilities)


@dataclass(frozen=True)
class SimConfig:
    """How one sim server behaves. Port 0 picks a free port; 0 for tps/ttft/concurrency means off."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    tps: float = 0.0
    ttft_ms: int = 0
    max_concurrency: int = 0
    faults: FaultPlan = field(default_factory=FaultPlan)
    quirks: frozenset[str] = frozenset()
    log_path: Path | None = None
    # With a log file: each line also carries the request's messages and the schema or tool it asks
    # for, so a test can read what each role was given. Never headers, so never the API key.
    log_bodies: bool = False
    api_key: str | None = field(default=None, repr=False)
    hang_s: float = 120.0
    models: tuple[str, ...] = ("sim-drama",)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.quirks) - set(QUIRKS))
        if unknown:
            raise ValueError(f"unknown quirk {unknown[0]!r}: {_QUIRK_FORM}")
        if self.tps < 0 or self.ttft_ms < 0 or self.max_concurrency < 0 or self.hang_s < 0:
            raise ValueError("tps, ttft_ms, max_concurrency and hang_s must be >= 0")
        if self.log_bodies and self.log_path is None:
            raise ValueError("log_bodies needs log_path: request bodies go to the request log")


def parse_faults(spec: str) -> FaultPlan:
    """`429:0.1,500:0.05,timeout:0.02` -> FaultPlan. An empty spec means no faults."""
    pairs: dict[str, float] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        kind, sep, prob = item.partition(":")
        kind = kind.strip().lower()
        if not sep:
            raise ValueError(f"fault {item!r} in --faults has no probability: {_FAULT_FORM}, e.g. 500:0.05")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} in --faults: {_FAULT_FORM}")
        try:
            p = float(prob)
        except ValueError:
            raise ValueError(
                f"fault {kind} in --faults has probability {prob.strip()!r}, not a number: "
                f"{_FAULT_FORM} and PROBABILITY between 0 and 1"
            ) from None
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"fault {kind} in --faults has probability {p:g}: use a number between 0 and 1")
        if kind in pairs:
            raise ValueError(f"fault {kind} appears twice in --faults: give each KIND once")
        pairs[kind] = p
    total = sum(pairs.values())
    if total > 1.0 + 1e-9:
        raise ValueError(
            f"fault probabilities in --faults add up to {total:g}: at most one fault hits a request, "
            "so keep the sum at or below 1"
        )
    return FaultPlan(tuple(pairs.items()))


def parse_quirks(spec: str) -> frozenset[str]:
    """`no-json-schema,think` -> frozenset. An empty spec means no quirks."""
    names = [q.strip().lower() for q in spec.split(",") if q.strip()]
    for name in names:
        if name not in QUIRKS:
            raise ValueError(f"unknown quirk {name!r} in --quirks: {_QUIRK_FORM}")
    return frozenset(names)
