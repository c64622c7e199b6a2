"""`cliffhanger doctor`: probe an OpenAI-compatible endpoint and say what works.

Each probe records ok / failed / skipped, a detail and its latency. The verdict is good when at least
one structured-output method works; the recommendation names the method and profile to use.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from cliffhanger.agents.errors import ConfigError, ModelError, one_line
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig, redact
from cliffhanger.agents.llm.model_discovery import (
    ModelListUnreadable,
    announcement,
    model_ids,
    only_model,
    shown_ids,
    unreadable_message,
)
from cliffhanger.agents.llm.profiles import PROFILES, STRUCTURED_METHODS, StructuredMethod
from cliffhanger.agents.llm.usage import UsageLog

Status = Literal["ok", "failed", "skipped", "warning"]


class ProbeCharacter(BaseModel):
    """A character for a micro-drama."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the character's name", min_length=1, max_length=40)
    age: int = Field(description="age in years", ge=1, le=120)
    mood: Literal["furious", "heartbroken", "scheming", "hopeful"] = Field(description="mood in this scene")


@dataclass
class Probe:
    name: str
    status: Status
    detail: str = ""
    latency_ms: float | None = None


@dataclass
class DoctorReport:
    provider: str
    base_url: str
    model: str
    probes: list[Probe] = field(default_factory=list)
    working_methods: list[StructuredMethod] = field(default_factory=list)
    recommendation: str = ""
    verdict: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.working_methods)

    def as_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "ok": self.ok}


_PROMPT = [("system", "You are a showrunner's assistant."),
           ("user", "Invent one character for a revenge micro-drama: name, age and mood.")]


async def run_doctor(endpoint: EndpointConfig, *, timeout_s: float = 30.0) -> DoctorReport:
    """Probe `endpoint`; never raises for endpoint failures (they become failed probes)."""
    ep = dataclasses.replace(endpoint, timeout_s=min(endpoint.timeout_s, timeout_s), max_tokens=256)
    report = DoctorReport(ep.provider, ep.base_url, ep.model)
    probed = await _probe_http(ep, report)
    if probed is None:
        return _finish(report)
    ep = probed
    usage = UsageLog()
    plain = ModelClient("doctor", ep, usage, CallPolicy(max_attempts=1, max_retries=1))
    await _timed(report, "plain completion", lambda: plain.text([("user", "Say hello in one short sentence.")]),
                 lambda text: f"{len(text)} characters")
    report.probes.append(_usage_probe("usage reported", usage))

    async def _stream() -> int:
        n = 0
        async for _ in plain.stream([("user", "Count from one to five in words.")]):
            n += 1
        return n

    await _timed(report, "streaming", _stream, lambda n: f"{n} chunks")
    report.probes.append(_usage_probe("usage in streaming", usage))

    for method in STRUCTURED_METHODS:
        client = ModelClient("doctor", dataclasses.replace(ep, structured_method=method), usage,
                             CallPolicy(max_attempts=2, max_retries=1))
        client.allow_fallback = False
        probe = await _timed(report, f"structured: {method}",
                             lambda c=client: c.structured(ProbeCharacter, _PROMPT),
                             lambda v: f"valid ({v.name}, {v.age})")
        if probe.status == "ok":
            report.working_methods.append(method)
    return _finish(report)


async def _probe_http(ep: EndpointConfig, report: DoctorReport) -> EndpointConfig | None:
    """Reachable, key accepted, models listed: the endpoint to probe further (its model filled in when it
    had none and the server serves one), or None when there is no point going on."""
    headers = {"Authorization": f"Bearer {ep.api_key.get_secret_value()}"} if ep.api_key else {}
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=ep.timeout_s) as http:
            resp = await http.get(ep.base_url.rstrip("/") + "/models", headers=headers)
    except httpx.HTTPError as exc:
        report.probes.append(Probe("reachable", "failed", f"cannot reach {ep.base_url} ({exc.__class__.__name__})"))
        report.verdict = f"cannot reach {ep.base_url}: is the server running? check --base-url"
        return None
    ms = (time.monotonic() - started) * 1000
    kind = resp.headers.get("content-type", "")
    if "html" in kind:
        report.probes.append(Probe("reachable", "failed", "answers an HTML page, not the OpenAI API", ms))
        report.verdict = f"{ep.base_url} answers HTML, not the OpenAI API: check --base-url (it usually ends in /v1)"
        return None
    report.probes.append(Probe("reachable", "ok", f"HTTP {resp.status_code}", ms))
    if resp.status_code in (401, 403):
        report.probes.append(Probe("auth", "failed", f"key refused (HTTP {resp.status_code})"))
        report.verdict = (f"{ep.base_url} refused the API key: set a valid key in OPENAI_API_KEY or "
                          "CLIFFHANGER_API_KEY")
        return None
    report.probes.append(Probe("auth", "ok", "key accepted" if ep.api_key else "no key needed"))
    if not ep.model:
        return _only_model(ep, resp, report)
    try:
        ids = model_ids(resp.json())
    except (ValueError, RecursionError, ModelListUnreadable):
        report.probes.append(Probe("models listed", "warning", "no model list at /models"))
        return ep
    listed = ep.model in ids
    detail = f"{len(ids)} models" + ("" if listed else f"; {ep.model} not among them ({shown_ids(ids[:5])})")
    report.probes.append(Probe("models listed", "ok" if listed or not ids else "warning", detail))
    return ep


def _only_model(ep: EndpointConfig, resp: httpx.Response, report: DoctorReport) -> EndpointConfig | None:
    """No model configured: the server's only model, as `resolve_models` picks it; else a failed probe."""
    try:
        if resp.status_code != 200:
            raise ModelListUnreadable(f"HTTP {resp.status_code}")
        try:
            payload = resp.json()
        except (ValueError, RecursionError):
            raise ModelListUnreadable("its answer is not JSON") from None
        ids = model_ids(payload)
        model = only_model(ids, ep.base_url, ep.api_key)
    except ModelListUnreadable as exc:
        message = unreadable_message(ep.base_url, str(exc), ep.api_key)
    except ConfigError as exc:
        message = str(exc)
    else:
        report.model = model
        report.probes.append(Probe("models listed", "ok", announcement(model, ep.base_url, ep.api_key)))
        return dataclasses.replace(ep, model=model)
    report.probes.append(Probe("models listed", "failed", one_line(message, 400)))
    report.verdict = message
    return None


async def _timed(report: DoctorReport, name: str, run, describe) -> Probe:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    try:
        value = await run()
    except ModelError as exc:
        probe = Probe(name, "failed", one_line(str(exc), 160))
    else:
        probe = Probe(name, "ok", describe(value))
    probe.latency_ms = round((time.monotonic() - started) * 1000, 1)
    report.probes.append(probe)
    return probe


def _usage_probe(name: str, usage: UsageLog) -> Probe:
    last = usage.records[-1] if usage.records else None
    if last is None or last.outcome != "ok":
        return Probe(name, "skipped", "no successful call to read usage from")
    if last.estimated:
        return Probe(name, "warning", "not reported: tokens will be estimated with tiktoken")
    return Probe(name, "ok", f"{last.tokens_in} in / {last.tokens_out} out")


def _finish(report: DoctorReport) -> DoctorReport:
    if report.working_methods:
        profile = PROFILES.get(report.provider)
        best = (profile.structured_method if profile and profile.structured_method in report.working_methods
                else report.working_methods[0])
        same = profile is not None and profile.structured_method == best
        report.recommendation = (
            f"profile {report.provider} works as configured (structured output via {best})" if same
            else f'set structured_method = "{best}" in cliffhanger.toml (or --structured-method {best})'
        )
        report.verdict = f"usable: structured output works via {', '.join(report.working_methods)}"
    elif not report.verdict:
        report.verdict = (f"{report.model} at {report.base_url} returned no valid JSON by any method: "
                          "use a larger or instruction-tuned model, or another provider")
    report.verdict = redact(report.verdict, None)
    return report
