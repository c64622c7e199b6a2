"""`cliffhanger serve` and `cliffhanger submit`: the room on LangGraph Server (the `serve` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(submit)


def serve(
    port: Annotated[int, typer.Option(help="port on --host; 0 picks a free one")] = 8766,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    jobs: Annotated[int, typer.Option(help="seasons drafted at once by the server")] = 8,
    max_in_flight: Annotated[int, typer.Option("--max-in-flight", help="model calls in flight per endpoint, all "
                                               "seasons together (unless [limits] max_in_flight)")] = 16,
    checkpoint_url: Annotated[str | None, typer.Option("--checkpoint-url", help="PostgreSQL URL for the checkpoints "
                                                       "(default: the server's memory, gone when it stops)")] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="the server's own folder (default: a new "
                                                   "temporary one)")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="settings file for the models (default: the "
                                                "user's cliffhanger.toml)")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="as `cliffhanger draft --provider`")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible base URL, ending in /v1")] = None,
    model: Annotated[str | None, typer.Option("--model", help="model name for every role")] = None,
) -> None:
    """Serve the room on LangGraph Server (`langgraph dev` of the installed graph) until Ctrl-C.

    Prints the URL it bound; `cliffhanger submit DIR --server URL` drafts seasons there. The server reads and
    writes season folders itself, by absolute path.
    """
    from cliffhanger.agents.errors import UserError
    from cliffhanger.app.serve import CONFIG_ENV, IN_FLIGHT_ENV, ServeRequest, serve_forever
    from cliffhanger.app.settings import load_settings

    if max_in_flight < 1:
        raise UserError(f"--max-in-flight {max_in_flight}: must be at least 1")
    flags = {"provider": provider, "base_url": base_url, "model": model}
    load_settings(config, flags)  # bad settings: one line, exit 2, before a server starts
    env = {f"CLIFFHANGER_{k.upper()}": str(v) for k, v in flags.items() if v is not None}
    env[IN_FLIGHT_ENV] = str(max_in_flight)
    if config is not None:
        env[CONFIG_ENV] = str(config.resolve())
    raise typer.Exit(serve_forever(ServeRequest(port=port, host=host, jobs=jobs, checkpoint_url=checkpoint_url,
                                                state_dir=state_dir, env=env)))


def submit(
    directories: Annotated[list[Path], typer.Argument(help="season folders", metavar="DIR")],
    server: Annotated[str, typer.Option("--server", help="the URL `cliffhanger serve` printed")],
    follow: Annotated[bool, typer.Option("--follow", help="wait for the seasons and print how each ended")] = False,
    until: Annotated[int | None, typer.Option(help="stop after this episode (of each season)")] = None,
    concurrency: Annotated[int, typer.Option(help="model calls in flight at once, per season")] = 4,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", help="stop before a call would pass this "
                                                                         "spend (per season)")] = None,
    review: Annotated[str | None, typer.Option(help="'arc' pauses after the arc for your review")] = None,
    max_revisions: Annotated[int, typer.Option("--max-revisions", help="revisions per episode before the best wins")] = 2,
    target: Annotated[str, typer.Option(help="video model for shot lists")] = "generic",
    move_checkpoints: Annotated[bool, typer.Option("--move-checkpoints", help="let a season's checkpoints move to "
                                                   "the server's")] = False,
) -> None:
    """Draft seasons on a server started with `cliffhanger serve`; resumes each where it stopped.

    Exit code: the worst of the seasons' (2 bad input or refused, 1 failure, 130 stopped, 0 done or submitted).
    """
    from cliffhanger.agents.errors import UserError
    from cliffhanger.agents.state import RunSettings
    from cliffhanger.app.submit import SubmitRequest
    from cliffhanger.app.submit import submit as run_submit

    if review not in (None, "arc"):
        raise UserError(f"--review {review!r} is not supported: use --review arc")
    run = RunSettings(until=until, concurrency=concurrency, budget_usd=budget_usd, review_arc=review == "arc",
                      max_revisions=max_revisions, target=target, move_checkpoints=move_checkpoints)
    raise typer.Exit(run_submit(SubmitRequest(tuple(directories), server.rstrip("/"), follow, run)))
