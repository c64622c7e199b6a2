"""Errors a user can cause or fix, and how they read on one line.

`UserError` and its subclasses carry a message that says what was wrong and how to fix it; the CLI
prints it on one line and exits 2. Anything else is a bug: its traceback goes to the log file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class StopRequested(Exception):  # noqa: N818 - a signal, not an error
    """Ctrl-C or SIGTERM: the run stops at this step boundary and resumes from the last checkpoint."""


class UserError(Exception):
    """Bad input from the user: shown as one line, exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """Settings, config files or flags that cannot be used."""


class ModelError(UserError):
    """The model endpoint failed in a way the user must fix (unreachable, auth, wrong model, bad output)."""


class ModelOutputError(ModelError):
    """The model never produced a valid answer within the allowed attempts."""


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")  # what str.split() does not already remove


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a message fits on one terminal line; escape codes an endpoint sent are dropped."""
    flat = " ".join(_CONTROL.sub("", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_validation_error(exc: ValidationError, what: str = "input") -> str:
    """A pydantic ValidationError as one line: `what: field: message; field: message`."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = err.get("msg", "invalid")
        # pydantic prefixes messages from our own validators with "Value error, ".
        msg = msg.removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return one_line(f"{what}: " + "; ".join(parts))
