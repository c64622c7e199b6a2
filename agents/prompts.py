"""Prompt files: `agents/prompts/<role>.<task>.md`, rendered strictly.

Variables are `$name` (string.Template), so JSON braces in prompts need no escaping. A missing
variable raises; every rendering carries the prompt's name and a hash of its template, which
artifacts and the usage log record so a result can be traced to the prompt that made it.
"""

from __future__ import annotations

import functools
import hashlib
import string
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    template_hash: str

    @property
    def ref(self) -> str:
        """`name@hash`, as recorded in artifacts and usage.jsonl."""
        return f"{self.name}@{self.template_hash}"


class PromptError(KeyError):
    """A prompt file is missing or was rendered without one of its variables."""


@functools.cache
def _template(name: str) -> tuple[string.Template, str]:
    try:
        text = resources.files("cliffhanger.agents").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt file prompts/{name}.md") from None
    return string.Template(text), hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def render(name: str, **variables: object) -> Prompt:
    """Render prompts/<name>.md; raises PromptError when a `$variable` is not supplied."""
    template, digest = _template(name)
    try:
        text = template.substitute({k: str(v) for k, v in variables.items()})
    except KeyError as exc:
        raise PromptError(f"prompt {name} needs variable {exc.args[0]!r}") from None
    return Prompt(name, text.strip(), digest)
