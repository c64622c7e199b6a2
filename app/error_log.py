"""The log file (the user's log dir, cliffhanger.log): library warnings that would otherwise scroll over the
progress display, and the traceback of an internal error, whose one-line summary is all the screen shows.
Nothing is set up at import time: `log_to_file` runs at the CLI's entry."""

from __future__ import annotations

from pathlib import Path


def log_file() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir("cliffhanger")) / "cliffhanger.log"


def log_to_file() -> None:
    """Library warnings (a dropped shot line, a retried call) go to the log file, not over the progress display."""
    import logging

    root = logging.getLogger()
    if any(getattr(h, "_cliffhanger", False) for h in root.handlers):
        return
    try:
        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        handler = logging.NullHandler()
    handler._cliffhanger = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def log_traceback() -> Path:
    import traceback

    from cliffhanger.agents.llm.endpoint import redact  # deferred: pydantic is not loaded for --help

    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(redact(traceback.format_exc(), None) + "\n")
    return path
