"""Provider capability profiles and the price table.

This module and `llm.py` are the only places that know provider names. A profile says how to get
structured output from an endpoint, whether it reports usage while streaming, and its quirks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
STRUCTURED_METHODS: tuple[StructuredMethod, ...] = ("json_schema", "function_calling", "json_mode")


@dataclass(frozen=True)
class Profile:
    """What an OpenAI-compatible provider supports and how we talk to it."""

    name: str
    structured_method: StructuredMethod
    # OpenAI's strict json_schema rejects optional fields and some keywords; only OpenAI enforces it.
    strict: bool
    stream_usage: bool
    needs_key: bool
    default_base_url: str | None
    default_model: str | None
    # Reasoning models wrap answers in <think>...</think>; we strip them for every provider anyway.
    may_think: bool = False
    extra_body: dict[str, object] = field(default_factory=dict)
    note: str = ""
    # langchain-openai sends `max_completion_tokens`; most compatible servers only read `max_tokens`
    # (llama-cpp-python ignores the new name and generates to the end of its context).
    legacy_max_tokens: bool = True
    # An output cap when none is configured; small local models otherwise ramble to n_ctx.
    default_max_tokens: int | None = None
    # Grammar-based servers get schemas without length bounds (see strict_schema.grammar_json_schema).
    grammar_schema: bool = False
    # Caps a grammar schema puts on strings and lists (None: a list's minimum items; see grammar_json_schema).
    grammar_max_length: int = 100
    grammar_max_items: int | None = 4
    # Requests the server works on at once (0: unknown, the run's --concurrency alone caps us). A
    # one-slot server queues the rest, and a request queued behind one we gave up on times out too.
    slots: int = 0
    # Stream structured answers and close the stream once the JSON value is complete. Under a grammar
    # llama-cpp-python may go on sampling whitespace after the object up to max_tokens (2,047 tokens
    # generated for 282 returned, at ~40 ms a token); closing the connection stops the generation, and
    # streaming turns the request timeout into a limit between tokens, so a slow machine is slow, not failed.
    stream_structured: bool = False


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("openai", "json_schema", True, True, True, "https://api.openai.com/v1", "gpt-4o-mini",
                legacy_max_tokens=False),
        Profile(
            "deepseek", "function_calling", False, True, True, "https://api.deepseek.com/v1", "deepseek-chat",
            may_think=True, note="rejects response_format json_schema; forced tool calls work",
        ),
        Profile(
            "qwen", "json_mode", False, True, True,
            "https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-plus",
            may_think=True, extra_body={"enable_thinking": False},
            note="DashScope compatible mode: thinking must be off for JSON output",
        ),
        Profile("ollama", "json_schema", False, True, False, "http://127.0.0.1:11434/v1", None, may_think=True),
        Profile("vllm", "json_schema", False, True, False, "http://127.0.0.1:8000/v1", None, may_think=True),
        Profile(
            "llama-server", "json_schema", False, True, False, "http://127.0.0.1:8080/v1", None,
            may_think=True, note="llama.cpp's own server: json_schema is turned into a grammar",
        ),
        Profile(
            "llama-cpp-python", "function_calling", False, False, False, "http://127.0.0.1:8000/v1", None,
            note="accepts only json_object or forced tool calls, not json_schema", grammar_schema=True,
            slots=1, stream_structured=True,
        ),
        Profile(
            "local", "function_calling", False, False, False, None, "gemma-3-270m",
            note="bundled Gemma 3 270M on llama-cpp-python's server: proves the pipeline, not the drama",
            default_max_tokens=2048, grammar_schema=True, slots=1, stream_structured=True,
            # The smallest answers that validate: every token costs ~40 ms on two cores, and the base
            # model's longer strings are no better than its short ones.
            grammar_max_length=24, grammar_max_items=None,
        ),
        Profile("sim", "json_schema", False, True, False, None, "sim-drama", note="cliffhanger sim"),
        Profile("openai-compatible", "json_schema", False, True, False, None, None, may_think=True),
    )
}


def provider_for(base_url: str | None, has_key: bool) -> str | None:
    """Guess the provider from a base URL; None when nothing is configured."""
    if base_url is None:
        return "openai" if has_key else None
    url = base_url.lower()
    for needle, name in (
        ("api.openai.com", "openai"),
        ("deepseek", "deepseek"),
        ("dashscope", "qwen"),
        (":11434", "ollama"),
    ):
        if needle in url:
            return name
    return "openai-compatible"


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens. `cached_input_per_m` prices prompt tokens the provider served
    from its prompt cache; None: the provider has no cache discount, cached tokens cost full input."""

    input_per_m: float
    output_per_m: float
    cached_input_per_m: float | None = None

    def cost(self, tokens_in: int, tokens_out: int, cached_in: int = 0) -> float:
        """`cached_in` is the part of `tokens_in` read from the cache (clamped to it)."""
        cached = max(0, min(cached_in, tokens_in)) if self.cached_input_per_m is not None else 0
        return ((tokens_in - cached) * self.input_per_m + cached * (self.cached_input_per_m or 0.0)
                + tokens_out * self.output_per_m) / 1_000_000


# List prices as of 2025-12 (USD per 1M tokens: input on a cache miss, output, input on a cache hit).
# DeepSeek's context caching (V3.2 list: $0.028 a cache hit) and OpenAI's cached input (a 50-90%
# discount on a repeated prefix of 1,024 tokens or more) are automatic; Qwen's is not listed here.
# Longest prefix wins; users add or override entries with `[prices."model-name"]` in cliffhanger.toml.
PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "deepseek-chat": Price(0.28, 0.42, 0.028),
    "deepseek-reasoner": Price(0.28, 0.42, 0.028),
    "qwen-plus": Price(0.40, 1.20),
    "qwen-max": Price(1.60, 6.40),
    "qwen-turbo": Price(0.05, 0.20),
    "sim-drama": Price(0.0, 0.0),
    "gemma-3-270m": Price(0.0, 0.0),
}

FREE_PROVIDERS = frozenset({"local", "sim", "ollama", "vllm", "llama-server", "llama-cpp-python"})


def price_for(model: str, provider: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of `model`, or None when unknown (cost is then reported as unknown, not zero)."""
    table = {**PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    matches = [k for k in table if model.startswith(k)]
    if matches:
        return table[max(matches, key=len)]
    if provider in FREE_PROVIDERS:
        return Price(0.0, 0.0)
    return None
