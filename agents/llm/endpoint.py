"""Where one role's calls go and how hard they are retried; and keeping API keys out of messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import SecretStr

from cliffhanger.agents.llm.profiles import PROFILES, Profile, StructuredMethod

NO_KEY = "sk-no-key-needed"  # the openai client insists on a key; local servers ignore it
_KEYLIKE = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-]{6,}")


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how one role's calls go. Built from settings at the edge; nodes never read env."""

    provider: str
    base_url: str
    model: str
    api_key: SecretStr | None = field(default=None, repr=False)
    temperature: float = 0.8
    timeout_s: float = 120.0
    max_tokens: int | None = None
    structured_method: StructuredMethod | None = None  # None: the profile's
    seed: int | None = None
    slots: int | None = None  # requests the server works on at once; None: the profile's (0: unknown)

    @property
    def profile(self) -> Profile:
        return PROFILES[self.provider]

    @property
    def server_slots(self) -> int:
        return self.profile.slots if self.slots is None else self.slots

    @property
    def method(self) -> StructuredMethod:
        return self.structured_method or self.profile.structured_method


@dataclass(frozen=True)
class CallPolicy:
    """Bounds on retrying: parse/validation attempts and transport retries per attempt."""

    max_attempts: int = 3
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0


def redact(text: str, secret: SecretStr | None) -> str:
    """Remove the API key (and anything that looks like one) from a message."""
    if secret is not None and secret.get_secret_value():
        text = text.replace(secret.get_secret_value(), "***")
    return _KEYLIKE.sub(lambda m: m.group(1) + "-***", text)
