"""A model name from the server when none is configured: one-model servers need none.

Settings leave `EndpointConfig.model` empty ("ask the server") when a base URL is known but no model is
configured and the profile has no default. When the crew opens, `resolve_models` asks each such server
once for `GET {base_url}/models`: a server that lists exactly one model (vLLM, llama-server and
llama-cpp-python usually do) gets that model, said once; any other answer is a `ConfigError` with the fix.
Model ids come from the server and are untrusted: only printable names of up to 200 characters are used,
and what is shown of the others has its control characters removed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from cliffhanger.agents.errors import ConfigError
from cliffhanger.agents.llm.endpoint import EndpointConfig, redact

FIX = "pass --model NAME or set model in cliffhanger.toml"
MAX_ID_CHARS = 200
MAX_BODY_BYTES = 2_000_000
SHOWN_IDS = 10
_SHOWN_ID_CHARS = 40
_SHOWN_LIST_CHARS = 240


class ModelListUnreadable(Exception):
    """The model list could not be read; the message says why, briefly, and never holds the key."""


def resolve_models(endpoints: Mapping[str, EndpointConfig], announce: Callable[[str], None],
                   timeout_s: float = 10.0) -> dict[str, EndpointConfig]:
    """`endpoints` with every empty model filled in from its server's only model.

    One request per (base URL, key), none for endpoints that have a model; one announcement per base URL.
    ConfigError (one line, with the fix) when a server lists several models, none, or cannot be read.
    """
    resolved = dict(endpoints)
    chosen: dict[tuple[str, SecretStr | None], str] = {}
    announced: set[str] = set()
    for role, ep in endpoints.items():
        if ep.model:
            continue
        url = ep.base_url.rstrip("/")
        if not url:
            raise ConfigError(f"no model name for role {role} on provider {ep.provider} and no base URL to ask: {FIX}")
        key = (url, ep.api_key)
        if key not in chosen:
            try:
                ids = fetch_model_ids(url, ep.api_key, timeout_s)
            except ModelListUnreadable as exc:
                raise ConfigError(unreadable_message(url, str(exc), ep.api_key)) from None
            chosen[key] = only_model(ids, url, ep.api_key)
        if url not in announced:
            announced.add(url)
            announce(announcement(chosen[key], url, ep.api_key))
        resolved[role] = dataclasses.replace(ep, model=chosen[key])
    return resolved


def announcement(model: str, base_url: str, api_key: SecretStr | None = None) -> str:
    return redact(f"no model set: using {model}, the only model {base_url.rstrip('/')} serves", api_key)


def unreadable_message(base_url: str, why: str, api_key: SecretStr | None = None) -> str:
    return redact(f"no model name is configured and the model list of {base_url.rstrip('/')} could not be read "
                  f"({why}): {FIX}", api_key)


def only_model(ids: list[str], base_url: str, api_key: SecretStr | None = None) -> str:
    """The one model of `ids`; ConfigError when there are none, several, or the one is not a usable name."""
    url = base_url.rstrip("/")
    if not ids:
        raise ConfigError(unreadable_message(url, "it lists no models", api_key))
    if len(ids) > 1:
        raise ConfigError(redact(f"no model name is configured and {url} serves {len(ids)} models "
                                 f"({shown_ids(ids)}): {FIX}", api_key))
    if not usable_id(ids[0]):
        raise ConfigError(unreadable_message(
            url, f"its one model id is not a printable name of up to {MAX_ID_CHARS} characters", api_key))
    return ids[0]


def usable_id(model: str) -> bool:
    return 0 < len(model) <= MAX_ID_CHARS and model.isprintable() and model.strip() == model


def shown_ids(ids: list[str]) -> str:
    """Up to ten ids for a one-line message, control characters removed, long ones cut; `and N more`."""
    parts: list[str] = []
    for raw in ids[:SHOWN_IDS]:
        clean = "".join(c for c in raw if c.isprintable()).strip() or "(unprintable id)"
        part = clean if len(clean) <= _SHOWN_ID_CHARS else clean[: _SHOWN_ID_CHARS - 1] + "…"
        if parts and sum(len(p) + 2 for p in parts) + len(part) > _SHOWN_LIST_CHARS:
            break
        parts.append(part)
    rest = len(ids) - len(parts)
    return ", ".join(parts) + (f" and {rest} more" if rest else "")


def model_ids(payload: Any) -> list[str]:
    """The ids of an OpenAI `/models` answer, in order, without repeats; ModelListUnreadable when it is not one."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ModelListUnreadable("its answer has no model list")
    ids: dict[str, None] = {}
    for entry in data:
        model = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(model, str):
            ids.setdefault(model)
    return list(ids)


def fetch_model_ids(base_url: str, api_key: SecretStr | None, timeout_s: float = 10.0) -> list[str]:
    """`GET {base_url}/models` once; ModelListUnreadable with a short reason when that fails."""
    url = base_url.rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise ModelListUnreadable("the base URL does not start with http:// or https://")
    headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
    try:
        with httpx.Client(timeout=timeout_s) as http, http.stream("GET", url + "/models", headers=headers) as resp:
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise ModelListUnreadable(f"its answer is larger than {MAX_BODY_BYTES // 1_000_000} MB")
            status, kind = resp.status_code, resp.headers.get("content-type", "")
    except httpx.TimeoutException:
        raise ModelListUnreadable(f"no answer within {timeout_s:g} s") from None
    except httpx.ConnectError:
        raise ModelListUnreadable("cannot connect: is the server running?") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ModelListUnreadable(exc.__class__.__name__) from None
    if "html" in kind.lower():
        raise ModelListUnreadable("it answers an HTML page, not the OpenAI API; the base URL usually ends in /v1")
    if status in (401, 403):
        raise ModelListUnreadable(f"HTTP {status}: the API key was refused")
    if status != 200:
        raise ModelListUnreadable(f"HTTP {status}")
    try:
        payload = json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise ModelListUnreadable("its answer is not JSON") from None
    return model_ids(payload)
