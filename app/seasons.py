"""The season commands behind the CLI: new, draft (and its dry run), status, demo.

Each turns user input into the agents' one code path (`run_season`) and prints the outcome; the
terminal UI calls the same functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.state import RunSettings

ROOM_ROLES = ("showrunner", "writer", "continuity", "critic", "shots")
EXIT_STOPPED = 130


def create_season(directory: Path, *, logline: str, genre: str, episodes: int, free: int, paywall: str | None,
                  runtime: int, language: str | None, title: str | None, mode: str,
                  genres_dirs: list[Path] | None = None) -> Any:
    from cliffhanger.agents.season.artifacts import SeasonSpec
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.genres.loader import load_catalog

    pack = load_catalog(genres_dirs or []).get(genre)
    points = None
    if paywall:
        try:
            points = [int(p) for p in paywall.replace(" ", "").split(",") if p]
        except ValueError:
            raise UserError(f"--paywall {paywall!r} is not a list of episode numbers: use e.g. 11,30,50") from None
    if language not in (None, "zh", "en"):
        raise UserError(f"--language {language!r}: use zh or en")
    if mode not in ("paywall", "ad"):
        raise UserError(f"--mode {mode!r}: use paywall or ad")
    try:
        spec = SeasonSpec.create(
            title=title or logline.strip()[:40], logline=logline, genre=pack.id, language=language or pack.language,
            episodes=episodes, runtime_s=runtime, free_episodes=free if mode == "paywall" else None,
            paywall_episodes=points, mode=mode)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, "season")) from None
    return SeasonStore.create(directory, spec)


@dataclass(frozen=True)
class DraftRequest:
    directory: Path
    run: RunSettings = field(default_factory=RunSettings)
    dry_run: bool = False
    config: Path | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    live: bool | None = None  # None: a live table on a terminal, log lines otherwise


def _models(settings: Any, usage: Any, stack: contextlib.ExitStack, *, sim: bool = False,
            announce: Any = None) -> dict[str, Any]:
    from cliffhanger.agents.llm.client import EndpointConfig
    from cliffhanger.agents.llm.local import local_available
    from cliffhanger.agents.llm.pool import ModelPool
    from cliffhanger.app.console import err_console

    if sim:
        endpoints = {r: EndpointConfig(provider="sim", base_url="", model="sim-drama") for r in ROOM_ROLES}
    else:
        endpoints = {r: settings.endpoint(r, local_installed=local_available()) for r in ROOM_ROLES}
    pool = stack.enter_context(ModelPool(endpoints, usage=usage, policy=settings.policy(),
                                         prices=settings.price_overrides(), cache_dir=settings.cache_dir,
                                         announce=announce or (lambda m: err_console().print(m, markup=False))))
    return {r: pool.client(r) for r in ROOM_ROLES}


def draft_season(req: DraftRequest) -> int:
    """Run or resume the season; returns the exit code."""
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.settings import load_settings

    store = SeasonStore.open(req.directory)
    settings = load_settings(req.config, req.flags)
    if req.dry_run:
        return _dry_run(store, settings, req)
    return _run(store, settings, req.run, req.live, sim=False)


def _run(store: Any, settings: Any, options: Any, live: bool | None, *, sim: bool) -> int:
    from cliffhanger.agents.llm.usage import UsageLog
    from cliffhanger.agents.run import run_season
    from cliffhanger.app.console import console, untrusted
    from cliffhanger.app.progress import Progress

    spec = store.spec()
    usage = UsageLog(store.usage_path)
    with contextlib.ExitStack() as stack:
        models = _models(settings, usage, stack, sim=sim)
        progress = stack.enter_context(Progress(spec.episodes, len(store.accepted_episodes()), usage, live=live))
        result = asyncio.run(run_season(store, models, options, emit=progress.event))
    where = store.root
    messages = {
        "done": (0, f"season complete: {len(result.accepted)} episodes in {where}; report: {where / 'report.md'}"),
        "until": (0, f"stopped after episode {options.until} as asked; run `cliffhanger draft {where}` to continue"),
        "arc_review": (0, f"the arc is ready for your review: {where / 'arc.json'} (edit it if you like), then run "
                          f"`cliffhanger draft {where}` to approve it and continue"),
        "interrupted": (EXIT_STOPPED, f"stopped at a step boundary; run `cliffhanger draft {where}` to resume"),
        "budget": (2, result.message),
        "failed": (1, f"the run failed; run `cliffhanger draft {where}` to resume"),
    }
    code, text = messages.get(result.stop, (0, f"stopped: {result.stop}"))
    if result.stop == "budget":
        raise UserError(text)  # one line on stderr, exit 2; the season is intact and resumable
    t = usage.totals()
    console().print(untrusted(f"{text} ({result.wall_s:.0f} s, {int(t['calls'])} calls, ${t['cost_usd']:.4f} this run)"),
                    soft_wrap=True)
    return code


def _dry_run(store: Any, settings: Any, req: DraftRequest) -> int:
    """Draft a copy of the season against the simulator and estimate what the real run would cost."""
    from cliffhanger.agents.llm.profiles import price_for
    from cliffhanger.agents.llm.usage import read_usage
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.console import console

    with tempfile.TemporaryDirectory(prefix="cliffhanger-dry-") as tmp:
        copy = Path(tmp) / "season"
        copy.mkdir()
        shutil.copy2(store.root / "season.toml", copy / "season.toml")
        dry = SeasonStore.open(copy)
        # The simulator costs nothing: no budget, and no arc review pause in the copy.
        _run(dry, settings, dataclasses.replace(req.run, budget_usd=None, review_arc=False), False, sim=True)
        rows = read_usage(dry.usage_path)
    by_role: dict[str, list[int]] = {}
    for r in rows:
        acc = by_role.setdefault(str(r["role"]), [0, 0, 0])
        acc[0] += 1
        acc[1] += int(r["tokens_in"])
        acc[2] += int(r["tokens_out"])
    total = 0.0
    unknown = []
    out = console()
    out.print("dry run against the simulator (the real season was not touched):")
    for role, (calls, tin, tout) in sorted(by_role.items()):
        try:
            ep = settings.endpoint(role)
            # No model configured: the run would use the server's one model (asked when it starts).
            price = price_for(ep.model, ep.provider, settings.price_overrides())
            name = ep.model or "(the server's one model)"
        except UserError:
            price, name = None, "(no model configured)"
        cost = price.cost(tin, tout) if price else None
        if cost is None:
            unknown.append(role)
        else:
            total += cost
        shown = f"${cost:.4f}" if cost is not None else "price unknown"
        out.print(f"  {role:11} {calls:5d} calls {tin:>10,} in {tout:>9,} out  {name}: {shown}", markup=False)
    ref = {m: sum(price_for(m, "openai").cost(v[1], v[2]) for v in by_role.values()) for m in ("deepseek-chat", "gpt-4o-mini")}
    out.print(f"estimated cost with your models: ${total:.4f}" + (f" (+ unknown for {', '.join(unknown)})" if unknown else ""),
              markup=False)
    out.print("at reference prices: " + ", ".join(f"{m} ${c:.4f}" for m, c in ref.items()), markup=False)
    return 0


def season_status(directory: Path, *, as_json: bool) -> None:
    from cliffhanger.agents.season.report import summarise
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.console import console, untrusted

    store = SeasonStore.open(directory)
    summary = summarise(store)
    running = store.lock_holder() or ""
    report = store.root / "report.md"
    stopped = next((ln.split(":", 1)[1].strip() for ln in report.read_text(encoding="utf-8", errors="replace").splitlines()
                    if ln.startswith("- Stopped:")), "") if report.exists() else "never run"
    state = f"running ({running})" if running else f"not running; last run: {stopped}"
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "state": state, "running": bool(running)}, ensure_ascii=False,
                              indent=2))
        return
    out = console()
    out.print(untrusted(f"{summary.title}: {summary.accepted}/{summary.episodes} episodes accepted, "
                        f"{summary.with_shots} shot lists; {state}"), soft_wrap=True)
    out.print(f"{summary.calls} model calls, {summary.tokens_in + summary.tokens_out:,} tokens, "
              f"${summary.cost_usd:.4f}" + (f" (+{summary.cost_unknown_calls} calls at unknown prices)"
                                             if summary.cost_unknown_calls else ""), markup=False)
    from rich.table import Table

    table = Table("ep", "status", "paywall", "cliffhanger", "revisions", "score", "open findings", "shots")
    for ln in summary.lines:
        if ln.status == "planned" and ln.episode > summary.accepted + 3:
            continue
        table.add_row(str(ln.episode), ln.status, "yes" if ln.paywall else "", untrusted(ln.cliffhanger),
                      str(ln.revisions), f"{ln.overall:.1f}" if ln.overall is not None else "", str(ln.open_findings),
                      str(ln.shots or ""))
    out.print(table)


def run_demo(directory: Path | None, config: Path | None, flags: dict[str, Any]) -> int:
    """A 3-episode season, the third behind the paywall, drafted with the default model."""
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.settings import load_settings

    settings = load_settings(config, flags)
    if directory is None:
        directory = Path("cliffhanger-demo")
        n = 2
        while (directory / "season.toml").exists():
            directory = Path(f"cliffhanger-demo-{n}")
            n += 1
    if (directory / "season.toml").exists():
        store = SeasonStore.open(directory)
    else:
        store = create_season(directory, logline="A maid humiliated at the engagement party is the heiress they "
                              "swapped at birth, and tonight she takes her name back.", genre="revenge_us",
                              episodes=3, free=2, paywall="3", runtime=30, language="en",
                              title="The Swapped Heiress", mode="paywall")
    typer.echo(f"demo season in {directory}")
    return _run(store, settings, RunSettings(max_revisions=0, concurrency=2), None, sim=False)
